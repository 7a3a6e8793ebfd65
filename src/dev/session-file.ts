// The dev sessions' files and the calls other terminals (`cortex get`, `logs`, `delete`,
// `predict`) make to a session's control endpoint (control.ts). One file per project folder,
// so sessions for different folders run side by side and a second one for the same folder
// finds the first. Light on purpose: `cortex get` loads this, not the server side.
import { createHash } from 'node:crypto';
import { lstat, readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { isRunningAsUs } from '../../runtime/process-alive.js';
import { cortexHomeFrom } from '../../runtime/settings.js';

export interface SessionFile {
  pid: number;
  control: string;
  token: string;
  gateway: string;
  /** The project folder's real path: the session's key. */
  dir: string;
}

/** A session that has claimed its folder but is still starting has only its pid and folder there. */
export type SessionRecord = SessionFile | { pid: number; dir: string; control?: undefined };

/** Where the session files are: a folder only this user can enter (claims.ts makes it so). */
export function sessionsDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(cortexHomeFrom(env), 'dev-sessions');
}

/** The file of the session for a project folder (its real path): the folder's name to read, a hash to be unique. */
export function sessionFilePath(realDir: string, env: NodeJS.ProcessEnv = process.env): string {
  const name = basename(realDir).replace(/[^\w.-]/g, '_').slice(0, 40);
  const hash = createHash('sha256').update(realDir).digest('hex').slice(0, 12);
  return join(sessionsDir(env), `${name}-${hash}.json`);
}

/**
 * The record in a file, if a live process of this user wrote it; undefined when there is none,
 * it cannot be read, or its process is gone. A file owned by someone else is never believed:
 * in a shared CORTEX_HOME it could send our requests (and predict's files) to their endpoint.
 */
export async function readRecord<T extends { pid: number }>(path: string): Promise<T | undefined> {
  try {
    const info = await lstat(path);
    const uid = process.getuid?.();
    if (!info.isFile() || (uid !== undefined && info.uid !== uid)) return undefined;
    const record = JSON.parse(await readFile(path, 'utf8')) as T;
    return isRunningAsUs(record.pid) ? record : undefined;
  } catch {
    return undefined;
  }
}

/** Every live session of this user, by folder. Files of sessions that are gone are skipped (the next claim of their folder removes them). */
export async function runningSessions(env: NodeJS.ProcessEnv = process.env): Promise<SessionRecord[]> {
  const dir = sessionsDir(env);
  const names = await readdir(dir).catch(() => [] as string[]);
  const records = await Promise.all(names.filter((n) => n.endsWith('.json')).map((n) => readRecord<SessionRecord>(join(dir, n))));
  return records.filter((r) => r !== undefined).sort((a, b) => a.dir.localeCompare(b.dir));
}

/** A call from another terminal to the running session. */
export async function callSession<T>(file: SessionFile, method: string, path: string): Promise<T> {
  const res = await fetch(`${file.control}${path}`, { method, headers: { authorization: `Bearer ${file.token}` } });
  const body = (await res.json()) as T & { error?: string };
  if (!res.ok) throw new Error(body.error ?? `HTTP ${res.status}`);
  return body;
}

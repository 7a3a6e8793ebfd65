// The dev session's file and the calls other terminals (`cortex get`, `logs`, `delete`,
// `predict`) make to its control endpoint (control.ts). Light on purpose: `cortex get` loads
// this, not the server side.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isRunningAsUs } from '../../runtime/process-alive.js';
import { cortexHomeFrom } from '../../runtime/settings.js';
import { UserError } from '../user-error.js';

export interface SessionFile {
  pid: number;
  control: string;
  token: string;
  gateway: string;
  dir: string;
}

export function sessionFilePath(env: NodeJS.ProcessEnv = process.env): string {
  return join(cortexHomeFrom(env), 'dev-session.json');
}

/** A session that has claimed the file but is still starting has only its pid there. */
type SessionRecord = SessionFile | { pid: number; control?: undefined };

/** The session file of a live session, or undefined (none, or its process is gone). */
export async function readSessionFile(path = sessionFilePath()): Promise<SessionRecord | undefined> {
  try {
    const file = JSON.parse(await readFile(path, 'utf8')) as SessionRecord;
    return isRunningAsUs(file.pid) ? file : undefined;
  } catch {
    return undefined;
  }
}

/** A call from another terminal to the running session. */
export async function callSession<T>(file: SessionFile, method: string, path: string): Promise<T> {
  const res = await fetch(`${file.control}${path}`, { method, headers: { authorization: `Bearer ${file.token}` } });
  const body = (await res.json()) as T & { error?: string };
  if (!res.ok) throw new Error(body.error ?? `HTTP ${res.status}`);
  return body;
}

/** The running session, or the one line that says there is none. */
export async function connectSession(): Promise<SessionFile> {
  const file = await readSessionFile();
  if (!file) throw new UserError('no cortex dev session is running; start one with `cortex dev DIR`');
  if (!file.control) throw new UserError(`the dev session (pid ${file.pid}) is still starting; try again in a moment`);
  return file;
}

// What a dev session claims before it starts anything, so that sessions side by side never
// fight: its project folder (one session each), the kind cluster (its apis share one
// namespace, so one session at a time), and its gateway port (not another session's).
// Claims are files in the user's private sessions folder, created exclusively; a claim whose
// process is gone is taken over, by one session at a time.
import { chmod, link, lstat, mkdir, realpath, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { UserError } from '../user-error.js';
import { readRecord, sessionFilePath, sessionsDir, type SessionRecord } from './session-file.js';

export interface Claim {
  path: string;
  release(): Promise<void>;
}

export interface SessionClaim extends Claim {
  /** The project folder's real path. */
  dir: string;
}

/** The sessions folder, made and kept this user's alone: it holds the control tokens. */
async function privateDir(path: string): Promise<void> {
  await mkdir(path, { recursive: true, mode: 0o700 });
  const info = await lstat(path);
  const uid = process.getuid?.();
  if (!info.isDirectory() || (uid !== undefined && info.uid !== uid)) throw new UserError(`${path} is not a folder of this user; remove it, or set CORTEX_HOME to a folder of yours`);
  if ((info.mode & 0o077) !== 0) await chmod(path, 0o700);
}

/**
 * Writes `record` to `path` whole: readers see the old file or the new one, never half of one.
 * `place` moves the finished file into place: link refuses an existing path (a claim), rename
 * replaces it (an update).
 */
async function writeWhole(path: string, record: object, place: (from: string, to: string) => Promise<void>): Promise<void> {
  const staged = `${path}.${process.pid}.tmp`;
  await writeFile(staged, JSON.stringify(record, null, 2), { mode: 0o600 });
  try {
    await place(staged, path);
  } finally {
    await rm(staged, { force: true });
  }
}

/** Links the finished record into place; false when a file is there already. */
async function place(path: string, record: object): Promise<boolean> {
  try {
    await writeWhole(path, record, link);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

/** Creates the claim file, or returns the record of the live process that holds it. */
async function claimFile<T extends { pid: number }>(path: string, record: T): Promise<T | undefined> {
  await privateDir(dirname(path));
  const takeover = `${path}.takeover`;
  for (;;) {
    if (await place(path, record)) return undefined;
    const holder = await readRecord<T>(path);
    if (holder) return holder;
    // Its process is gone. Only the session holding `takeover` removes it: two removing it at
    // once would both win, the slower removing the claim the faster had just made. Under it the
    // stale file cannot change (a claim is only made where there is none), so it is safe to remove.
    if (!(await place(takeover, { pid: process.pid }))) {
      // Another session is taking over, its claim a moment away; unless it died doing so.
      if (!(await readRecord(takeover))) await rm(takeover, { force: true });
      await new Promise((r) => setTimeout(r, 10));
      continue;
    }
    try {
      if (!(await readRecord<T>(path))) await rm(path, { force: true });
      if (await place(path, record)) return undefined;
    } finally {
      await rm(takeover, { force: true });
    }
  }
}

/** Replaces the record of a claim this process holds. */
export function updateClaim(path: string, record: { pid: number }): Promise<void> {
  return writeWhole(path, record, rename);
}

function claimed(path: string): Claim {
  return {
    path,
    release: async () => {
      if ((await readRecord(path))?.pid === process.pid) await rm(path, { force: true });
    },
  };
}

function whereRuns(session: SessionRecord): string {
  return session.control ? session.gateway : 'starting';
}

/** Makes this process the dev session for the project folder `dir`; a second session for one folder is refused, naming the first. */
export async function claimSession(dir: string): Promise<SessionClaim> {
  const real = await realpath(dir);
  const path = sessionFilePath(real);
  const holder = await claimFile<SessionRecord>(path, { pid: process.pid, dir: real });
  if (holder) throw new UserError(`a dev session for ${real} is already running (pid ${holder.pid}, ${whereRuns(holder)}); stop it first, or use that one (cortex get)`);
  return { ...claimed(path), dir: real };
}

/** The one line for a kind cluster another session holds. */
function kindClusterHeld(cluster: string, holder: { pid: number; dir: string }): string {
  return `the kind cluster "${cluster}" is in use by the dev session for ${holder.dir} (pid ${holder.pid}), and its apis share one namespace; stop that session first, or run this one with --backend process or --backend docker`;
}

/** Makes this session the one that runs apis in the kind cluster `cluster`. */
export async function claimKindCluster(cluster: string, dir: string): Promise<Claim> {
  const path = join(sessionsDir(), `kind-${cluster}.claim`);
  const holder = await claimFile(path, { pid: process.pid, dir });
  if (holder) throw new UserError(kindClusterHeld(cluster, holder));
  return claimed(path);
}

const portOf = (url: string): number => {
  const { port, protocol } = new URL(url);
  return port ? Number(port) : protocol === 'https:' ? 443 : 80;
};

/** Refuses a gateway port that another running session's gateway already has, naming that session. */
export function refuseGatewayPortOfSession(port: number, sessions: readonly SessionRecord[]): void {
  const holder = sessions.find((s) => s.control && s.pid !== process.pid && portOf(s.gateway) === port);
  if (holder) throw new UserError(`port ${port} is the gateway of the dev session for ${holder.dir} (pid ${holder.pid}); pick another with --port`);
}

// Which dev session `get`, `logs`, `predict` and `delete` talk to when several run, the way
// Tilt and Skaffold users expect: the only one; else --session (a folder, or a folder's name);
// else the one whose project folder holds the working directory; else an error that lists them.
import { realpath } from 'node:fs/promises';
import { basename, sep } from 'node:path';
import { runningSessions, type SessionFile, type SessionRecord } from '../dev/session-file.js';
import { shownPath } from '../spec/errors.js';
import { UserError } from '../user-error.js';
import { table } from './get-view.js';

export interface SessionPick {
  /** The real path of the working directory. */
  cwd: string;
  /** --session as typed, and its real path when it names a folder that exists. */
  session?: { given: string; path?: string };
}

const noSession = 'no cortex dev session is running; start one with `cortex dev DIR`';
const howToPick = 'pick one with --session FOLDER (or its name), or run the command from inside its folder';

const holds = (dir: string, path: string): boolean => path === dir || path.startsWith(dir.endsWith(sep) ? dir : dir + sep);

/** The running sessions, one a line: name, folder (whole: the listing is read from anywhere), gateway, pid. */
export function sessionList(sessions: readonly SessionRecord[]): string {
  const rows = sessions.map((s) => [basename(s.dir), s.dir, s.control ? s.gateway : 'starting', `pid ${s.pid}`]);
  return table(rows).replace(/^/gm, '  ');
}

const listed = (first: string, sessions: readonly SessionRecord[]): UserError => new UserError(`${first}:\n${sessionList(sessions)}`);

export function chooseSession<T extends SessionRecord>(sessions: readonly T[], pick: SessionPick): T {
  if (sessions.length === 0) throw new UserError(noSession);
  const wanted = pick.session;
  if (wanted) {
    const byFolder = sessions.find((s) => s.dir === wanted.path);
    if (byFolder) return byFolder;
    const named = sessions.filter((s) => basename(s.dir) === wanted.given);
    if (named.length === 1) return named[0]!;
    if (named.length > 1) throw listed(`${named.length} dev sessions are for folders named "${wanted.given}"; pick one with --session FOLDER`, named);
    throw listed(`no dev session for "${wanted.given}"; the running ones`, sessions);
  }
  if (sessions.length === 1) return sessions[0]!;
  // The innermost: a project folder may hold another project.
  const here = sessions.filter((s) => holds(s.dir, pick.cwd)).sort((a, b) => b.dir.length - a.dir.length)[0];
  if (here) return here;
  throw listed(`${sessions.length} dev sessions are running and none is for this folder; ${howToPick}`, sessions);
}

/** The session chosen (chooseSession), once it has finished starting. */
export async function connectSession(session?: string): Promise<SessionFile> {
  const pick: SessionPick = { cwd: await realpath(process.cwd()) };
  if (session !== undefined) pick.session = { given: session, ...(await realpath(session).then((path) => ({ path }), () => ({}))) };
  const chosen = chooseSession(await runningSessions(), pick);
  if (!chosen.control) throw new UserError(`the dev session for ${shownPath(chosen.dir)} (pid ${chosen.pid}) is still starting; try again in a moment`);
  return chosen;
}

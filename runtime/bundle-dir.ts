// Where a process writes predictor bundles so that `import()` can load them: one folder per
// process, one subfolder per replica. The process's folder is made by mkdtemp: a new name no one
// could have guessed, created by this call (mkdir fails on anything that already exists) with
// mode 0700, so it is ours and no other local user can put code in it. Each bundle file is
// removed once imported, the folders when their replica closes, and folders of processes
// killed before they could do that by the next process of the same user that starts.
import { mkdir, mkdtemp, readdir, rm, rmdir, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isRunning } from './process-alive.js';

const prefix = 'cortex-bundles-';

let root: Promise<string> | undefined;
let replicas = 0;

function processRoot(): Promise<string> {
  root ??= mkdtemp(join(tmpdir(), `${prefix}${process.pid}-`));
  return root;
}

/** A folder of its own for each replica, so that one closing cannot remove another's files. */
export async function replicaBundleDir(api: { deployment: string; name: string }): Promise<string> {
  const dir = join(await processRoot(), `${api.deployment}-${api.name}-${++replicas}`);
  await mkdir(dir, { mode: 0o700 });
  return dir;
}

/** Removes a replica's folder, and the process's own once no other replica's is left in it. */
export async function removeBundleDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  if (!root) return;
  const own = await root;
  if (await rmdir(own).then(() => true, () => false)) root = undefined; // else another replica's folder is still there
}

/** Removes this user's bundle folders of processes that no longer run (killed, or crashed). */
export async function removeOrphanedBundleDirs(): Promise<void> {
  const names = await readdir(tmpdir()).catch(() => []);
  const uid = process.getuid?.();
  await Promise.all(
    names.map(async (name) => {
      const match = name.startsWith(prefix) ? /^(\d+)-/.exec(name.slice(prefix.length)) : null;
      const pid = match ? Number(match[1]) : NaN;
      if (!Number.isInteger(pid) || pid === process.pid || isRunning(pid)) return;
      const path = join(tmpdir(), name);
      const info = await stat(path).catch(() => undefined);
      if (info?.isDirectory() && (uid === undefined || info.uid === uid)) await rm(path, { recursive: true, force: true }).catch(() => undefined);
    }),
  );
}

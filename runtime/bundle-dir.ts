// Where a process writes predictor bundles so that `import()` can load them: one folder per
// process, one subfolder per replica. Each bundle file is removed once imported, the folders
// when their replica closes, and folders of processes killed before they could do that by the
// next process that starts.
import { readdir, rm, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const prefix = 'cortex-bundles-';
export const bundlesRoot = join(tmpdir(), `${prefix}${process.pid}`);

let replicas = 0;

/** A folder of its own for each replica, so that one closing cannot remove another's files. */
export function replicaBundleDir(api: { deployment: string; name: string }): string {
  return join(bundlesRoot, `${api.deployment}-${api.name}-${++replicas}`);
}

/** Removes a replica's folder, and the process's own once no other replica's is left in it. */
export async function removeBundleDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  await rmdir(bundlesRoot).catch(() => undefined); // another replica's folder is still there
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it runs, as another user.
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/** Removes the bundle folders of processes that no longer run (killed, or crashed). */
export async function removeOrphanedBundleDirs(): Promise<void> {
  const names = await readdir(tmpdir()).catch(() => []);
  await Promise.all(
    names.map(async (name) => {
      const pid = name.startsWith(prefix) ? Number(name.slice(prefix.length)) : NaN;
      if (Number.isInteger(pid) && pid !== process.pid && !isRunning(pid)) await rm(join(tmpdir(), name), { recursive: true, force: true }).catch(() => undefined);
    }),
  );
}

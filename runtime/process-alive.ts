// Two questions about a pid, told apart by EPERM (the process exists, but another user's):
// is some process there (isRunning), and is it one of ours (isRunningAsUs).

/**
 * Whether a process with this pid runs, as this user or another (EPERM: it runs, not as us).
 * For a pid recorded by someone else (a container's label): err towards alive, so a live
 * session's containers are never taken for orphans.
 */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/**
 * Whether a process with this pid runs as this user. For a pid this user wrote down itself (the
 * dev session file, mode 0600 in their home): EPERM means the pid now belongs to another user's
 * process, so the recorded one is gone and its file may be taken over.
 */
export function isRunningAsUs(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

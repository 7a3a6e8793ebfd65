// Watching the project: the spec's folder, and files outside it that a predictor imports
// (../shared.ts), one by one. Reports paths; what a change means is the session's business.
import { dirname, extname, isAbsolute, relative, sep } from 'node:path';
import { watch, type FSWatcher } from 'chokidar';

export const debounceMs = 15;
// chokidar reports the first change to a file, then drops further changes to it for 50 ms and
// never reports them later: a second write in that window (an editor that truncates and then
// writes, a formatter on save) would go unseen. So every save gets a second look after it.
export const settleMs = 75;
const sourceExtensions = new Set(['.ts', '.tsx', '.mts', '.cts', '.js', '.mjs', '.cjs', '.jsx', '.json']);

/** Whether `path` is `dir` or anything below it. */
export function isWithin(dir: string, path: string): boolean {
  const rel = relative(dir, path);
  return rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}

/** A source file beside the predictor that it does not import yet, but may be about to. */
export function isNearbySource(predictorPath: string, path: string): boolean {
  return sourceExtensions.has(extname(path)) && isWithin(dirname(predictorPath), path);
}

export class ProjectWatcher {
  private watcher: FSWatcher | undefined;
  /** Files outside the spec's folder that a predictor imports: watched one by one. */
  private readonly outside = new Set<string>();

  constructor(private readonly dir: string) {}

  /** Resolves once the initial scan is done: changes from then on reach `onChange`. */
  async start(onChange: (path: string) => void): Promise<void> {
    const watcher = watch(this.dir, {
      ignoreInitial: true,
      ignored: (path) => /(^|[/\\])(node_modules|\.git|\.cortex|dist)([/\\]|$)/.test(path),
    });
    this.watcher = watcher;
    watcher.on('all', (_event, path) => onChange(path));
    await new Promise<void>((resolve) => watcher.once('ready', () => resolve()));
  }

  /** A predictor may import files beside its folder (../shared.ts): those are watched too. */
  watchOutside(inputs: Iterable<string>): void {
    if (!this.watcher) return;
    for (const path of inputs) {
      if (isWithin(this.dir, path) || path.includes(`${sep}node_modules${sep}`) || this.outside.has(path)) continue;
      this.outside.add(path);
      this.watcher.add(path);
    }
  }

  async close(): Promise<void> {
    await this.watcher?.close();
  }
}

// predictor.ts (and whatever it imports) → one self-contained ESM bundle, in milliseconds,
// with an inline source map whose paths are absolute, so a stack trace from any replica
// (process, container or pod) points at the user's own file and line.
import { dirname, join, resolve } from 'node:path';
import * as esbuild from 'esbuild';
import { shownPath } from '../spec/index.js';

export interface BuiltBundle {
  code: string;
  /** Absolute paths of the files the bundle was built from (for the watcher). */
  inputs: string[];
  ms: number;
}

/** A compile error in the user's code, located as file:line:column. */
export class BuildError extends Error {
  constructor(
    message: string,
    readonly location?: string,
  ) {
    super(location ? `${location}: ${message}` : message);
    this.name = 'BuildError';
  }
}

// Bundled CommonJS dependencies may call require(); ESM has none unless we make one.
const banner = "import { createRequire as __cortexRequire } from 'node:module'; const require = __cortexRequire(import.meta.url);";

export class Bundler {
  private context: Promise<esbuild.BuildContext<{ write: false; metafile: true }>>;
  private readonly outfile: string;

  constructor(readonly entry: string) {
    this.outfile = join(dirname(resolve(entry)), '.cortex-bundle.mjs');
    this.context = esbuild.context({
      entryPoints: [resolve(entry)],
      outfile: this.outfile,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      sourcemap: 'external',
      write: false,
      metafile: true,
      logLevel: 'silent',
      banner: { js: banner },
    });
  }

  async build(): Promise<BuiltBundle> {
    const started = performance.now();
    let result: esbuild.BuildResult<{ write: false; metafile: true }>;
    try {
      result = await (await this.context).rebuild();
    } catch (err) {
      throw toBuildError(err);
    }
    const js = result.outputFiles.find((f) => f.path.endsWith('.mjs'));
    const map = result.outputFiles.find((f) => f.path.endsWith('.map'));
    if (!js || !map) throw new BuildError('esbuild produced no output');
    const base = dirname(this.outfile);
    const sourceMap = JSON.parse(map.text) as { sources: string[] };
    sourceMap.sources = sourceMap.sources.map((s) => resolve(base, s));
    const code = js.text.replace(/\/\/# sourceMappingURL=.*\s*$/, '') + `//# sourceMappingURL=data:application/json;base64,${Buffer.from(JSON.stringify(sourceMap)).toString('base64')}\n`;
    const cwd = process.cwd();
    const inputs = Object.keys(result.metafile.inputs).map((p) => resolve(cwd, p));
    return { code, inputs, ms: Math.round(performance.now() - started) };
  }

  async dispose(): Promise<void> {
    await (await this.context).dispose();
  }
}

/** One build, for commands that do not watch. */
export async function bundleOnce(entry: string): Promise<BuiltBundle> {
  const bundler = new Bundler(entry);
  try {
    return await bundler.build();
  } finally {
    await bundler.dispose();
  }
}

/**
 * A file:line location named the way spec errors name files. esbuild gives paths relative to
 * the working directory, stack frames absolute ones; both come out the same way.
 */
export function displayLocation(location: string): string {
  return shownPath(resolve(location));
}

function toBuildError(err: unknown): BuildError {
  const first = (err as esbuild.BuildFailure).errors?.[0];
  if (!first) return new BuildError((err as Error).message);
  const loc = first.location;
  return new BuildError(first.text, loc ? displayLocation(`${loc.file}:${loc.line}:${loc.column + 1}`) : undefined);
}

// Where in the user's own code an error happened: the first stack frame that is neither the
// runtime, node itself, a dependency, nor the runtime's private copy of the bundle (with source
// maps on, bundle lines map back to the predictor's files).
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

// The runtime's own frames, compiled and (through its source maps) as sources, are never the
// user's: dist/runtime/*.js here, runtime/*.ts two levels up.
const compiledDir = dirname(fileURLToPath(import.meta.url));
const runtimeDirs = [compiledDir, resolve(compiledDir, '../../runtime')].map((d) => d + '/');

export function userFrame(stack: string | undefined, bundleDir: string): string | undefined {
  for (const line of (stack ?? '').split('\n').slice(1)) {
    const m = /\(?((?:file:\/\/)?[^\s()]+?):(\d+):(\d+)\)?\s*$/.exec(line.trim());
    if (!m) continue;
    const file = m[1]!.replace(/^file:\/\//, '');
    if (file.startsWith('node:') || file.includes('/node_modules/') || file.startsWith(bundleDir)) continue;
    if (runtimeDirs.some((dir) => file.startsWith(dir))) continue;
    return `${file}:${m[2]}:${m[3]}`;
  }
  return undefined;
}

// Which compiled modules an entry point needs: its relative imports, followed transitively.
// The image ships dist/runtime whole and, for the cluster's entry points (dist/src/cluster),
// exactly what they import, so nothing of the CLI (ink, esbuild, the dev loop) goes along.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

// Static imports and re-exports, bare `import '…'`, dynamic import() and worker URLs of literal
// relative paths: what tsc leaves of the sources' imports (type-only ones are gone).
const specifiers = /(?:\bfrom\s*|\bimport\s*\(?\s*|new URL\(\s*)['"](\.{1,2}\/[^'"]+)['"]/g;

export function importClosure(entries: readonly string[]): string[] {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file) || !existsSync(file)) return;
    seen.add(file);
    for (const m of readFileSync(file, 'utf8').matchAll(specifiers)) visit(resolve(dirname(file), m[1]!));
  };
  for (const entry of entries) visit(resolve(entry));
  return [...seen].sort();
}

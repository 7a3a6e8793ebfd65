// The layout's import rules, checked on the compiled code (what Node really loads; type-only
// imports are gone by then): the scaling core runs inside a cluster from the runtime image, so it
// must not pull in the dev loop, the CLI, the TUI or the native and build-time packages; the
// runtime is the image itself, so it imports nothing from src/.
import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const dist = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const builtins = new Set(builtinModules);

const staticImports = [/^\s*(?:import|export)\s[^;]*?from\s*['"]([^'"]+)['"]/gm, /^\s*import\s*['"]([^'"]+)['"]/gm];
const dynamicImports = /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

/** Every module specifier a compiled file loads: static imports, re-exports and (unless `eager`) import(). */
function specifiers(file: string, eager = false): string[] {
  const code = readFileSync(file, 'utf8');
  const found = new Set<string>();
  for (const pattern of eager ? staticImports : [...staticImports, dynamicImports]) {
    for (const m of code.matchAll(pattern)) found.add(m[1]!);
  }
  return [...found];
}

const packageOf = (spec: string): string => (spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);

/** The files reachable from `roots`, and every package they load (with the file that loads it); `eager`: only what loads with them. */
function graph(roots: string[], eager = false): { files: Set<string>; packages: Map<string, string> } {
  const files = new Set<string>();
  const packages = new Map<string, string>();
  const queue = [...roots];
  while (queue.length) {
    const file = queue.pop()!;
    if (files.has(file)) continue;
    files.add(file);
    for (const spec of specifiers(file, eager)) {
      if (spec.startsWith('.')) queue.push(resolve(dirname(file), spec));
      else if (!spec.startsWith('node:') && !builtins.has(spec)) packages.set(packageOf(spec), relative(dist, file));
    }
  }
  return { files, packages };
}

function jsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.js'))
    .map((e) => join(e.parentPath, e.name));
}

const forbiddenPackages = ['esbuild', 'chokidar', 'ink', 'react', 'sharp', 'dockerode', 'ink-testing-library'];
const forbiddenFolders = ['src/dev', 'src/cli', 'src/tui', 'src/image', 'src/backends'];

test('the scaling core loads nothing of the dev loop, the CLI, the TUI, esbuild, chokidar, ink or sharp', (t) => {
  const roots = jsFiles(join(dist, 'src/scaling'));
  t.true(roots.length > 0);
  const { files, packages } = graph(roots);
  const folders = [...files].map((f) => relative(dist, f)).filter((f) => forbiddenFolders.some((d) => f.startsWith(`${d}/`)));
  t.deepEqual(folders, [], 'src/scaling reaches these files');
  const bad = forbiddenPackages.filter((p) => packages.has(p)).map((p) => `${p} (from ${packages.get(p)})`);
  t.deepEqual(bad, [], 'src/scaling loads these packages');
});

test('the cluster entry points (gateway, autoscaler) load nothing of the dev loop, the CLI, the TUI, esbuild, chokidar, ink or sharp', (t) => {
  // They run in the runtime image, which ships only their import closure (src/image/closure.ts).
  const roots = jsFiles(join(dist, 'src/cluster'));
  t.true(roots.length >= 2);
  const { files, packages } = graph(roots);
  t.deepEqual([...files].map((f) => relative(dist, f)).filter((f) => forbiddenFolders.some((d) => f.startsWith(`${d}/`))), [], 'src/cluster reaches these files');
  t.deepEqual(forbiddenPackages.filter((p) => packages.has(p)).map((p) => `${p} (from ${packages.get(p)})`), [], 'src/cluster loads these packages');
});

test('the runtime imports nothing from src/', (t) => {
  const roots = jsFiles(join(dist, 'runtime'));
  t.true(roots.length > 0);
  const { files } = graph(roots);
  t.deepEqual([...files].map((f) => relative(dist, f)).filter((f) => !f.startsWith('runtime/')), []);
});

test('the import walk sees what it is meant to catch', (t) => {
  // The dev session loads chokidar and esbuild; were the walk blind, the rules above would pass on anything.
  const { packages } = graph([join(dist, 'src/dev/session.js')]);
  t.true(packages.has('chokidar'));
  t.true(packages.has('esbuild'));
});

test('cortex dev loads the Kubernetes client, Docker and Ink only when their backend or the live view is chosen', (t) => {
  // Every module a process lives with is heap its gateway's major GCs mark: the Kubernetes client
  // alone is 27 MB. Each is still reachable, through import().
  const dev = join(dist, 'src/cli/commands/dev.js');
  const { packages: eager } = graph([dev], true);
  t.deepEqual(['@kubernetes/client-node', 'ink', 'react'].filter((p) => eager.has(p)).map((p) => `${p} (from ${eager.get(p)})`), []);
  const { packages: all } = graph([dev]);
  for (const p of ['@kubernetes/client-node', 'ink', 'dockerode']) t.true(all.has(p), p);
});

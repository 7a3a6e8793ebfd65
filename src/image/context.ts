// What goes into the runtime image: the compiled runtime and its installed dependencies, laid
// out under /app exactly as they are on this machine, so that Node resolves every import in the
// container the way it does here. Nothing else: no sources, no tests, no dev dependencies.
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { UserError } from '../user-error.js';
import { importClosure } from './closure.js';
import { clusterDependencies, dependencyClosure, installedPackage, runtimeDependencies, type InstalledPackage } from './dependencies.js';

import { containerPort } from '../../runtime/settings.js';

export { containerPort };

/** Who the runtime runs as by default: "node" in both the registry's and the offline base. */
export const imageUser = '1000:1000';

/** A Node platform and architecture, e.g. "linux-x64": the native binaries to keep. */
export type Target = `${string}-${string}`;

export const hostTarget: Target = `${process.platform}-${process.arch}`;

export interface ContextFile {
  /** Relative to the context root, which is /app in the image. */
  path: string;
  /** Absolute path on this machine. */
  source: string;
  size: number;
}

export interface GeneratedFile {
  path: string;
  content: string;
}

export interface RuntimeContext {
  /** The directory of this machine mirrored at /app. */
  root: string;
  files: ContextFile[];
  /** Written for the image rather than copied: the runtime's own package.json. */
  generated: GeneratedFile[];
  /** The runtime's package directory in the image (the working directory). */
  workdir: string;
  entry: string;
  /** Native modules and shared libraries the image must be able to load, as paths on this machine. */
  nativeFiles: string[];
}

/** Whether a file of an installed package is needed at run time on `target`. */
export function shipsInImage(pathInPackage: string, target: Target): boolean {
  // Type declarations and source maps are never loaded by the runtime.
  if (/\.d\.[cm]?ts$|\.map$/.test(pathInPackage)) return false;
  // N-API prebuilds for every platform (onnxruntime-node ships ~250 MB of them): keep the target's.
  const prebuild = /(?:^|\/)bin\/napi-v\d+\/([^/]+)\/([^/]+)\//.exec(pathInPackage);
  return !prebuild || `${prebuild[1]}-${prebuild[2]}` === target;
}

/** A native module or shared library, which an offline base must provide the libraries of. */
export function isNativeFile(path: string): boolean {
  return /\.node$|\.so(\.\d+)*$/.test(path);
}

/**
 * The directory to mirror at /app: the deepest one above every given directory that is not
 * inside a node_modules folder, so hoisted packages keep their place relative to the runtime.
 */
export function layoutRoot(dirs: readonly string[]): string {
  const split = dirs.map((d) => d.split(sep));
  const common: string[] = [];
  for (let i = 0; split.every((parts) => parts[i] !== undefined && parts[i] === split[0]![i]); i++) common.push(split[0]![i]!);
  const inside = common.indexOf('node_modules');
  return (inside === -1 ? common : common.slice(0, inside)).join(sep) || sep;
}

/** The runtime's package.json in the image: ESM, and the dependency versions it was built with. */
export function runtimePackageJson(packages: readonly InstalledPackage[]): string {
  const dependencies: Record<string, string> = {};
  for (const name of [...runtimeDependencies, ...clusterDependencies]) {
    const pkg = packages.find((p) => p.name === name);
    if (pkg) dependencies[name] = pkg.version;
  }
  return JSON.stringify({ name: 'cortex-runtime', private: true, type: 'module', dependencies }, null, 2) + '\n';
}

/** Everything in the Dockerfile after FROM: it is part of the context's digest. */
export function dockerfileBody(context: Pick<RuntimeContext, 'files' | 'generated' | 'workdir' | 'entry'>): string {
  const tops = new Set([...context.files, ...context.generated].map((f) => f.path.split('/')[0]!));
  // The dependencies change least often: their layer first, so a runtime change reuses it.
  const order = [...tops].sort((a, b) => Number(b === 'node_modules') - Number(a === 'node_modules') || a.localeCompare(b));
  return [
    'ENV NODE_ENV=production',
    ...order.map((top) => `COPY ${top} /app/${top}`),
    `WORKDIR ${context.workdir}`,
    '# Fails the build with Node\'s own error when the base cannot load the native modules.',
    `RUN ["node", "-e", "require('onnxruntime-node'); require('sharp')"]`,
    '# Not root, and by number: Kubernetes can check runAsNonRoot only against a numeric user.',
    `USER ${imageUser}`,
    '# A home any user can write (cortex dev runs containers as the host user): onnxruntime keeps an ID there.',
    'ENV HOME=/tmp',
    `EXPOSE ${containerPort}`,
    `ENTRYPOINT ["node", "${context.entry}"]`,
    '',
  ].join('\n');
}

/** The whole Dockerfile; labels come last (one step), as they describe rather than shape the image. */
export function dockerfile(base: string, context: Parameters<typeof dockerfileBody>[0], labels: Record<string, string> = {}): string {
  const label = Object.entries(labels).map(([key, value]) => `${key}=${JSON.stringify(value)}`);
  return `FROM ${base}\n${dockerfileBody(context)}${label.length ? `LABEL ${label.join(' ')}\n` : ''}`;
}

/**
 * The files of the runtime image for `packageRoot` (a built cortex checkout or install).
 * Synchronous: a few thousand stats, several times faster without a thread-pool round trip each.
 */
export function runtimeContext(packageRoot: string, target: Target = hostTarget): RuntimeContext {
  const runtimeDir = join(packageRoot, 'dist', 'runtime');
  if (!existsSync(join(runtimeDir, 'main.js'))) throw new UserError(`${join(runtimeDir, 'main.js')} is missing: run npm run build`);
  const packages = dependencyClosure(packageRoot, [...runtimeDependencies, ...clusterDependencies], installedPackage);
  const root = layoutRoot([packageRoot, ...packages.map((p) => p.dir)]);
  const toPosix = (path: string) => relative(root, path).split(sep).join('/');

  const files: ContextFile[] = [];
  for (const file of filesUnder(runtimeDir)) if (file.source.endsWith('.js')) files.push({ ...file, path: toPosix(file.source) });
  // The cluster's entry points and what they import from the rest of dist (dist/runtime is there already).
  const clusterDir = join(packageRoot, 'dist', 'src', 'cluster');
  const entries = existsSync(clusterDir) ? readdirSync(clusterDir).filter((f) => f.endsWith('.js')).map((f) => join(clusterDir, f)) : [];
  for (const source of importClosure(entries)) if (!source.startsWith(runtimeDir + sep)) files.push({ source, size: statSync(source).size, path: toPosix(source) });
  for (const pkg of packages) {
    for (const file of filesUnder(pkg.dir)) {
      if (shipsInImage(relative(pkg.dir, file.source).split(sep).join('/'), target)) files.push({ ...file, path: toPosix(file.source) });
    }
  }
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));

  const workdir = ['/app', toPosix(packageRoot)].filter(Boolean).join('/');
  return {
    root,
    files,
    generated: [{ path: [toPosix(packageRoot), 'package.json'].filter(Boolean).join('/'), content: runtimePackageJson(packages) }],
    workdir,
    entry: `${workdir}/dist/runtime/main.js`,
    nativeFiles: files.filter((f) => isNativeFile(f.path)).map((f) => f.source),
  };
}

/**
 * Content digest of the context: the image tag derives from it, so equal content is never
 * rebuilt. Synchronous reads into one reused buffer: a fresh buffer per file costs more in page
 * faults than the hashing itself (77 MB hash in ~0.1 s this way, ~0.7 s with readFile).
 */
export function contextDigest(context: RuntimeContext): string {
  const hash = createHash('sha256');
  const buffer = Buffer.allocUnsafe(1 << 20);
  for (const file of context.files) {
    hash.update(`${file.path}\0${file.size}\0`);
    const fd = openSync(file.source, 'r');
    try {
      for (let n; (n = readSync(fd, buffer, 0, buffer.length, null)) > 0; ) hash.update(buffer.subarray(0, n));
    } finally {
      closeSync(fd);
    }
  }
  for (const file of context.generated) hash.update(`${file.path}\0${file.content}\0`);
  hash.update(dockerfileBody(context));
  return hash.digest('hex');
}

/** Regular files below `dir` (following links), leaving out a package's nested node_modules. */
function filesUnder(dir: string): Array<Omit<ContextFile, 'path'>> {
  const out: Array<Omit<ContextFile, 'path'>> = [];
  const walk = (current: string) => {
    for (const entry of readdirSync(current)) {
      // Packages nested there belong to the closure in their own right, or are not needed.
      if (current === dir && entry === 'node_modules') continue;
      const source = join(current, entry);
      const info = statSync(source);
      if (info.isDirectory()) walk(source);
      else if (info.isFile()) out.push({ source, size: info.size });
    }
  };
  walk(dir);
  return out;
}

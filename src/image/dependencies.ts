// The runtime's npm dependencies as installed on this machine. The image copies these packages,
// native parts included, instead of running npm inside the build: a build may have no network.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { UserError } from '../user-error.js';

/** The packages dist/runtime imports; the rest of package.json serves the CLI. */
export const runtimeDependencies = ['fastify', 'fastify-plugin', 'prom-client', 'onnxruntime-node', 'sharp'] as const;

/** The packages the cluster's own components (dist/src/cluster: gateway, autoscaler) import besides. */
export const clusterDependencies = ['@kubernetes/client-node'] as const;

export interface Manifest {
  name?: string;
  version?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

export interface InstalledPackage {
  name: string;
  version: string;
  /** Absolute directory of the package. */
  dir: string;
}

/** Node's lookup of `name` from a package in `fromDir`; undefined when it is not installed. */
export type PackageLookup = (fromDir: string, name: string) => { dir: string; manifest: Manifest } | undefined;

/**
 * Every package reachable from `roots` through dependencies, optional dependencies and peers,
 * each resolved the way Node resolves it from its dependent. Optional dependencies and peers
 * that are not installed are skipped (sharp lists one optional package per platform).
 */
export function dependencyClosure(rootDir: string, roots: readonly string[], lookup: PackageLookup): InstalledPackage[] {
  const found = new Map<string, InstalledPackage>();
  const visit = (fromDir: string, name: string, required: boolean) => {
    const hit = lookup(fromDir, name);
    if (!hit) {
      if (required) throw new UserError(`${name} is not installed (the runtime image needs it, from ${fromDir}): run npm ci`);
      return;
    }
    if (found.has(hit.dir)) return;
    found.set(hit.dir, { name, version: hit.manifest.version ?? '0.0.0', dir: hit.dir });
    const { dependencies = {}, optionalDependencies = {}, peerDependencies = {} } = hit.manifest;
    for (const dep of Object.keys(dependencies)) visit(hit.dir, dep, !(dep in optionalDependencies));
    for (const dep of Object.keys({ ...optionalDependencies, ...peerDependencies })) visit(hit.dir, dep, false);
  };
  for (const root of roots) visit(rootDir, root, true);
  return [...found.values()];
}

/** Node's resolution over the real file system: node_modules/<name> in each directory up. */
export const installedPackage: PackageLookup = (fromDir, name) => {
  for (let dir = fromDir; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    const manifestPath = join(candidate, 'package.json');
    if (existsSync(manifestPath)) return { dir: candidate, manifest: JSON.parse(readFileSync(manifestPath, 'utf8')) as Manifest };
    if (dirname(dir) === dir) return undefined;
  }
};

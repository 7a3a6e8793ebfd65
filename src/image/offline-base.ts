// A base image made from this machine's own files, for when no registry can be reached: the
// `node` binary that runs cortex, the shared libraries it and the runtime's native modules
// load (as ldd finds them, plus the name service modules an older glibc loads by itself), CA
// certificates, and the few files a process expects in /etc.
// Packed with the tar CLI and loaded with `docker import`; tagged by a fingerprint of its inputs.
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type Docker from 'dockerode';
import { execa } from 'execa';
import { UserError } from '../user-error.js';
import { hostPlatform } from './platform.js';
import { countBytes, type ImageEvent } from './progress.js';

export const offlineBaseRepository = 'cortex-base';

/** One file of the base's root file system: copied from this machine, or written. */
export type RootfsEntry = { path: string; source: string } | { path: string; content: string };

export interface RootfsPlan {
  entries: RootfsEntry[];
  /** Dockerfile instructions applied on import (docker import --change). */
  changes: string[];
}

export interface HostFiles {
  /** The node binary that runs cortex. */
  node: string;
  /** Shared libraries, as the paths ldd reports (the dynamic loader looks for them there). */
  libraries: string[];
  /** The system CA bundle, when there is one. */
  caBundle: string | undefined;
}

/** The libraries `ldd` names, by the path it resolved them to; the vDSO and missing ones have none. */
export function parseLdd(output: string): string[] {
  const paths: string[] = [];
  for (const line of output.split('\n')) {
    const m = /^\s*(?:\S+\s+=>\s+)?(\/\S+)\s+\(0x[0-9a-f]+\)\s*$/i.exec(line);
    if (m) paths.push(m[1]!);
  }
  return paths;
}

/** The root file system of the offline base for these host files. */
export function offlineRootfs(host: HostFiles): RootfsPlan {
  const entries: RootfsEntry[] = [
    { path: '/usr/local/bin/node', source: host.node },
    ...host.libraries.map((path) => ({ path, source: path })),
    // Root and the conventional unprivileged users: some libraries look the current user up.
    { path: '/etc/passwd', content: 'root:x:0:0:root:/root:/sbin/nologin\nnode:x:1000:1000:node:/home/node:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n' },
    { path: '/etc/group', content: 'root:x:0:\nnode:x:1000:\nnogroup:x:65534:\n' },
    // Without it glibc asks DNS before /etc/hosts, which Docker fills in for the container.
    { path: '/etc/nsswitch.conf', content: 'passwd: files\ngroup: files\nhosts: files dns\n' },
  ];
  const libraryDirs = [...new Set(host.libraries.map((path) => dirname(path)))];
  const changes = ['ENV PATH=/usr/local/bin:/usr/bin:/bin', `ENV LD_LIBRARY_PATH=${libraryDirs.join(':')}`];
  if (host.caBundle) {
    entries.push({ path: '/etc/ssl/certs/ca-certificates.crt', source: host.caBundle });
    // Node trusts its own CA list; this adds the machine's (a company proxy's CA, say) to it.
    changes.push('ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt');
  }
  return { entries, changes };
}

/** Tag of the offline base: a fingerprint of its plan and of the files' size and modification time. */
export function offlineBaseTag(plan: RootfsPlan, stats: ReadonlyMap<string, { size: number; mtimeMs: number }>): string {
  // System files change only when a package is upgraded, which changes their size or mtime;
  // reading ~100 MB of node and libc on every `cortex dev` would cost more than it protects.
  const hash = createHash('sha256');
  for (const entry of plan.entries) {
    if ('content' in entry) hash.update(`${entry.path}\0${entry.content}\0`);
    else {
      const info = stats.get(entry.source);
      hash.update(`${entry.path}\0${entry.source}\0${info?.size}\0${info?.mtimeMs}\0`);
    }
  }
  hash.update(plan.changes.join('\n'));
  return `${offlineBaseRepository}:${hash.digest('hex').slice(0, 12)}`;
}

/** Whether this glibc loads its name services (files, dns) as separate modules: before 2.34 it does. */
export function needsNssModules(glibc: string | undefined): boolean {
  const [major = 0, minor = 0] = (glibc ?? '').split('.').map(Number);
  return glibc !== undefined && (major < 2 || (major === 2 && minor < 34));
}

const nssModuleNames = ['libnss_files.so.2', 'libnss_dns.so.2'];

/**
 * The name service modules, from `ldconfig -p`, for the architecture of `libc` (a 64-bit host may
 * list 32-bit ones too). glibc dlopens them to read /etc/hosts and ask DNS, so ldd never names them.
 */
export function nssModules(ldconfigOutput: string, libc: string): string[] {
  const entries = ldconfigOutput.split('\n').flatMap((line) => {
    const m = /^\s*(\S+)\s+\(([^)]*)\)\s+=>\s+(\/\S+)\s*$/.exec(line);
    if (!m) return [];
    const flags = m[2]!.split(',').map((f) => f.trim()).filter((f) => !f.startsWith('OS ABI'));
    return [{ name: m[1]!, flags: flags.join(','), path: m[3]! }];
  });
  const libcEntries = entries.filter((e) => e.name === 'libc.so.6');
  const flags = (libcEntries.find((e) => e.path === libc) ?? libcEntries.find((e) => dirname(e.path) === dirname(libc)))?.flags;
  if (flags === undefined) return [];
  return nssModuleNames.flatMap((name) => entries.find((e) => e.name === name && e.flags === flags)?.path ?? []);
}

/** What the base needs from this machine for `node` and the given native modules. */
export async function hostFiles(nativeFiles: readonly string[], glibc: string | undefined = hostPlatform().glibc): Promise<HostFiles> {
  const node = realpathSync(process.execPath);
  // Libraries shipped inside node_modules come with the context, not the base.
  const libraries = new Set((await sharedLibraries([node, ...nativeFiles])).filter((path) => !path.split('/').includes('node_modules')));
  const libc = [...libraries].find((path) => path.endsWith('/libc.so.6'));
  if (libc && needsNssModules(glibc)) {
    const ldconfig = await execa('ldconfig', ['-p'], { reject: false, env: { PATH: `${process.env.PATH ?? ''}:/sbin:/usr/sbin` } });
    const modules = nssModules(ldconfig.stdout, libc);
    // libnss_dns needs libresolv, which nothing else may load.
    for (const path of [...modules, ...(modules.length ? await sharedLibraries(modules) : [])]) libraries.add(path);
  }
  const caBundle = ['/etc/ssl/certs/ca-certificates.crt', '/etc/pki/tls/certs/ca-bundle.crt'].find((path) => existsSync(path));
  return { node, libraries: [...libraries].sort(), caBundle };
}

/** The shared libraries the given files load, as ldd resolves them. */
async function sharedLibraries(files: readonly string[]): Promise<string[]> {
  // One ldd for all files: it costs a shell and a loader run, ~60 ms, however many it is given.
  const result = await execa('ldd', files, { reject: false });
  if (result.failed && (result as { code?: string }).code === 'ENOENT')
    throw new UserError('the offline base image needs `ldd` to find the shared libraries of node: install it (libc-bin), or pass --base IMAGE');
  return parseLdd(result.stdout);
}

/** Size and modification time of the plan's host files, for its tag. */
export function statsOf(plan: RootfsPlan): Map<string, { size: number; mtimeMs: number }> {
  const stats = new Map<string, { size: number; mtimeMs: number }>();
  for (const entry of plan.entries) if ('source' in entry) stats.set(entry.source, statSync(entry.source));
  return stats;
}

/** Writes the plan into a directory, packs it with tar and imports it as `tag`. */
export async function importOfflineBase(docker: Docker, plan: RootfsPlan, tag: string, onEvent: (event: ImageEvent) => void): Promise<void> {
  const staging = mkdtempSync(join(tmpdir(), 'cortex-base-'));
  try {
    for (const entry of plan.entries) {
      const target = join(staging, entry.path);
      mkdirSync(dirname(target), { recursive: true });
      if ('content' in entry) writeFileSync(target, entry.content);
      else copyFileSync(entry.source, target);
    }
    mkdirSync(join(staging, 'tmp'));
    chmodSync(join(staging, 'tmp'), 0o1777);
    const total = plan.entries.reduce((sum, entry) => sum + ('content' in entry ? entry.content.length : statSync(entry.source).size), 0);

    const tar = execa('tar', ['--create', '--file=-', '--owner=0', '--group=0', '--numeric-owner', '-C', staging, '.'], { buffer: { stdout: false } });
    const [repo, version] = tag.split(':') as [string, string];
    try {
      const response = await docker.importImage(tar.stdout.pipe(countBytes('base', total, onEvent)), { repo, tag: version, changes: plan.changes });
      await new Promise<void>((resolve, reject) => {
        docker.modem.followProgress(response, (err: Error | null, output: Array<{ error?: string }>) => {
          const failed = err?.message ?? output.find((o) => o.error)?.error;
          if (failed) reject(new UserError(`docker import of the offline base failed: ${failed}; pass --base IMAGE to build on an image you have`));
          else resolve();
        });
      });
      await tar;
    } catch (err) {
      tar.kill();
      await tar.catch(() => {});
      throw err;
    }
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

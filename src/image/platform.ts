// The runtime image carries this machine's node_modules (native binaries included) and, offline,
// its node: the daemon must run containers of this machine's OS and architecture, on glibc like
// the Debian base. Docker Desktop on a Mac, say, runs linux containers for darwin binaries.
import type Docker from 'dockerode';
import type { DaemonProblem } from './docker-client.js';

/** What the native binaries of this machine's node_modules were built for. */
export interface HostPlatform {
  platform: string;
  arch: string;
  /** glibc's version ("2.36"), or undefined on another libc (musl). */
  glibc: string | undefined;
}

/** The platform the daemon's containers run, as `docker version` reports it. */
export interface DaemonPlatform {
  Os: string;
  Arch: string;
}

/** Docker's name for a Node architecture. */
const dockerArch: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x' };

export function hostPlatform(): HostPlatform {
  const { header } = process.report.getReport() as { header: { glibcVersionRuntime?: string } };
  return { platform: process.platform, arch: process.arch, glibc: header.glibcVersionRuntime };
}

/**
 * Why containers of `daemon` cannot run the image built from `host`, or undefined when they can.
 * A base given with --base may bring its own libc, so the glibc check is for the chosen bases.
 */
export function platformProblem(host: HostPlatform, daemon: DaemonPlatform, { checkLibc = true } = {}): DaemonProblem | undefined {
  const target = `${host.platform}-${host.arch}${host.platform === 'linux' && !host.glibc ? ' (musl)' : ''}`;
  if (daemon.Os !== host.platform || daemon.Arch !== dockerArch[host.arch])
    return { problem: `Docker runs ${daemon.Os}/${daemon.Arch} containers, which cannot load this machine's ${target} node_modules`, fix: `run cortex on a ${daemon.Os}/${daemon.Arch} machine` };
  if (checkLibc && !host.glibc)
    return { problem: `this machine's node_modules are built for ${target}, but the runtime image's base is Debian (glibc)`, fix: 'pass --base with a musl Node image, like node:20-alpine' };
  return undefined;
}

/**
 * Why this machine cannot build runtime images for EKS, or undefined when it can. EKS's nodes run
 * linux/amd64 (cluster.yaml takes x86_64 instance types only), and the image carries this machine's
 * own native modules (and, offline, its node), with no way to build for another platform; so on an
 * arm64 Linux machine Docker would build an arm64 image that every node fails to start, and on a Mac
 * the daemon check would send the user to the wrong machine.
 */
export function eksImageProblem(host: Pick<HostPlatform, 'platform' | 'arch'>): string | undefined {
  if (host.platform === 'linux' && host.arch === 'x64') return undefined;
  return `cortex deploy --cloud builds the runtime image from this machine's node_modules, whose native modules are for ${host.platform}-${host.arch}, and EKS's nodes run linux/amd64 (x86_64): run cortex deploy --cloud on an x86_64 Linux machine, such as a CI runner or an EC2 instance`;
}

/** platformProblem for the daemon behind `docker`. */
export async function daemonPlatformProblem(docker: Docker, options?: { checkLibc?: boolean }): Promise<DaemonProblem | undefined> {
  return platformProblem(hostPlatform(), await docker.version(), options);
}

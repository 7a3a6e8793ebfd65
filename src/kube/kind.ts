// The local cluster for `cortex dev --backend kind`: a kind cluster named for cortex, whose node
// publishes the gateway's NodePort on the host (so http://localhost:8888 works as with the local
// backends) and mounts the model cache and mirror for pods to share. kind and Docker do the work;
// this module only writes kind's config and reads what kind reports.
import { existsSync } from 'node:fs';
import type { KubeConfig } from '@kubernetes/client-node';
import { execa } from 'execa';
import { stringify } from 'yaml';
import { UserError } from '../user-error.js';
import { kindGatewayNodePort } from './render.js';

export const defaultClusterName = 'cortex';
/** Where the node holds what the kind profile mounts into pods (see render.ts profiles.kind). */
export const nodePaths = { mirror: '/cortex/models', cache: '/cortex/cache' } as const;

export interface KindClusterOptions {
  name: string;
  /** The host port the gateway answers on. */
  hostPort: number;
  /** The model cache on this machine (CORTEX_CACHE_DIR), shared with the pods. */
  cacheDir: string;
  /** The offline model mirror (CORTEX_MODEL_MIRROR), when one is set. */
  mirrorDir?: string;
}

/** kind's cluster config for cortex: one node, the gateway's port mapping, the model folders. */
export function kindConfig({ hostPort, cacheDir, mirrorDir }: KindClusterOptions): string {
  const extraMounts = [{ hostPath: cacheDir, containerPath: nodePaths.cache }, ...(mirrorDir ? [{ hostPath: mirrorDir, containerPath: nodePaths.mirror, readOnly: true }] : [])];
  return stringify({
    kind: 'Cluster',
    apiVersion: 'kind.x-k8s.io/v1alpha4',
    nodes: [{ role: 'control-plane', extraPortMappings: [{ containerPort: kindGatewayNodePort, hostPort, listenAddress: '127.0.0.1' }], extraMounts }],
  });
}

const installKind = 'install kind (https://kind.sigs.k8s.io/docs/user/quick-start/#installation, or go install sigs.k8s.io/kind@v0.30.0) and make sure it is on PATH';

/**
 * What to do when kind failed for want of Docker, from what kind relays of the docker CLI: not
 * installed (kind's `exec: "docker": executable file not found`), or no daemon answering where
 * the CLI looks (`Cannot connect to the Docker daemon at ADDRESS`).
 */
function dockerProblem(output: string): string | undefined {
  if (/exec: "docker": executable file not found/.test(output)) {
    return 'kind runs its cluster in Docker, and there is no docker command on PATH: install Docker (https://docs.docker.com/engine/install/), start it, then run this again';
  }
  const address = /Cannot connect to the Docker daemon at (\S+?)\.? Is the docker daemon running/.exec(output)?.[1];
  if (address) {
    const where = process.env.DOCKER_HOST ? `${address} (DOCKER_HOST)` : address;
    return `kind runs its cluster in Docker, and no Docker daemon answers at ${where}: start it (sudo systemctl start docker, or open Docker Desktop), or point DOCKER_HOST at one that runs, then run this again`;
  }
  return undefined;
}

async function kind(args: string[], onLine?: (line: string) => void): Promise<string> {
  try {
    const run = execa('kind', args, { all: true });
    if (onLine) run.all?.on('data', (chunk: Buffer) => chunk.toString().split('\n').filter(Boolean).forEach((l) => onLine(l.trim())));
    return (await run).stdout;
  } catch (err) {
    const e = err as { code?: string; all?: string; shortMessage?: string };
    if (e.code === 'ENOENT') throw new UserError(`kind is not installed: ${installKind}`);
    const output = (e.all ?? e.shortMessage ?? '').trim();
    const docker = dockerProblem(output);
    if (docker) throw new UserError(docker);
    throw new UserError(`kind ${args[0]} failed: ${output.split('\n').filter(Boolean).slice(-3).join(' | ')}`);
  }
}

export async function kindClusters(): Promise<string[]> {
  return (await kind(['get', 'clusters'])).split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('No kind clusters'));
}

/** The host port the cluster's node publishes the gateway's NodePort on, if it does. */
export async function gatewayHostPort(name: string): Promise<number | undefined> {
  const { stdout } = await execa('docker', ['inspect', '--format', '{{json .HostConfig.PortBindings}}', `${name}-control-plane`]).catch(() => ({ stdout: '{}' }));
  const bindings = JSON.parse(stdout || '{}') as Record<string, Array<{ HostPort: string }> | null>;
  const port = bindings[`${kindGatewayNodePort}/tcp`]?.[0]?.HostPort;
  return port ? Number(port) : undefined;
}

export interface ClusterUp {
  created: boolean;
  /** Where the gateway answers on this machine. */
  endpoint: string;
}

/** Creates the cluster, or reuses one of that name that publishes the gateway; `image` overrides kind's node image. */
export async function clusterUp(options: KindClusterOptions & { image?: string; onLine?: (line: string) => void }): Promise<ClusterUp> {
  if ((await kindClusters()).includes(options.name)) {
    const port = await gatewayHostPort(options.name);
    if (port === undefined) {
      throw new UserError(`the kind cluster "${options.name}" exists but does not publish port ${kindGatewayNodePort}, where cortex's gateway listens; run cortex cluster down, then cortex cluster up`);
    }
    return { created: false, endpoint: `http://localhost:${port}` };
  }
  if (!existsSync(options.cacheDir)) throw new UserError(`the model cache ${options.cacheDir} does not exist; create it, or set CORTEX_CACHE_DIR`);
  const args = ['create', 'cluster', '--name', options.name, '--config', '-', '--wait', '5m', ...(options.image ? ['--image', options.image] : [])];
  try {
    const run = execa('kind', args, { input: kindConfig(options), all: true });
    run.all?.on('data', (chunk: Buffer) => chunk.toString().split('\n').filter((l) => l.trim()).forEach((l) => options.onLine?.(l.trim())));
    await run;
  } catch (err) {
    const e = err as { code?: string; all?: string; shortMessage?: string };
    if (e.code === 'ENOENT') throw new UserError(`kind is not installed: ${installKind}`);
    throw new UserError(`kind could not create the cluster "${options.name}": ${(e.all ?? e.shortMessage ?? '').trim().split('\n').slice(-3).join(' | ')}`);
  }
  return { created: true, endpoint: `http://localhost:${options.hostPort}` };
}

export async function clusterDown(name: string): Promise<boolean> {
  if (!(await kindClusters()).includes(name)) return false;
  await kind(['delete', 'cluster', '--name', name]);
  return true;
}

/** The cluster's kubeconfig as kind reports it, without touching ~/.kube/config. */
export async function kindKubeConfig(name: string): Promise<KubeConfig> {
  if (!(await kindClusters()).includes(name)) throw new UserError(`no kind cluster named "${name}"; run cortex cluster up`);
  // Loaded here, not at the top: its 27 MB of heap would sit in every `cortex dev` and `cortex
  // cluster` process that only asks kind for cluster names (a gateway's major GCs mark all of it).
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kc = new KubeConfig();
  kc.loadFromString(await kind(['get', 'kubeconfig', '--name', name]));
  return kc;
}

/**
 * The digests the node's containerd holds for `tag`, if it holds it: the image's target (its
 * manifest, or index) and, for a single-platform manifest, its config digest (the image ID a
 * classic Docker store reports). Read with ctr, which every kind node has (crictl, which
 * `kind load` itself asks, is not in every node image).
 */
async function nodeImageDigests(node: string, tag: string): Promise<string[]> {
  const ref = tag.includes('/') ? tag : `docker.io/library/${tag}`;
  const ctr = (...args: string[]) => execa('docker', ['exec', node, 'ctr', '--namespace', 'k8s.io', ...args], { reject: false });
  const listed = await ctr('images', 'ls', `name==${ref}`);
  const target = listed.exitCode === 0 ? listed.stdout.split('\n')[1]?.trim().split(/\s+/)[2] : undefined;
  if (!target) return [];
  const content = await ctr('content', 'get', target);
  // An index (several platforms) has no config of its own: only its target digest can match.
  const config = content.exitCode === 0 ? (JSON.parse(content.stdout) as { config?: { digest?: string } }).config?.digest : undefined;
  return config ? [target, config] : [target];
}

/**
 * Puts a local image on every node of the cluster, unless each already holds that image ID:
 * a cached runtime image costs two lookups per start, not a `kind load` (tens of seconds).
 * Docker's classic store reports the config digest as the ID; its containerd image store reports
 * the manifest or index digest, which is what ctr lists as the target. Either is a content digest,
 * so a match on either means the node holds exactly this image.
 */
export async function loadImage(name: string, tag: string, onLine?: (line: string) => void): Promise<{ loaded: boolean }> {
  const { stdout: localId } = await execa('docker', ['image', 'inspect', '--format', '{{.Id}}', tag]);
  const nodes = (await kind(['get', 'nodes', '--name', name])).split('\n').map((l) => l.trim()).filter(Boolean);
  const held = await Promise.all(nodes.map(async (node) => (await nodeImageDigests(node, tag)).includes(localId.trim())));
  if (held.every(Boolean)) return { loaded: false };
  await kind(['load', 'docker-image', tag, '--name', name], onLine);
  return { loaded: true };
}

/** Whether the node has a folder (a mount the cluster was created with, like the model mirror). */
export async function nodeHasDir(name: string, path: string): Promise<boolean> {
  const { exitCode } = await execa('docker', ['exec', `${name}-control-plane`, 'test', '-d', path], { reject: false });
  return exitCode === 0;
}

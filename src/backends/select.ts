// `cortex dev` picks where replicas run: pods of the cortex kind cluster when one is up, else
// Docker when a daemon answers and its containers can load this machine's native modules (the
// same image the clusters run), child processes otherwise; --backend decides instead.
import Docker from 'dockerode';
import { daemonPlatformProblem, dockerUnavailableReason, type ImageEvent } from '../image/index.js';
import { defaultClusterName, kindClusters } from '../kube/kind.js';
import { UserError } from '../user-error.js';
import { backendNames, type Backend, type BackendName } from '../model/backend.js';
import type { DockerLauncher } from './docker.js';
import { LocalBackend } from './local.js';
import { ProcessLauncher } from './process.js';

export interface Selected {
  backend: Backend;
  /** Which backend, what it runs, and why it was chosen. */
  reason: string;
}

export interface SelectOptions {
  /** Base image for the runtime image (docker, kind). */
  base?: string;
  onImageEvent?: (event: ImageEvent) => void;
  /** kind: leave the apis in the cluster when the session stops. */
  keep?: boolean;
  /** Progress of slow steps (an image loaded into the cluster). */
  onLine?: (line: string) => void;
}

/** What the Docker probe found: why Docker cannot run replicas here, if it cannot. */
export type DockerProbe = { usable: true } | { usable: false; why: string };

export interface Probe {
  docker: DockerProbe;
  /** Whether a kind cluster named for cortex exists (false where kind is not installed). */
  kindCluster: boolean;
}

export interface Choice {
  backend: BackendName;
  /** Why, for the first line. */
  why: string;
}

/** --backend, checked: undefined when it was not given. */
export function requestedBackend(flag: string | undefined): BackendName | undefined {
  if (flag === undefined || (backendNames as readonly string[]).includes(flag)) return flag as BackendName | undefined;
  throw new UserError(`--backend ${flag} is not available for cortex dev; choose one of: ${backendNames.join(', ')}`);
}

/** Without --backend: the kind cluster if there is one, Docker if it can run replicas here, else processes, saying why. */
export function autoBackend(probe: Probe): Choice {
  if (probe.docker.usable && probe.kindCluster) return { backend: 'kind', why: `the kind cluster "${defaultClusterName}" is up` };
  return probe.docker.usable ? { backend: 'docker', why: 'a Docker daemon answers' } : { backend: 'process', why: probe.docker.why };
}

/** Whether Docker can run replicas here: a daemon answers, and its containers can load this machine's node_modules. */
export async function probeDocker(docker: Docker = new Docker()): Promise<DockerProbe> {
  const unreachable = await dockerUnavailableReason(docker);
  if (unreachable) return { usable: false, why: `Docker unavailable: ${unreachable}` };
  const platform = await daemonPlatformProblem(docker).catch((err: Error) => ({ problem: `docker version failed: ${err.message}` }));
  return platform ? { usable: false, why: `Docker unusable: ${platform.problem}` } : { usable: true };
}

async function probe(): Promise<Probe> {
  const docker = await probeDocker();
  // Without Docker there is no kind cluster to use; without kind, `kind get clusters` cannot run.
  const kindCluster = docker.usable && (await kindClusters().then((names) => names.includes(defaultClusterName), () => false));
  return { docker, kindCluster };
}

interface Started {
  backend: Backend;
  description: string;
}

const local = (launcher: DockerLauncher | ProcessLauncher): Started => ({ backend: new LocalBackend(launcher), description: launcher.description });

/**
 * The registry of backends: exactly the names src/model/backend.ts lists, each with how to start
 * it. Each brings its own modules when chosen: the Kubernetes client alone is 27 MB of heap, which
 * a process-backend session would otherwise carry (and its gateway's every major GC mark).
 */
const backends = {
  docker: async ({ base, onImageEvent }) => {
    const { DockerLauncher } = await import('./docker.js');
    return local(await DockerLauncher.create({ base, onEvent: onImageEvent, otherwise: 'use --backend process' }));
  },
  process: async () => local(new ProcessLauncher()),
  kind: async (options) => (await import('./kind-start.js')).startKindBackend({ ...options, name: defaultClusterName }),
} satisfies Record<BackendName, (options: SelectOptions) => Promise<Started>>;

/** Which backend: --backend, else the best one here. Nothing is started yet, so the session can claim what that backend needs first. */
export async function chooseBackend(flag: string | undefined): Promise<Choice> {
  const requested = requestedBackend(flag);
  return requested ? { backend: requested, why: `--backend ${requested}` } : autoBackend(await probe());
}

export async function startBackend(choice: Choice, options: SelectOptions): Promise<Selected> {
  const { backend, description } = await backends[choice.backend](options);
  return { backend, reason: `${description} (${choice.why})` };
}

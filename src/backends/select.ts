// `cortex dev` picks where replicas run: Docker when a daemon answers and its containers can
// load this machine's native modules (the same image the clusters run), child processes
// otherwise; --backend decides instead.
import Docker from 'dockerode';
import { daemonPlatformProblem, dockerUnavailableReason, type ImageEvent } from '../image/index.js';
import { UserError } from '../user-error.js';
import type { BackendName } from '../model/backend.js';
import { DockerLauncher } from './docker.js';
import type { ReplicaLauncher } from './launcher.js';
import { ProcessLauncher } from './process.js';

export const localBackends = ['docker', 'process'] as const satisfies readonly BackendName[];
export type LocalBackendName = (typeof localBackends)[number];

export interface Selected {
  launcher: ReplicaLauncher;
  /** Which backend, and why it was chosen. */
  reason: string;
}

export interface SelectOptions {
  backend?: string;
  /** Base image for the runtime image (docker). */
  base?: string;
  onImageEvent?: (event: ImageEvent) => void;
}

/** What the Docker probe found: why Docker cannot run replicas here, if it cannot. */
export type DockerProbe = { usable: true } | { usable: false; why: string };

export interface Choice {
  backend: LocalBackendName;
  /** Why, for the first line. */
  why: string;
}

/** --backend, checked: undefined when it was not given. */
export function requestedBackend(flag: string | undefined): LocalBackendName | undefined {
  if (flag === undefined || (localBackends as readonly string[]).includes(flag)) return flag as LocalBackendName | undefined;
  throw new UserError(`--backend ${flag} is not available for cortex dev; choose one of: ${localBackends.join(', ')}`);
}

/** Without --backend: Docker if it can run replicas here, else processes, saying why. */
export function autoBackend(probe: DockerProbe): Choice {
  return probe.usable ? { backend: 'docker', why: 'a Docker daemon answers' } : { backend: 'process', why: probe.why };
}

/** Whether Docker can run replicas here: a daemon answers, and its containers can load this machine's node_modules. */
export async function probeDocker(docker: Docker = new Docker()): Promise<DockerProbe> {
  const unreachable = await dockerUnavailableReason(docker);
  if (unreachable) return { usable: false, why: `Docker unavailable: ${unreachable}` };
  const platform = await daemonPlatformProblem(docker).catch((err: Error) => ({ problem: `docker version failed: ${err.message}` }));
  return platform ? { usable: false, why: `Docker unusable: ${platform.problem}` } : { usable: true };
}

/** The registry of backends: exactly the names src/model/backend.ts lists, each with how to start its launcher. */
const launchers = {
  docker: ({ base, onImageEvent }) => DockerLauncher.create({ base, onEvent: onImageEvent, otherwise: 'use --backend process' }),
  process: async () => new ProcessLauncher(),
} satisfies Record<BackendName, (options: SelectOptions) => Promise<ReplicaLauncher>>;

export async function selectLauncher(options: SelectOptions): Promise<Selected> {
  const requested = requestedBackend(options.backend);
  const choice = requested ? { backend: requested, why: `--backend ${requested}` } : autoBackend(await probeDocker());
  const launcher: ReplicaLauncher = await launchers[choice.backend](options);
  return { launcher, reason: `${launcher.description} (${choice.why})` };
}

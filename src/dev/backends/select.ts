// `cortex dev` picks where replicas run: Docker when a daemon answers (the same image the
// clusters run), child processes otherwise; --backend decides instead.
import { dockerUnavailableReason, type ImageEvent } from '../../image/index.js';
import { UserError } from '../../user-error.js';
import type { BackendName } from '../backend.js';
import { DockerLauncher } from './docker.js';
import type { ReplicaLauncher } from './launcher.js';
import { ProcessLauncher } from './process.js';

export const localBackends = ['docker', 'process'] as const satisfies readonly BackendName[];

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

export async function selectLauncher({ backend, base, onImageEvent }: SelectOptions): Promise<Selected> {
  if (backend && !(localBackends as readonly string[]).includes(backend)) {
    throw new UserError(`--backend ${backend} is not available for cortex dev; choose one of: ${localBackends.join(', ')}`);
  }
  if (backend === 'process') {
    const launcher = new ProcessLauncher();
    return { launcher, reason: `${launcher.description} (--backend process)` };
  }
  if (backend === 'docker') {
    const launcher = await DockerLauncher.create({ base, onEvent: onImageEvent });
    return { launcher, reason: `${launcher.description} (--backend docker)` };
  }
  const unavailable = await dockerUnavailableReason();
  if (unavailable) {
    const launcher = new ProcessLauncher();
    return { launcher, reason: `${launcher.description} (Docker unavailable: ${unavailable.split(':')[0]})` };
  }
  const launcher = await DockerLauncher.create({ base, onEvent: onImageEvent });
  return { launcher, reason: `${launcher.description} (a Docker daemon answers)` };
}

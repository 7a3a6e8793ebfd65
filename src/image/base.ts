// The image the runtime image is built FROM: the one given with --base; else the slim Node image
// from a registry; else, with no registry (these machines), one assembled from this machine.
// Images already present are preferred to the network, so the check stays fast once either
// base exists.
import type Docker from 'dockerode';
import { UserError } from '../user-error.js';
import { daemonMessage, daemonStatus } from './docker-client.js';
import { hostFiles, importOfflineBase, offlineBaseTag, offlineRootfs, statsOf } from './offline-base.js';
import type { DaemonMessage, ImageEvent } from './progress.js';

export type BaseKind = 'override' | 'registry' | 'offline';

export interface BaseImage {
  kind: BaseKind;
  /** e.g. node:20-bookworm-slim or cortex-base:0123456789ab */
  ref: string;
  /** The image ID: the runtime image's tag derives from it, so a new base means a new image. */
  id: string;
  /** One line for the user: which base and why. */
  reason: string;
}

export interface BaseOptions {
  /** An image to build on instead of choosing (--base). */
  override?: string;
  /** Native modules of the context, whose libraries an offline base must carry. */
  nativeFiles: readonly string[];
  onEvent: (event: ImageEvent) => void;
  pullTimeoutMs?: number;
}

/** The registry's slim image of the Node major version running cortex. */
export function registryBase(nodeVersion: string = process.versions.node): string {
  return `node:${nodeVersion.split('.')[0]}-bookworm-slim`;
}

export async function chooseBase(docker: Docker, options: BaseOptions): Promise<BaseImage> {
  const pullTimeoutMs = options.pullTimeoutMs ?? 20_000;
  if (options.override) {
    const ref = options.override;
    let id = await localImageId(docker, ref);
    if (!id) {
      await pull(docker, ref, pullTimeoutMs, options.onEvent).catch((err: Error) => {
        throw new UserError(`--base ${ref}: the image is not on this machine and pulling it failed (${err.message}): pull or build it first, or leave out --base`);
      });
      id = await requireImageId(docker, ref);
    }
    return { kind: 'override', ref, id, reason: `${ref}, as given with --base` };
  }

  const registry = registryBase();
  const registryId = await localImageId(docker, registry);
  if (registryId) return { kind: 'registry', ref: registry, id: registryId, reason: `${registry}, already on this machine` };

  const plan = offlineRootfs(await hostFiles(options.nativeFiles));
  const offline = offlineBaseTag(plan, statsOf(plan));
  const node = `node ${process.version} and its shared libraries from this machine`;
  const offlineId = await localImageId(docker, offline);
  if (offlineId) return { kind: 'offline', ref: offline, id: offlineId, reason: `${offline}: ${node} (assembled earlier, without a registry)` };

  try {
    await pull(docker, registry, pullTimeoutMs, options.onEvent);
    return { kind: 'registry', ref: registry, id: await requireImageId(docker, registry), reason: `${registry}, pulled` };
  } catch (err) {
    options.onEvent({ type: 'output', text: `no registry (${(err as Error).message}): assembling ${offline} from this machine` });
    await importOfflineBase(docker, plan, offline, options.onEvent);
    return { kind: 'offline', ref: offline, id: await requireImageId(docker, offline), reason: `${offline}: ${node} (no registry: ${(err as Error).message})` };
  }
}

export async function localImageId(docker: Docker, ref: string): Promise<string | undefined> {
  try {
    return (await docker.getImage(ref).inspect()).Id;
  } catch (err) {
    if (daemonStatus(err) === 404) return undefined;
    throw err;
  }
}

async function requireImageId(docker: Docker, ref: string): Promise<string> {
  const id = await localImageId(docker, ref);
  if (!id) throw new Error(`${ref} is not on this machine after it was pulled or imported`);
  return id;
}

/** Pulls `ref`, reporting its status lines; rejects with the daemon's reason, or after `timeoutMs`. */
async function pull(docker: Docker, ref: string, timeoutMs: number, onEvent: (event: ImageEvent) => void): Promise<void> {
  const abort = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      abort.abort();
      reject(new Error(`no answer within ${timeoutMs / 1000} s`));
    }, timeoutMs);
  });
  const pulled = (async () => {
    const stream = await docker.pull(ref, { abortSignal: abort.signal });
    await new Promise<void>((resolve, reject) => {
      docker.modem.followProgress(
        stream,
        (err: Error | null, output: DaemonMessage[]) => {
          const failed = err?.message ?? output.find((o) => o.error)?.error;
          if (failed) reject(new Error(failed));
          else resolve();
        },
        (message: DaemonMessage & { id?: string }) => {
          // Per-layer download ticks are too many to show; the layer and pull statuses are not.
          if (message.status && !/^(Downloading|Extracting|Waiting)/.test(message.status)) onEvent({ type: 'output', text: [message.id, message.status].filter(Boolean).join(': ') });
        },
      );
    });
  })();
  try {
    await Promise.race([pulled.catch((err: unknown) => Promise.reject(new Error(daemonMessage(err)))), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

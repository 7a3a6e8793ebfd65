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

// Docker's reference grammar (github.com/distribution/reference), so that a typo is one line
// before the daemon is asked, rather than its error or a client-side exception.
const alphaNumeric = '[a-z0-9]+';
const pathComponent = `${alphaNumeric}(?:(?:[._]|__|-+)${alphaNumeric})*`;
const domainComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const domain = `(?:${domainComponent}(?:\\.${domainComponent})*|\\[[0-9a-fA-F:]+\\])(?::[0-9]+)?`;
const referencePattern = new RegExp(
  `^((?:${domain}/)?${pathComponent}(?:/${pathComponent})*)(?::[\\w][\\w.-]{0,127})?(?:@([A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}))?$`,
);

/** Why `ref` is not an image reference Docker accepts, or undefined when it is one. */
export function referenceProblem(ref: string): string | undefined {
  if (ref === '') return 'it is empty';
  if (/\s/.test(ref)) return 'it contains whitespace';
  const [first, ...rest] = ref.split('@')[0]!.replace(/:[^/]*$/, '').split('/');
  // The first part names a registry only when it looks like a host: the rest is the repository.
  const repository = rest.length > 0 && (/[.:]/.test(first!) || first === 'localhost') ? rest : [first!, ...rest];
  if (/[A-Z]/.test(repository.join('/'))) return 'repository names must be lowercase';
  const match = referencePattern.exec(ref);
  const digest = match?.[2] ?? ref.split('@')[1];
  if (digest !== undefined && !/^sha256:[0-9a-f]{64}$/.test(digest)) return 'a digest is sha256: and 64 lowercase hex digits';
  if (!match) return 'expected [REGISTRY/]NAME[:TAG][@DIGEST], like node:20-bookworm-slim';
  if (match[1]!.length > 255) return 'the name is longer than 255 characters';
  return undefined;
}

function invalidBase(ref: string, problem: string): UserError {
  return new UserError(`--base ${ref} is not a valid image reference: ${problem}`);
}

/** Throws the one line for a --base that is not an image reference. */
export function requireValidBase(ref: string): void {
  const problem = referenceProblem(ref);
  if (problem !== undefined) throw invalidBase(ref, problem);
}

export async function chooseBase(docker: Docker, options: BaseOptions): Promise<BaseImage> {
  const pullTimeoutMs = options.pullTimeoutMs ?? 20_000;
  if (options.override) {
    const ref = options.override;
    let id = await localImageId(docker, ref).catch((err: unknown) => {
      // Should the daemon refuse a reference that referenceProblem let by, its grammar wins.
      throw daemonStatus(err) === 400 ? invalidBase(ref, daemonMessage(err)) : err;
    });
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

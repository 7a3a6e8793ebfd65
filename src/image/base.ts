// The image the runtime image is built FROM: the one given with --base; else the slim Node image
// from a registry; else, with no registry (these machines), one assembled from this machine.
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

/** How long a pull may wait for the daemon to say anything: the first answer, then each next one. */
export interface PullLimits {
  /** Until the registry first answers (the daemon says nothing before it has the manifest). */
  firstAnswerMs: number;
  /** Between two progress messages once the pull runs: a slow link keeps sending them, a dead one does not. */
  idleMs: number;
}

export interface BaseOptions {
  /** An image to build on instead of choosing (--base). */
  override?: string;
  /** Native modules of the context, whose libraries an offline base must carry. */
  nativeFiles: readonly string[];
  onEvent: (event: ImageEvent) => void;
  /** The registry image to prefer; registryBase() by default. */
  registry?: string;
  /** For a pull with nothing to fall back on but assembling a base. */
  pullLimits?: PullLimits;
  /** For asking the registry again while an offline base is already here. */
  retryLimits?: PullLimits;
}

const defaultPullLimits: PullLimits = { firstAnswerMs: 30_000, idleMs: 30_000 };
// Offline, the daemon's pull fails as fast as DNS does: ~40 ms on these machines. A network
// that drops packets instead would hold it until the daemon's own dial timeout, so the wait for
// a first answer is capped low: with an offline base to fall back on, starting offline costs
// at most this much.
const defaultRetryLimits: PullLimits = { firstAnswerMs: 3_000, idleMs: 30_000 };

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
  const pullLimits = options.pullLimits ?? defaultPullLimits;
  if (options.override) {
    const ref = options.override;
    let id = await localImageId(docker, ref).catch((err: unknown) => {
      // Should the daemon refuse a reference that referenceProblem let by, its grammar wins.
      throw daemonStatus(err) === 400 ? invalidBase(ref, daemonMessage(err)) : err;
    });
    if (!id) {
      await pull(docker, ref, pullLimits, options.onEvent).catch((err: Error) => {
        throw new UserError(`--base ${ref}: the image is not on this machine and pulling it failed (${err.message}): pull or build it first, or leave out --base`);
      });
      id = await requireImageId(docker, ref);
    }
    return { kind: 'override', ref, id, reason: `${ref}, as given with --base` };
  }

  const registry = options.registry ?? registryBase();
  const registryId = await localImageId(docker, registry);
  if (registryId) return { kind: 'registry', ref: registry, id: registryId, reason: `${registry}, already on this machine` };

  const plan = offlineRootfs(await hostFiles(options.nativeFiles));
  const offline = offlineBaseTag(plan, statsOf(plan));
  const node = `node ${process.version} from this machine`;
  // The order: the registry's image when it is here (no network); else ask the registry, even
  // when an offline base from an earlier run is here, or a machine that gains a registry would
  // never get the registry's image; that base only shortens the wait for a first answer, so the
  // check stays fast offline (the refused pull costs 30-60 ms here); else assemble the base.
  const offlineId = await localImageId(docker, offline);
  const pulled = await pull(docker, registry, offlineId ? (options.retryLimits ?? defaultRetryLimits) : pullLimits, options.onEvent).then(
    () => undefined,
    (err: Error) => err.message,
  );
  if (pulled === undefined) return { kind: 'registry', ref: registry, id: await requireImageId(docker, registry), reason: `${registry}, pulled` };
  // One short line that does not read like a failure; why the pull failed is said once, when the base is assembled.
  if (offlineId) return { kind: 'offline', ref: offline, id: offlineId, reason: `${offline}: ${node}, as ${registry} could not be pulled` };

  options.onEvent({ type: 'output', text: `pulling ${registry} failed (${pulled}): assembling ${offline} from this machine` });
  await importOfflineBase(docker, plan, offline, options.onEvent);
  return { kind: 'offline', ref: offline, id: await requireImageId(docker, offline), reason: `${offline}: ${node}, as ${registry} could not be pulled` };
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

/** Bytes of a pull so far, summed over the layers the daemon has started on. */
class PullBytes {
  private readonly layers = new Map<string, { current: number; total: number; complete: boolean }>();

  take(message: DaemonMessage & { id?: string; progressDetail?: { current?: number; total?: number } }): boolean {
    if (!message.id) return false;
    const layer = this.layers.get(message.id) ?? { current: 0, total: 0, complete: false };
    this.layers.set(message.id, layer);
    if (message.status === 'Downloading' && message.progressDetail?.total) {
      layer.current = message.progressDetail.current ?? layer.current;
      layer.total = message.progressDetail.total;
      return true;
    }
    if (message.status === 'Download complete' || message.status === 'Already exists') Object.assign(layer, { current: layer.total, complete: true });
    return false;
  }

  /** Every layer the daemon named is here: what is left (extracting, registering) happens on this machine. */
  get downloaded(): boolean {
    return this.layers.size > 0 && [...this.layers.values()].every((l) => l.complete || (l.total > 0 && l.current >= l.total));
  }

  get done(): number {
    return [...this.layers.values()].reduce((sum, l) => sum + l.current, 0);
  }

  get total(): number {
    return [...this.layers.values()].reduce((sum, l) => sum + l.total, 0);
  }
}

/** The daemon's reason without Go's request preamble: 'Get "https://…/v2/": dial tcp: lookup …' → 'lookup …'. */
export function pullFailure(message: string): string {
  return message.replace(/^Get "[^"]*": /, '').replace(/^dial tcp: /, '');
}

const mib = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;
const seconds = (ms: number) => `${ms / 1000} s`;

/**
 * Pulls `ref`, reporting its status lines and bytes; rejects with the daemon's reason, or once
 * the daemon has been silent for longer than `limits` allow. A slow download is not a failure.
 */
export async function pull(docker: Docker, ref: string, limits: PullLimits, onEvent: (event: ImageEvent) => void): Promise<void> {
  const abort = new AbortController();
  const bytes = new PullBytes();
  let answered = false;
  let timer: NodeJS.Timeout | undefined;
  let stalled: (err: Error) => void = () => {};
  const silence = new Promise<never>((_, reject) => (stalled = reject));
  const wait = () => {
    clearTimeout(timer);
    // Once every byte is in, a quiet daemon is extracting the layers, not waiting on the network:
    // that is no stall (a busy machine took over a second for a 1 MiB layer), and it ends on its own.
    if (bytes.downloaded) return;
    const ms = answered ? limits.idleMs : limits.firstAnswerMs;
    timer = setTimeout(() => {
      abort.abort();
      stalled(new Error(answered ? `the download stalled: nothing for ${seconds(ms)} after ${mib(bytes.done)} of ${mib(bytes.total)}` : `no answer within ${seconds(ms)}`));
    }, ms);
  };
  const heard = () => {
    answered = true;
    wait();
  };
  wait();
  const pulled = (async () => {
    const stream = await docker.pull(ref, { abortSignal: abort.signal });
    heard();
    await new Promise<void>((resolve, reject) => {
      docker.modem.followProgress(
        stream,
        (err: Error | null, output: DaemonMessage[]) => {
          const failed = err?.message ?? output.find((o) => o.error)?.error;
          if (failed) reject(new Error(failed));
          else resolve();
        },
        (message: DaemonMessage & { id?: string }) => {
          // Counted before the silence timer is set again, so that the last layer's "Download complete" stops it.
          const progressed = bytes.take(message);
          heard();
          if (progressed) onEvent({ type: 'bytes', what: 'pull', done: bytes.done, total: bytes.total });
          // Per-layer ticks become the byte count above; the layer and pull statuses are shown.
          else if (message.status && !/^(Downloading|Extracting|Waiting)/.test(message.status)) onEvent({ type: 'output', text: [message.id, message.status].filter(Boolean).join(': ') });
        },
      );
    });
  })();
  try {
    await Promise.race([pulled.catch((err: unknown) => Promise.reject(new Error(pullFailure(daemonMessage(err))))), silence]);
    if (bytes.total > 0) onEvent({ type: 'bytes', what: 'pull', done: bytes.total, total: bytes.total });
  } finally {
    clearTimeout(timer);
    pulled.catch(() => {});
  }
}

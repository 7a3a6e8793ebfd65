// Pushing the runtime image to ECR (or any registry with basic auth) through the Docker daemon
// (dockerode), the way `docker login` + `docker push` would, without the docker CLI: the ECR
// token (base64 "AWS:<password>") logs in, the image is tagged <registry>/<repo>:<content tag>,
// and the push reports each layer; layers the registry already has are not sent again, and the
// result counts them, so a second deploy of an unchanged runtime costs a few round trips.
import type Docker from 'dockerode';
import { UserError } from '../user-error.js';
import { connectDocker, daemonMessage } from '../image/docker-client.js';
import { decodeRegistryToken } from './aws.js';

export type LayerState = 'preparing' | 'waiting' | 'pushing' | 'pushed' | 'exists' | 'mounted';

export type PushEvent =
  | { type: 'login'; registry: string }
  | { type: 'layer'; id: string; state: LayerState }
  /** Bytes sent so far over every layer being pushed, and their total as far as known. */
  | { type: 'bytes'; done: number; total: number }
  | { type: 'pushed'; reference: string; digest: string };

export interface PushOptions {
  docker?: Docker;
  /** The local image, e.g. cortex-runtime:1a2b3c4d5e6f (ensureRuntimeImage's tag). */
  image: string;
  /** <registry host>/<repository>, e.g. 123456789012.dkr.ecr.us-east-1.amazonaws.com/cortex/runtime. */
  repository: string;
  /** The tag to push; the local image's tag (its content tag) when absent. */
  tag?: string;
  /** base64 "user:password", as ECR's GetAuthorizationToken returns it. */
  token: string;
  onEvent?: (event: PushEvent) => void;
}

export interface PushResult {
  /** <repository>:<tag> */
  reference: string;
  /** The manifest digest the registry stored: what a pod can pin with <repository>@<digest>. */
  digest: string;
  layers: number;
  /** Layers sent. */
  pushed: number;
  /** Layers the registry already had ("Layer already exists", or mounted from another repository). */
  existed: number;
  bytes: number;
  ms: number;
}

/** A push the user can fix (a refused login, an unknown image): one line, exit code 2. */
export class PushError extends UserError {
  override name = 'PushError';
}

/** The registry host of a repository reference: everything before the first "/". */
export function registryOf(repository: string): string {
  const slash = repository.indexOf('/');
  if (slash <= 0 || !/[.:]/.test(repository.slice(0, slash)) && repository.slice(0, slash) !== 'localhost') {
    throw new Error(`"${repository}" does not start with a registry host such as 123456789012.dkr.ecr.us-east-1.amazonaws.com/`);
  }
  return repository.slice(0, slash);
}

function tagOf(image: string): string {
  const name = image.slice(image.lastIndexOf('/') + 1);
  const colon = name.lastIndexOf(':');
  return colon < 0 ? 'latest' : name.slice(colon + 1);
}

interface PushMessage {
  status?: string;
  id?: string;
  progressDetail?: { current?: number; total?: number };
  aux?: { Tag?: string; Digest?: string; Size?: number };
  error?: string;
  errorDetail?: { message?: string };
}

function stateOf(status: string): LayerState | undefined {
  if (status === 'Preparing') return 'preparing';
  if (status === 'Waiting') return 'waiting';
  if (status === 'Pushing') return 'pushing';
  if (status === 'Pushed') return 'pushed';
  if (status === 'Layer already exists') return 'exists';
  if (status.startsWith('Mounted from')) return 'mounted';
  return undefined;
}

export async function pushImage(options: PushOptions): Promise<PushResult> {
  const started = performance.now();
  const onEvent = options.onEvent ?? (() => {});
  const docker = await connectDocker(options.docker);
  const registry = registryOf(options.repository);
  const { username, password } = decodeRegistryToken(options.token);
  const auth = { username, password, serveraddress: registry };

  // What `docker login` does: the daemon checks the credentials with the registry, so a bad token
  // is one clear error here rather than a failure halfway through the push.
  try {
    await docker.checkAuth(auth);
  } catch (error) {
    throw new PushError(`logging in to ${registry} as ${username} failed: ${daemonMessage(error)}; for ECR, check the region and that the AWS identity may call ecr:GetAuthorizationToken`);
  }
  onEvent({ type: 'login', registry });

  const tag = options.tag ?? tagOf(options.image);
  const reference = `${options.repository}:${tag}`;
  try {
    await docker.getImage(options.image).tag({ repo: options.repository, tag });
  } catch (error) {
    throw new PushError(`cannot tag ${options.image} as ${reference}: ${daemonMessage(error)}`);
  }

  const stream = await docker.getImage(options.repository).push({ tag, authconfig: auth } as Parameters<Docker.Image['push']>[0]);
  const layers = new Map<string, LayerState>();
  const progress = new Map<string, { current: number; total: number }>();
  let digest = '';
  let failure: string | undefined;
  await new Promise<void>((resolve, reject) => {
    docker.modem.followProgress(stream, (error: Error | null) => (error ? reject(error) : resolve()), (message: PushMessage) => {
      if (message.error || message.errorDetail) {
        failure = message.errorDetail?.message ?? message.error;
        return;
      }
      if (message.aux?.Digest) digest = message.aux.Digest;
      const state = message.status ? stateOf(message.status) : undefined;
      if (!message.id || !state) return;
      const before = layers.get(message.id);
      layers.set(message.id, state);
      if (state !== before) onEvent({ type: 'layer', id: message.id, state });
      if (state === 'pushing' && message.progressDetail?.total) {
        progress.set(message.id, { current: message.progressDetail.current ?? 0, total: message.progressDetail.total });
        let done = 0;
        let total = 0;
        for (const p of progress.values()) {
          done += p.current;
          total += p.total;
        }
        onEvent({ type: 'bytes', done, total });
      }
      if (state === 'pushed') {
        const p = progress.get(message.id);
        if (p) p.current = p.total;
      }
    });
  });
  if (failure) throw new PushError(`pushing ${reference} failed: ${failure}`);
  if (!digest) throw new Error(`the push of ${reference} ended without a digest from the registry`);
  onEvent({ type: 'pushed', reference, digest });

  const states = [...layers.values()];
  return {
    reference,
    digest,
    layers: states.length,
    pushed: states.filter((s) => s === 'pushed').length,
    existed: states.filter((s) => s === 'exists' || s === 'mounted').length,
    bytes: [...progress.values()].reduce((sum, p) => sum + p.total, 0),
    ms: Math.round(performance.now() - started),
  };
}

/** One line for the end of a push: "pushed 3 of 12 layers (41.2 MB), 9 already there, in 8.1 s". */
export function describePush(result: PushResult): string {
  const mb = (result.bytes / 1e6).toFixed(1);
  const already = result.existed > 0 ? `, ${result.existed} already there` : '';
  return `pushed ${result.pushed} of ${result.layers} layers (${mb} MB)${already}, in ${(result.ms / 1000).toFixed(1)} s: ${result.reference}`;
}

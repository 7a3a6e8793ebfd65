// Replicas as containers of the runtime image (the image kind and EKS will run too), one
// loopback port each, labelled with the session that started them so that the containers of a
// crashed session are found and removed on the next start.
import { mkdirSync, statSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { constants, hostname } from 'node:os';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';
import { cacheDirFrom } from '../../runtime/settings.js';
import { isRunning } from '../../runtime/process-alive.js';
import { containerPort, ensureRuntimeImage, type RuntimeImage, type RuntimeImageOptions } from '../image/index.js';
import { connectDocker, daemonMessage, daemonStatus } from '../image/docker-client.js';
import { UserError } from '../user-error.js';
import { formatMemory, type ApiSpec } from '../spec/index.js';
import { runtimeEnv } from './runtime-env.js';
import type { LaunchedReplica, LaunchRequest, ReplicaLauncher } from './launcher.js';

export const labels = {
  session: 'cortex.session',
  host: 'cortex.host',
  deployment: 'cortex.deployment',
  api: 'cortex.api',
  replica: 'cortex.replica',
} as const;

/** Where a replica finds, inside its container, what lives on this machine. */
export const containerPaths = { api: '/api', mirror: '/models', cache: '/cache' } as const;

/**
 * The name a replica reaches this machine by. Inside a container localhost is the container
 * itself, so a URL on the host's localhost must use this name instead; the runtime reads it
 * from CORTEX_HOST_GATEWAY to say so when such a fetch fails.
 */
export const hostGateway = 'host.docker.internal';

/** The dev session that started a container: its machine and pid (labels.session, labels.host). */
export interface Owner {
  host: string;
  pid: number;
}

export interface DockerLauncherOptions extends RuntimeImageOptions {
  /** Where CORTEX_MODEL_MIRROR, CORTEX_CACHE_DIR and the like are read; process.env by default. */
  env?: NodeJS.ProcessEnv;
  /** How long a started container may take to answer /healthz. */
  startTimeoutMs?: number;
}

const tailLines = 20;

/** A Docker-valid container name, unique to the session and replica. */
export function containerName(deployment: string, replicaId: string, session: Owner): string {
  return `cortex-${deployment}-${replicaId}-${session.pid}`.replace(/[^a-zA-Z0-9_.-]/g, '-');
}

/** A container of a session that is gone: started on this machine by a process no longer alive. */
export function isOrphan(containerLabels: Record<string, string>, self: Owner, alive: (pid: number) => boolean): boolean {
  const pid = Number(containerLabels[labels.session]);
  if (!Number.isInteger(pid) || containerLabels[labels.host] !== self.host) return false;
  return pid !== self.pid && !alive(pid);
}

/** Docker reports only a status; above 128 it is the signal that ended the process. */
export function exitOf(statusCode: number | undefined): { code: number | null; signal: string | null } {
  if (statusCode === undefined) return { code: null, signal: null };
  const signal = statusCode > 128 ? Object.entries(constants.signals).find(([, n]) => n === statusCode - 128)?.[0] : undefined;
  return signal ? { code: null, signal } : { code: statusCode, signal: null };
}

export interface ContainerPlan {
  image: string;
  name: string;
  session: Owner;
  api: ApiSpec;
  replicaId: string;
  env: Record<string, string>;
  binds: Array<{ source: string; target: string; readOnly: boolean }>;
  /** The daemon's CPU count: a limit above it is refused, and means no limit anyway. */
  hostCpus: number;
  /** uid:gid to run as, so files the replica writes to the cache mount are the user's. */
  user: string | undefined;
  /** The loopback port of this machine that the runtime's port is published on. */
  hostPort: number;
}

/** The folders of this machine that every replica mounts besides its api's. */
export interface HostMounts {
  mirror: string | undefined;
  cache: string;
}

/**
 * CORTEX_MODEL_MIRROR and CORTEX_CACHE_DIR as absolute paths (Docker mounts nothing relative),
 * checked once: a bad one is an error at start, not a launch that fails and is retried forever.
 */
export function hostMounts(env: NodeJS.ProcessEnv): HostMounts {
  const mirror = env.CORTEX_MODEL_MIRROR ? resolve(env.CORTEX_MODEL_MIRROR) : undefined;
  if (mirror && !statSync(mirror, { throwIfNoEntry: false })?.isDirectory())
    throw new UserError(`CORTEX_MODEL_MIRROR: ${mirror} is not a folder: point it at the folder holding the model files`);
  const cache = resolve(cacheDirFrom(env));
  try {
    mkdirSync(cache, { recursive: true });
  } catch (err) {
    throw new UserError(`CORTEX_CACHE_DIR: cannot create ${cache} (${(err as NodeJS.ErrnoException).code}): point CORTEX_CACHE_DIR at a folder you can write`);
  }
  return { mirror, cache };
}

/** What to tell the user when the kernel killed a replica for its memory. */
export function outOfMemory(api: ApiSpec): string {
  const { mem } = api.compute;
  return mem === null
    ? `out of memory: the machine ran out (api ${api.name} has no compute.mem limit)`
    : `out of memory (compute.mem ${formatMemory(mem)}): raise compute.mem of api ${api.name} in cortex.yaml`;
}

export function containerOptions(plan: ContainerPlan): Docker.ContainerCreateOptions {
  const { cpu, mem } = plan.api.compute;
  const port = `${containerPort}/tcp`;
  return {
    name: plan.name,
    Image: plan.image,
    Env: Object.entries(plan.env).map(([key, value]) => `${key}=${value}`),
    ...(plan.user ? { User: plan.user } : {}),
    Labels: {
      [labels.session]: String(plan.session.pid),
      [labels.host]: plan.session.host,
      [labels.deployment]: plan.api.deployment,
      [labels.api]: plan.api.name,
      [labels.replica]: plan.replicaId,
    },
    ExposedPorts: { [port]: {} },
    HostConfig: {
      ExtraHosts: [`${hostGateway}:host-gateway`],
      PortBindings: { [port]: [{ HostIp: '127.0.0.1', HostPort: String(plan.hostPort) }] },
      Mounts: plan.binds.map((b) => ({ Type: 'bind' as const, Source: b.source, Target: b.target, ReadOnly: b.readOnly })),
      NanoCpus: cpu > 0 ? Math.round(Math.min(cpu, plan.hostCpus) * 1e9) : 0,
      // Swap counts against the limit, as in Kubernetes, so the limit means what it says.
      ...(mem !== null ? { Memory: mem, MemorySwap: mem } : {}),
    },
  };
}

/** Removes the containers of crashed sessions on this machine; returns their names. */
export async function removeOrphanContainers(docker: Docker, self: Owner = thisSession()): Promise<string[]> {
  const containers = await docker.listContainers({ all: true, filters: { label: [labels.session] } });
  const orphans = containers.filter((c) => isOrphan(c.Labels, self, isRunning));
  await Promise.all(orphans.map((c) => removeContainer(docker.getContainer(c.Id))));
  return orphans.map((c) => c.Names[0]?.replace(/^\//, '') ?? c.Id);
}

function thisSession(): Owner {
  return { host: hostname(), pid: process.pid };
}

async function removeContainer(container: Docker.Container): Promise<void> {
  try {
    await container.remove({ force: true, v: true });
  } catch (err) {
    // Gone already, or being removed by the daemon: either way it will not stay.
    if (daemonStatus(err) !== 404 && daemonStatus(err) !== 409) throw err;
  }
}

export class DockerLauncher implements ReplicaLauncher {
  readonly name = 'docker' as const;
  readonly description: string;

  /** Apis already told that their GPUs stay on the host. */
  private readonly gpuWarned = new Set<string>();

  private constructor(
    private readonly docker: Docker,
    readonly image: RuntimeImage,
    /** Containers of crashed sessions that create() removed. */
    readonly removedOrphans: string[],
    private readonly hostCpus: number,
    private readonly options: DockerLauncherOptions,
    private readonly session: Owner,
    private readonly mounts: HostMounts,
  ) {
    const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
    const how = image.cached ? `cached, checked in ${seconds(image.checkMs)}` : `built in ${seconds(image.checkMs + image.buildMs)}`;
    const orphans = removedOrphans.length ? `; removed ${removedOrphans.length} container(s) of a crashed session` : '';
    this.description = `docker backend: replicas are containers of ${image.tag} (${how}; base ${image.base.reason})${orphans}`;
  }

  /** Reaches the daemon, clears what crashed sessions left, and builds the image unless it is cached. */
  static async create(options: DockerLauncherOptions = {}): Promise<DockerLauncher> {
    const mounts = hostMounts(options.env ?? process.env);
    const docker = await connectDocker(options.docker, { otherwise: options.otherwise });
    const session = thisSession();
    const removedOrphans = await removeOrphanContainers(docker, session);
    const image = await ensureRuntimeImage({ ...options, docker });
    const { NCPU } = await docker.info();
    return new DockerLauncher(docker, image, removedOrphans, NCPU, options, session, mounts);
  }

  async launch({ spec, api, replicaId, adminToken, onLine }: LaunchRequest): Promise<LaunchedReplica> {
    const name = containerName(api.deployment, replicaId, this.session);
    const { env, binds } = this.placement(spec, api, adminToken);
    if (api.compute.gpu > 0 && !this.gpuWarned.has(api.name)) {
      this.gpuWarned.add(api.name);
      onLine(`compute.gpu ${api.compute.gpu} is not given to local containers: replicas run on CPU here (GPUs come with deploy --cloud)`, 'stderr');
    }
    // Chosen here rather than by Docker, so that the replica can be told before it starts the
    // address it is reached by, and say that one rather than its container's own.
    const hostPort = await freeLoopbackPort();
    const url = `http://127.0.0.1:${hostPort}`;
    const options = containerOptions({
      image: this.image.tag,
      name,
      session: this.session,
      api,
      replicaId,
      hostPort,
      env: { ...env, CORTEX_REPLICA: replicaId, CORTEX_SESSION: String(this.session.pid), CORTEX_HOST_GATEWAY: hostGateway, CORTEX_PUBLIC_URL: url },
      binds,
      hostCpus: this.hostCpus,
      // Explicitly, root included: the image's own user (1000) may not write the user's cache.
      user: process.getuid ? `${process.getuid()}:${process.getgid!()}` : undefined,
    });

    const container = await this.docker.createContainer(options).catch((err: unknown) => {
      throw createFailure(err, name, this.image.tag);
    });
    // A created container that cannot be attached to is removed, or its name blocks every relaunch.
    // A SIGKILL once cortex stops the replica is cortex's own: no "oom" event is on its way.
    let stopping = false;
    const { tail, exited } = await watch(this.docker, container, onLine, outOfMemory(api), () => api.compute.mem !== null && !stopping).catch(async (err: unknown) => {
      await removeContainer(container).catch(() => {});
      throw new Error(`attaching to container ${name} failed: ${daemonMessage(err)}`);
    });
    try {
      await container.start();
    } catch (err) {
      await removeContainer(container).catch(() => {});
      throw startFailure(err, name);
    }
    const startTimeoutMs = this.options.startTimeoutMs ?? 60_000;
    const started = await untilLive(url, exited, startTimeoutMs);
    if (started !== 'live') {
      if (started === 'timeout') await removeContainer(container).catch(() => {});
      const end = started === 'timeout' ? `did not answer /healthz within ${startTimeoutMs / 1000} s` : describeExit(await exited, api);
      throw new Error(`container ${name} ${end}${tail.length ? `; its last lines:\n${tail.join('\n')}` : ' and wrote nothing'}`);
    }

    return {
      url,
      exited: exited.then(({ code, signal }) => ({ code, signal })),
      async stop(graceMs) {
        stopping = true;
        try {
          // SIGTERM (the runtime drains), then SIGKILL after t seconds; no grace, SIGKILL now.
          if (graceMs === 0) await container.kill();
          else await container.stop({ t: Math.max(1, Math.ceil(graceMs / 1000)) });
        } catch {
          await removeContainer(container).catch(() => {});
        }
        await exited;
      },
    };
  }

  /** The replica's environment and bind mounts: the api's folder, the model mirror, the cache. */
  private placement(spec: LaunchRequest['spec'], api: ApiSpec, adminToken: string): Pick<ContainerPlan, 'env' | 'binds'> {
    const env = runtimeEnv(spec, api, { host: '0.0.0.0', port: containerPort, adminToken, apiDir: containerPaths.api }, this.options.env ?? process.env);
    const binds: ContainerPlan['binds'] = [{ source: spec.dir, target: containerPaths.api, readOnly: true }];
    if (this.mounts.mirror) {
      binds.push({ source: this.mounts.mirror, target: containerPaths.mirror, readOnly: true });
      env.CORTEX_MODEL_MIRROR = containerPaths.mirror;
    }
    // The host's cache, so a model downloaded once serves every container and session.
    binds.push({ source: this.mounts.cache, target: containerPaths.cache, readOnly: false });
    env.CORTEX_CACHE_DIR = containerPaths.cache;
    return { env, binds };
  }

  /** Removes any container of this session still there (a replica whose stop was never awaited). */
  async close(): Promise<void> {
    const left = await this.docker.listContainers({ all: true, filters: { label: [`${labels.session}=${this.session.pid}`, `${labels.host}=${this.session.host}`] } });
    await Promise.all(left.map((c) => removeContainer(this.docker.getContainer(c.Id))));
  }
}

/** A container's end: how it exited, and whether the kernel killed it for memory. */
interface ContainerExit {
  code: number | null;
  signal: string | null;
  oomKilled: boolean;
}

function describeExit(exit: ContainerExit, api: ApiSpec): string {
  return `exited on start (${exit.oomKilled ? outOfMemory(api) : (exit.signal ?? `code ${exit.code}`)})`;
}

function createFailure(err: unknown, name: string, image: string): Error {
  if (daemonStatus(err) === 409) return new UserError(`a container named ${name} already exists: remove it with \`docker rm -f ${name}\``);
  if (daemonStatus(err) === 404) return new UserError(`the image ${image} is gone (removed while cortex ran?): start cortex again to rebuild it`);
  return new Error(`creating container ${name} failed: ${daemonMessage(err)}`);
}

function startFailure(err: unknown, name: string): Error {
  const message = daemonMessage(err);
  if (/port is already allocated|address already in use/i.test(message))
    return new Error(`container ${name}: the loopback port picked for it was taken meanwhile (${message}); the replica is retried on another port`);
  return new Error(`starting container ${name} failed: ${message}`);
}

/** How long the rest of a container's output may take to arrive after its exit. */
const drainOutputMs = 5_000;
/** How long after a SIGKILL the daemon's "oom" event may still be on its way. */
const oomEventMs = 5_000;

/**
 * The daemon's "oom" events for one container, subscribed to before it starts. Docker sets
 * State.OOMKilled only when containerd reports the OOM before the exit; the two come from
 * different goroutines of the shim, and on a busy machine the exit can win, leaving
 * OOMKilled false for good. The "oom" event is sent either way.
 */
async function oomEvents(docker: Docker, id: string): Promise<{ seen(): boolean; within(ms: number): Promise<boolean>; close(): void }> {
  let seen = false;
  let wake: (() => void) | undefined;
  const events = await docker.getEvents({ filters: { type: ['container'], container: [id], event: ['oom'] } });
  events.on('data', () => {
    seen = true;
    wake?.();
  });
  events.on('error', () => undefined);
  return {
    seen: () => seen,
    within: (ms) =>
      seen
        ? Promise.resolve(true)
        : new Promise<boolean>((resolve) => {
            const timer = setTimeout(() => resolve(seen), ms);
            wake = () => {
              clearTimeout(timer);
              resolve(true);
            };
          }),
    close: () => (events as unknown as { destroy(): void }).destroy(),
  };
}

/**
 * Follows a created container: its output line by line (the last lines kept for errors), and its
 * exit, after which it is removed. Attached and waited on before start, so nothing is missed.
 * A kill for memory looks like any SIGKILL from outside, so it is told as `oomLine`, after the
 * container's own last lines; a SIGKILL waits for the daemon's word on it only while `mayBeOom`.
 */
async function watch(docker: Docker, container: Docker.Container, onLine: LaunchRequest['onLine'], oomLine: string, mayBeOom: () => boolean): Promise<{ tail: string[]; exited: Promise<ContainerExit> }> {
  const tail: string[] = [];
  const oom = await oomEvents(docker, container.id);
  const stream = await container.attach({ stream: true, stdout: true, stderr: true }).catch((err: unknown) => {
    oom.close();
    throw err;
  });
  const out = new PassThrough();
  const err = new PassThrough();
  docker.modem.demuxStream(stream, out, err);
  const finish = () => {
    out.end();
    err.end();
  };
  stream.on('end', finish).on('close', finish).on('error', finish);
  const linesDone = Promise.all(
    ([[out, 'stdout'], [err, 'stderr']] as const).map(
      ([input, name]) =>
        new Promise<void>((resolve) =>
          createInterface({ input })
            .on('line', (line) => {
              tail.push(line);
              if (tail.length > tailLines) tail.shift();
              onLine(line, name);
            })
            .on('close', resolve),
        ),
    ),
  );

  // "next-exit": a container not started yet counts as not running for the default condition.
  const waited = container.wait({ condition: 'next-exit' }) as Promise<{ StatusCode?: number }>;
  const exited = waited
    .then(
      async (result) => {
        // The output normally ends with the exit; the bound is for a stream the daemon never closes.
        // Cleared after, or the process that stops its last replica lives on until it fires.
        let bound: NodeJS.Timeout | undefined;
        await Promise.race([linesDone, new Promise((resolve) => (bound = setTimeout(resolve, drainOutputMs)))]);
        clearTimeout(bound);
        const exit = exitOf(result.StatusCode);
        // The container's state says why, when the daemon saw the OOM first; it goes with the
        // container, so ask before removing it. Otherwise a SIGKILL under a memory limit waits
        // for the daemon's "oom" event, which follows the exit at once when it was one.
        let oomKilled = (await container.inspect().catch(() => undefined))?.State.OOMKilled === true || oom.seen();
        if (!oomKilled && mayBeOom() && exit.signal === 'SIGKILL') oomKilled = await oom.within(oomEventMs);
        if (oomKilled) onLine(oomLine, 'stderr');
        return { ...exit, oomKilled };
      },
      () => ({ ...exitOf(undefined), oomKilled: false }),
    )
    .then(async (exit) => {
      oom.close();
      await removeContainer(container).catch(() => {});
      return exit;
    });
  return { tail, exited };
}

/** A loopback port no one listens on now (the kernel's pick), for Docker to publish on. */
async function freeLoopbackPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * Polls /healthz until it answers, the container exits, or time runs out. Live, not ready: the
 * replica holds no predictor until the dev loop pushes one, so /readyz says 503 until then, and
 * turns 200 exactly when that push is answered (PUT /-/predictor answers after init).
 */
async function untilLive(url: string, exited: Promise<unknown>, timeoutMs: number): Promise<'live' | 'exited' | 'timeout'> {
  let gone = false;
  void exited.then(() => (gone = true));
  const deadline = Date.now() + timeoutMs;
  while (!gone && Date.now() < deadline) {
    try {
      if ((await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1000) })).ok) return 'live';
    } catch {
      // Docker's proxy accepts and drops connections until the runtime listens.
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return gone ? 'exited' : 'timeout';
}

// `cortex serve`: one replica of each api inside this process, all on one port at
// /<deployment>/<api>. No watcher, no autoscaler, no TUI: the plainest way to run the runtime.
import type { FastifyBaseLogger } from 'fastify';
import { removeOrphanedBundleDirs } from '../../runtime/bundle-dir.js';
import { guardProcess } from '../../runtime/crash-guard.js';
import { closeServer, idleGraceMs } from '../../runtime/drain.js';
import { createReplica, type Replica } from '../../runtime/replica.js';
import { createServer } from '../../runtime/server.js';
import { bodyTimeoutFrom, drainTimeoutFrom, replicaDefaults, SettingsError, settingsFromEnv, type ReplicaSettings } from '../../runtime/settings.js';
import { BundleError } from '../../runtime/predictor-slot.js';
import { loadSpec, type ApiSpec, type Spec } from '../spec/index.js';
import { UserError } from '../user-error.js';
import { BuildError, bundleOnce } from './bundler.js';
import { localFetchAddresses, runtimeEnv } from '../backends/runtime-env.js';

export interface ServeOptions {
  dir: string;
  api?: string;
  port: number;
  host: string;
}

export interface Serving {
  url: string;
  endpoints: Array<{ api: ApiSpec; url: string; version: string }>;
  log: FastifyBaseLogger;
  /** How long a stop waits for in-flight requests (CORTEX_DRAIN_TIMEOUT_MS). */
  drainTimeoutMs: number;
  /** Answers what is in flight, then releases every replica. */
  close(): Promise<void>;
}

export function selectApis(spec: Spec, name: string | undefined): ApiSpec[] {
  if (!name) return spec.apis;
  const api = spec.apis.find((a) => a.name === name);
  if (!api) throw new UserError(`${spec.file}: no api named "${name}"; the apis are: ${spec.apis.map((a) => a.name).join(', ')}`);
  return [api];
}

export async function serve(options: ServeOptions): Promise<Serving> {
  const spec = await loadSpec(options.dir);
  const apis = selectApis(spec, options.api);
  // Every setting is checked before anything starts, so a mistake costs no init.
  let drainTimeoutMs: number;
  let bodyTimeoutMs: number;
  let settings: ReplicaSettings[];
  try {
    drainTimeoutMs = drainTimeoutFrom(process.env);
    bodyTimeoutMs = bodyTimeoutFrom(process.env);
    // One replica in this process: it may use every core, whatever compute.cpu says.
    settings = apis.map((api) => ({ ...settingsFromEnv(runtimeEnv(spec, api, { inferenceThreads: replicaDefaults.inferenceThreads })), processMetrics: false }));
  } catch (err) {
    throw explain(err, options);
  }

  // Predictors read their predictor.env from process.env, and every api shares this process;
  // so do the helpers their fetch policy, whichever thread they run in.
  Object.assign(process.env, sharedPredictorEnv(spec, apis), { CORTEX_FETCH_ADDRESSES: localFetchAddresses() });

  const app = createServer({ logFormat: 'text', bodyTimeoutMs });
  guardProcess(app.log);
  void removeOrphanedBundleDirs();
  app.setNotFoundHandler((request, reply) => {
    const paths = apis.map((api) => api.networking.endpoint).join(', ');
    reply.code(404).header('x-request-id', request.id).send({ error: `no api at ${request.method} ${request.url}; the apis are at ${paths}`, request_id: request.id });
  });
  const replicas: Replica[] = [];
  const endpoints: Serving['endpoints'] = [];
  const close = async () => {
    await closeServer(app, idleGraceMs(drainTimeoutMs));
    await Promise.all(replicas.map((r) => r.close()));
  };

  try {
    // Bundling takes milliseconds and finds compile errors before anything listens.
    const bundles = await Promise.all(apis.map((api) => bundleOnce(api.predictor.path)));
    for (const [i, api] of apis.entries()) {
      const replica = createReplica(settings[i]!);
      replicas.push(replica);
      await app.register(replica.plugin, { prefix: api.networking.endpoint });
    }
    // Listening before init, as a replica does: a bad --host or --port is reported at once,
    // not after minutes of model downloads, and the apis answer 503 until they are ready.
    await app.listen({ host: options.host, port: options.port });
    for (const [i, api] of apis.entries()) {
      const loaded = await replicas[i]!.slot.load({ code: bundles[i]!.code, config: api.predictor.config });
      endpoints.push({ api, url: api.networking.endpoint, version: loaded.version });
    }
  } catch (err) {
    await close();
    throw explain(err, options);
  }

  const url = `http://${options.host === '0.0.0.0' ? 'localhost' : options.host}:${(app.server.address() as { port: number }).port}`;
  for (const e of endpoints) e.url = url + e.url;
  return { url, endpoints, log: app.log, drainTimeoutMs, close };
}

/** The union of the apis' predictor.env; one variable cannot hold two apis' different values. */
function sharedPredictorEnv(spec: Spec, apis: ApiSpec[]): Record<string, string> {
  const env: Record<string, string> = {};
  const setBy: Record<string, string> = {};
  for (const api of apis) {
    for (const [name, value] of Object.entries(api.predictor.env)) {
      if (setBy[name] !== undefined && env[name] !== value) {
        throw new UserError(`${spec.file}: apis "${setBy[name]}" and "${api.name}" set predictor.env.${name} to different values, but cortex serve runs all apis in one process; serve them one at a time with --api`);
      }
      env[name] = value;
      setBy[name] = api.name;
    }
  }
  return env;
}

const badHost: Record<string, string> = {
  ENOTFOUND: 'is neither an IP address nor a host name that resolves',
  EAI_AGAIN: 'is neither an IP address nor a host name that resolves',
  EADDRNOTAVAIL: 'is not an address of this machine',
};

/** The user's mistakes, as one line each; anything else stays an error with a stack. */
function explain(err: unknown, options: ServeOptions): unknown {
  if (err instanceof BuildError || err instanceof BundleError || err instanceof SettingsError) return new UserError(err.message);
  const code = (err as NodeJS.ErrnoException).code ?? '';
  if (code === 'EADDRINUSE') return new UserError(`port ${options.port} is already in use; pick another with --port`);
  if (code === 'EACCES') return new UserError(`port ${options.port} needs privileges this user lacks; pick one above 1023 with --port`);
  if (badHost[code]) return new UserError(`--host ${options.host} ${badHost[code]}; use 127.0.0.1 (this machine only) or 0.0.0.0 (every interface)`);
  return err;
}

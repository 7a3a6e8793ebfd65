// The client side of protocol.ts: the calls the dev loop's backends, the metrics collector and
// (later) the in-cluster autoscaler make on one replica. A replica is reached through an
// Endpoint, so the same calls work on a loopback port, a pod IP, or a pod behind the Kubernetes
// API server's proxy (another base path, and the API server's credentials on every request).
// fetch only: this runs in the CLI and in the runtime image alike.
import { adminTokenHeader, isDrainRefusal, paths, type MetricFamily, type PredictorPut, type Readiness, type ReloadAccepted, type ReloadRefused } from './protocol.js';
import { initTimeoutFrom } from './settings.js';

export { isDrainRefusal };

/** Where a replica's runtime answers, as seen from the caller. */
export interface Endpoint {
  /** Base URL that every protocol path is appended to; no trailing slash. */
  url: string;
  /** Sent with every request: e.g. the API server's bearer token for a pod proxy. */
  headers?: Readonly<Record<string, string>>;
  /**
   * How to send the request, where the global fetch cannot: a pod proxy whose API server wants a
   * client certificate (kind's kubeconfig) needs a fetch with its own TLS agent.
   */
  fetch?: typeof fetch;
}

/** A replica on a port this process can reach directly (a child process, a published container port). */
export function endpointAt(url: string): Endpoint {
  return { url: url.replace(/\/$/, '') };
}

/** A pod by its IP, as another pod in the cluster reaches it. */
export function podIpEndpoint(ip: string, port: number): Endpoint {
  return { url: `http://${ip.includes(':') ? `[${ip}]` : ip}:${port}` };
}

/** A pod through the API server's proxy (/api/v1/namespaces/NS/pods/POD:PORT/proxy), so no port-forward is needed. */
export function podProxyEndpoint(o: { server: string; namespace: string; pod: string; port: number | string; headers?: Record<string, string> }): Endpoint {
  const server = o.server.replace(/\/$/, '');
  return { url: `${server}/api/v1/namespaces/${encodeURIComponent(o.namespace)}/pods/${encodeURIComponent(o.pod)}:${o.port}/proxy`, ...(o.headers ? { headers: o.headers } : {}) };
}

/** A bare URL is a replica reached directly. */
export type EndpointLike = Endpoint | string;

export const toEndpoint = (e: EndpointLike): Endpoint => (typeof e === 'string' ? endpointAt(e) : e);

/** fetch() on `path` of the endpoint, with its headers under the caller's. */
export function call(to: EndpointLike, path: string, init: RequestInit = {}): Promise<Response> {
  const endpoint = toEndpoint(to);
  const headers = { ...endpoint.headers, ...(init.headers as Record<string, string> | undefined) };
  return (endpoint.fetch ?? fetch)(`${endpoint.url}${path}`, { ...init, headers });
}

export interface SwapResult {
  ok: boolean;
  version: string;
  error?: string;
  location?: string;
}

/** Past the replica's own init timeout, so that it answers (422) before we give up on it. */
const swapTimeoutMs = () => initTimeoutFrom(process.env) + 30_000;

/** PUT /-/predictor: the replica's answer, as accepted (200) or refused (422, or any other error). */
export async function pushBundle(to: EndpointLike, token: string, bundle: PredictorPut & { version: string }, timeoutMs = swapTimeoutMs()): Promise<SwapResult> {
  const endpoint = toEndpoint(to);
  let body: Partial<ReloadAccepted & ReloadRefused>;
  let res: Response;
  try {
    const put: PredictorPut = { code: bundle.code, config: bundle.config };
    res = await call(endpoint, paths.predictor, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', [adminTokenHeader]: token },
      body: JSON.stringify(put),
      signal: AbortSignal.timeout(timeoutMs),
    });
    body = (await res.json()) as typeof body;
  } catch (err) {
    if ((err as Error).name === 'TimeoutError') throw new Error(`the replica at ${endpoint.url} did not answer the hot swap within ${timeoutMs} ms`);
    throw err;
  }
  if (res.ok) return { ok: true, version: body.version ?? bundle.version };
  // 422 is a refusal with the predictor's own error; anything else (401, 413) says why in `error` too.
  return { ok: false, version: bundle.version, error: body.error ?? `HTTP ${res.status}`, location: body.location ?? undefined };
}

export interface ReadinessCheck {
  ready: boolean;
  /** The version it serves, when ready. */
  version?: string;
  /** Why not, when not. */
  error?: string;
}

/** The replica's own word on whether it serves (GET /readyz). */
export async function readiness(endpoint: EndpointLike): Promise<ReadinessCheck> {
  try {
    const res = await call(endpoint, paths.ready, { signal: AbortSignal.timeout(2000) });
    const body = (await res.json()) as Partial<Readiness> & { error?: string; version?: string };
    return res.ok ? { ready: true, version: body.version } : { ready: false, error: body.error ?? `readyz answered ${res.status}` };
  } catch (err) {
    return { ready: false, error: `readyz did not answer: ${(err as Error).message}` };
  }
}

/** GET /metrics as JSON (the same numbers Prometheus scrapes as text). */
export async function fetchMetrics(endpoint: EndpointLike): Promise<MetricFamily[]> {
  const res = await call(endpoint, paths.metrics, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(2000) });
  if (!res.ok) throw new Error(`metrics: HTTP ${res.status}`);
  return (await res.json()) as MetricFamily[];
}

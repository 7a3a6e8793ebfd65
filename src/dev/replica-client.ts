// HTTP calls from the dev loop to one replica's runtime: the hot swap and metrics.
import { initTimeoutFrom } from '../../runtime/settings.js';
import type { PredictorBundle } from './backend.js';

export interface SwapResult {
  ok: boolean;
  version: string;
  error?: string;
  location?: string;
}

/** Past the replica's own init timeout, so that it answers (422) before we give up on it. */
const swapTimeoutMs = () => initTimeoutFrom(process.env) + 30_000;

export async function pushBundle(url: string, token: string, bundle: PredictorBundle, timeoutMs = swapTimeoutMs()): Promise<SwapResult> {
  let body: { version?: string; error?: string; location?: string | null };
  let res: Response;
  try {
    res = await fetch(`${url}/-/predictor`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ code: bundle.code, config: bundle.config }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    body = (await res.json()) as typeof body;
  } catch (err) {
    if ((err as Error).name === 'TimeoutError') throw new Error(`the replica at ${url} did not answer the hot swap within ${timeoutMs} ms`);
    throw err;
  }
  if (res.ok) return { ok: true, version: body.version ?? bundle.version };
  return { ok: false, version: bundle.version, error: body.error ?? `HTTP ${res.status}`, location: body.location ?? undefined };
}

export interface Readiness {
  ready: boolean;
  /** The version it serves, when ready. */
  version?: string;
  /** Why not, when not. */
  error?: string;
}

/** The replica's own word on whether it serves (GET /readyz). */
export async function readiness(url: string): Promise<Readiness> {
  try {
    const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2000) });
    const body = (await res.json()) as { version?: string; error?: string };
    return res.ok ? { ready: true, version: body.version } : { ready: false, error: body.error ?? `readyz answered ${res.status}` };
  } catch (err) {
    return { ready: false, error: `readyz did not answer: ${(err as Error).message}` };
  }
}

export interface MetricValue {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
}

export interface MetricFamily {
  name: string;
  type: string;
  values: MetricValue[];
}

export async function fetchMetrics(url: string): Promise<MetricFamily[]> {
  const res = await fetch(`${url}/metrics`, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(2000) });
  if (!res.ok) throw new Error(`metrics: HTTP ${res.status}`);
  return (await res.json()) as MetricFamily[];
}

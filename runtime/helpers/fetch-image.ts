// Fetching an image a client named by URL. Everything that can go wrong here is the client's
// doing (a bad URL, an unreachable host, a page that is not an image), so it becomes a 4xx.
import type { FetchImageOptions } from '../contract.js';
import { HttpError } from '../http-error.js';

export const fetchImageDefaults = { maxBytes: 16 * 1024 * 1024, timeoutMs: 10_000 } satisfies Required<FetchImageOptions>;

export async function fetchImage(url: string, options: FetchImageOptions = {}): Promise<Buffer> {
  const { maxBytes, timeoutMs } = { ...fetchImageDefaults, ...options };
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new HttpError(400, `"url" is not a valid URL: ${JSON.stringify(String(url).slice(0, 200))}`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new HttpError(400, `"url" must be http or https, got ${parsed.protocol.replace(/:$/, '')}`);
  }

  const signal = AbortSignal.timeout(timeoutMs);
  let res: Response;
  try {
    res = await fetch(parsed, { signal, redirect: 'follow' });
  } catch (err) {
    throw new HttpError(400, `could not fetch ${parsed.href}: ${describeFailure(err, timeoutMs)}${containerHint(parsed)}`);
  }
  if (!res.ok) {
    await res.body?.cancel();
    throw new HttpError(400, `could not fetch ${parsed.href}: the server answered ${res.status}`);
  }
  const type = res.headers.get('content-type')?.split(';')[0]?.trim().toLowerCase();
  if (type && !type.startsWith('image/') && type !== 'application/octet-stream' && type !== 'binary/octet-stream') {
    await res.body?.cancel();
    throw new HttpError(422, `${parsed.href} is not an image (content-type ${type})`);
  }
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (declared > maxBytes) {
    await res.body?.cancel();
    throw new HttpError(413, `${parsed.href} is ${declared} bytes; the limit is ${maxBytes}`);
  }

  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for await (const chunk of res.body ?? []) {
      total += chunk.byteLength;
      if (total > maxBytes) throw new HttpError(413, `${parsed.href} is larger than the limit of ${maxBytes} bytes`);
      chunks.push(chunk);
    }
  } catch (err) {
    if (err instanceof HttpError) throw err;
    throw new HttpError(400, `could not fetch ${parsed.href}: ${describeFailure(err, timeoutMs)}`);
  }
  return Buffer.concat(chunks);
}

/**
 * In a container, localhost is the container: a photo served on the developer's machine is
 * out of reach by that name. The backend that starts containers says what the machine is
 * called from inside (CORTEX_HOST_GATEWAY); the error passes that on.
 */
function containerHint(url: URL): string {
  const gateway = process.env.CORTEX_HOST_GATEWAY;
  if (!gateway || !/^(localhost|127\.\d+\.\d+\.\d+|\[::1\]|0\.0\.0\.0)$/.test(url.hostname)) return '';
  const there = new URL(url.href);
  there.hostname = gateway;
  return `; inside a container localhost is the container itself: use ${there.href} with the server listening on 0.0.0.0 (not 127.0.0.1), or run cortex dev --backend process`;
}

const networkErrors: Record<string, string> = {
  ENOTFOUND: 'host not found',
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  EHOSTUNREACH: 'host unreachable',
};

function describeFailure(err: unknown, timeoutMs: number): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return `timed out after ${timeoutMs} ms`;
  const code = e.cause?.code;
  if (code) return networkErrors[code] ? `${networkErrors[code]} (${code})` : code;
  return e.cause?.message ?? e.message ?? String(err);
}

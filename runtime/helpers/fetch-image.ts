// Fetching an image a client named by URL. Everything that can go wrong here is the client's
// doing (a bad URL, an unreachable host, a page that is not an image), so it becomes a 4xx.
//
// The URL comes from a client, so the address it reaches follows the fetch policy
// (CORTEX_FETCH_ADDRESSES): the check is made on the address each hop resolves to, and that
// very address is the one connected to (a custom lookup), so a name that resolves once to a
// public address and then to a private one gains nothing. Redirects are followed here, hop by
// hop, each one checked the same way.
//
// Connections are kept alive and reused (a fresh TCP connection per image cost more CPU than
// reading the image): a pooled socket was connected to an address checked when it was made, and
// each policy has pools of its own, so a socket made under `any` never serves a fetch under
// `public`.
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import type { FetchImageOptions } from '../contract.js';
import { HttpError } from '../http-error.js';
import { fetchPolicyFrom, hostGatewayFrom, type FetchPolicy } from '../settings.js';
import { allowed, isPublic } from './address-policy.js';

export const fetchImageDefaults = { maxBytes: 16 * 1024 * 1024, timeoutMs: 10_000 } satisfies Required<FetchImageOptions>;

const maxRedirects = 5;

/** Refused by the policy before any connection: nothing about the target is learnt. */
class PolicyRefusal extends Error {}

export async function fetchImage(url: string, options: FetchImageOptions = {}): Promise<Buffer> {
  const { maxBytes, timeoutMs } = { ...fetchImageDefaults, ...options };
  // Read on every call: cheap next to a fetch, and whatever thread the predictor runs in.
  const policy = fetchPolicyFrom(process.env);
  let target = parse(String(url));
  const signal = AbortSignal.timeout(timeoutMs);

  for (let hop = 0; ; hop++) {
    const reached: { address?: string } = {};
    let res: IncomingMessage;
    try {
      res = await get(target, policy, signal, reached);
    } catch (err) {
      throw new HttpError(400, `could not fetch ${shown(target)}: ${explain(err, timeoutMs, policy, reached.address)}${containerHint(target, err)}`);
    }
    const location = res.headers.location;
    if (res.statusCode! >= 300 && res.statusCode! < 400 && location) {
      res.destroy();
      if (hop === maxRedirects) throw new HttpError(400, `could not fetch ${shown(target)}: more than ${maxRedirects} redirects`);
      target = parse(location, target);
      continue;
    }
    const opaque = hidesDetail(policy, reached.address);
    if (res.statusCode! < 200 || res.statusCode! >= 300) {
      res.destroy();
      throw new HttpError(400, `could not fetch ${shown(target)}: ${opaque ? opaqueFailure : `the server answered ${res.statusCode}`}`);
    }
    return await readImage(res, target, { maxBytes, timeoutMs, opaque, signal });
  }
}

function parse(raw: string, base?: URL): URL {
  let parsed: URL;
  try {
    parsed = new URL(raw, base);
  } catch {
    throw new HttpError(400, `"url" is not a valid URL: ${JSON.stringify(raw.slice(0, 200))}${raw.length > 200 ? '…' : ''}`);
  }
  const where = base ? `${shown(base)} redirected to a URL that` : '"url"';
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new HttpError(400, `${where} must be http or https, got ${parsed.protocol.replace(/:$/, '').slice(0, 20)}`);
  }
  // Sent on, credentials would go wherever a redirect points; echoed, they would be in logs.
  if (parsed.username || parsed.password) throw new HttpError(400, `${where} carries credentials (user:password@); fetch a URL that needs none`);
  return parsed;
}

/** The URL as errors show it: no query string (tokens live there), and never megabytes of it. */
export function shown(url: URL): string {
  const text = url.origin + url.pathname;
  const cut = text.length > 200 || url.search !== '';
  return cut ? `${text.slice(0, 200)}…` : text;
}

// Idle sockets are closed before common servers close theirs (Node's 5 s, nginx's 75 s), so a
// reuse rarely meets a connection the server is closing; one that does is retried once (below).
const idleSocketMs = 4000;
const pools = new Map<string, { http: HttpAgent; https: HttpsAgent }>();

function poolFor(policy: FetchPolicy): { http: HttpAgent; https: HttpsAgent } {
  const key = `${policy.addresses} ${policy.allow.rules.join(',')}`;
  let pool = pools.get(key);
  if (!pool) {
    const options = { keepAlive: true, timeout: idleSocketMs, scheduling: 'lifo' as const };
    pool = { http: new HttpAgent(options), https: new HttpsAgent(options) };
    pools.set(key, pool);
  }
  return pool;
}

async function get(url: URL, policy: FetchPolicy, signal: AbortSignal, reached: { address?: string }): Promise<IncomingMessage> {
  try {
    return await getOnce(url, policy, signal, reached);
  } catch (err) {
    // The server closed a pooled connection as it was reused: the request never reached it.
    if ((err as { reusedSocket?: boolean }).reusedSocket && (err as NodeJS.ErrnoException).code === 'ECONNRESET') return getOnce(url, policy, signal, reached);
    throw err;
  }
}

function getOnce(url: URL, policy: FetchPolicy, signal: AbortSignal, reached: { address?: string }): Promise<IncomingMessage> {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  // A literal address is never looked up, so it is checked here.
  if (isIP(host)) {
    if (!allowed(policy, host)) return Promise.reject(new PolicyRefusal(host));
    reached.address = host;
  }
  const lookup: LookupFunction = (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
      if (err) return callback(err, '', 0);
      const usable = addresses.filter((a) => allowed(policy, a.address));
      if (usable.length === 0) return callback(new PolicyRefusal(addresses[0]?.address ?? hostname), '', 0);
      reached.address = usable[0]!.address;
      if (options.all) (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, usable);
      else callback(null, usable[0]!.address, usable[0]!.family);
    });
  };
  const https = url.protocol === 'https:';
  const pool = poolFor(policy);
  return new Promise((resolve, reject) => {
    const options = { lookup, signal, headers: { accept: 'image/*', 'user-agent': 'cortex-runtime' } };
    const req: ClientRequest = https ? httpsRequest(url, { ...options, agent: pool.https }, resolve) : httpRequest(url, { ...options, agent: pool.http }, resolve);
    // A reused socket skips the lookup: the address it was connected to is the one checked then.
    req.once('socket', (socket) => (reached.address ??= socket.remoteAddress));
    req.on('error', (err) => reject(Object.assign(err, { reusedSocket: req.reusedSocket })));
    req.end();
  });
}

async function readImage(res: IncomingMessage, url: URL, o: { maxBytes: number; timeoutMs: number; opaque: boolean; signal: AbortSignal }): Promise<Buffer> {
  const type = res.headers['content-type']?.split(';')[0]?.trim().toLowerCase();
  if (type && !type.startsWith('image/') && type !== 'application/octet-stream' && type !== 'binary/octet-stream') {
    res.destroy();
    throw new HttpError(422, `${shown(url)} is not an image (content-type ${type.slice(0, 100)})`);
  }
  const declared = Number(res.headers['content-length'] ?? NaN);
  if (declared > o.maxBytes) {
    res.destroy();
    throw new HttpError(413, `${shown(url)} is ${declared} bytes; the limit is ${o.maxBytes}`);
  }
  const aborted = () => res.destroy(o.signal.reason as Error);
  o.signal.addEventListener('abort', aborted, { once: true });
  try {
    return await new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      let total = 0;
      res.on('data', (chunk: Buffer) => {
        total += chunk.byteLength;
        if (total > o.maxBytes) {
          reject(new HttpError(413, `${shown(url)} is larger than the limit of ${o.maxBytes} bytes`));
          res.destroy();
        } else chunks.push(chunk);
      });
      const failed = (err: unknown) => reject(new HttpError(400, `could not fetch ${shown(url)}: ${o.opaque ? opaqueFailure : describeFailure(err, o.timeoutMs)}`));
      res.once('end', () => resolve(Buffer.concat(chunks, total)));
      res.once('error', failed);
      // Closed before its end without an error (the server went away mid-body): never a hang.
      res.once('close', () => res.complete || failed(o.signal.reason ?? new Error('connection closed')));
    });
  } finally {
    o.signal.removeEventListener('abort', aborted);
  }
}

// Under `public`, a private address is reached only through CORTEX_FETCH_ALLOW; what went wrong
// there is not told, or the replica would answer which ports of that network are open.
const opaqueFailure = 'the host is not public, so why is not told (see CORTEX_FETCH_ALLOW)';

function hidesDetail(policy: FetchPolicy, address: string | undefined): boolean {
  return policy.addresses === 'public' && (address === undefined || !isPublic(address));
}

function explain(err: unknown, timeoutMs: number, policy: FetchPolicy, address: string | undefined): string {
  if (err instanceof PolicyRefusal) {
    return `${err.message} is not a public address, and this replica fetches only public ones (CORTEX_FETCH_ADDRESSES=public; CORTEX_FETCH_ALLOW lists exceptions)`;
  }
  if (address !== undefined && hidesDetail(policy, address)) return opaqueFailure;
  return describeFailure(err, timeoutMs);
}

/**
 * In a container, localhost is the container: a photo served on the developer's machine is
 * out of reach by that name. The backend that starts containers says what the machine is
 * called from inside (CORTEX_HOST_GATEWAY); the error passes that on.
 */
function containerHint(url: URL, err: unknown): string {
  const gateway = hostGatewayFrom(process.env);
  if (err instanceof PolicyRefusal || !gateway || !/^(localhost|127\.\d+\.\d+\.\d+|\[::1\]|0\.0\.0\.0)$/.test(url.hostname)) return '';
  const there = new URL(url.href);
  there.hostname = gateway;
  return `; inside a container localhost is the container itself: use ${shown(there)} with the server listening on 0.0.0.0 (not 127.0.0.1), or run cortex dev --backend process`;
}

const networkErrors: Record<string, string> = {
  ENOTFOUND: 'host not found',
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  EHOSTUNREACH: 'host unreachable',
};

function describeFailure(err: unknown, timeoutMs: number): string {
  const e = err as { name?: string; code?: string; message?: string };
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return `timed out after ${timeoutMs} ms`;
  if (e.code) return networkErrors[e.code] ? `${networkErrors[e.code]} (${e.code})` : e.code;
  return e.message ?? String(err);
}

// fetchImage follows the fetch policy on the address every hop resolves to. Only loopback
// servers are used: under `public` every spelling of loopback must be refused before any
// connection, under `any` (cortex dev and serve) fetched; other addresses are checked without
// traffic, by the policy's own function.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import test from 'ava';
import { isPublic } from '../runtime/helpers/address-policy.js';
import { fetchImage } from '../runtime/helpers/fetch-image.js';
import { HttpError } from '../runtime/http-error.js';
import { fetchPolicyFrom, SettingsError } from '../runtime/settings.js';
import { runtimeEnv } from '../src/backends/runtime-env.js';
import { loadSpec } from '../src/spec/index.js';
import { closedPort } from './helpers/http.js';
import { exampleDir } from './helpers/shared.js';

const png = Buffer.from('89504e470d0a1a0a', 'hex');

interface Loopback {
  port: number;
  hits: string[];
  /** TCP connections accepted. */
  connections(): number;
  close(): Promise<void>;
}

/** Serves /image.png, /missing (404), /hang (never answers) and /to?url (a redirect). */
async function loopback(host: '127.0.0.1' | '::1'): Promise<Loopback> {
  const hits: string[] = [];
  const server: Server = createServer((req, res) => {
    hits.push(req.url ?? '');
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/image.png') return res.writeHead(200, { 'content-type': 'image/png' }).end(png);
    if (url.pathname === '/to') return res.writeHead(302, { location: url.searchParams.get('url')! }).end();
    if (url.pathname === '/loop') return res.writeHead(302, { location: '/loop' }).end();
    if (url.pathname === '/hang') return;
    res.writeHead(404).end();
  });
  let connections = 0;
  server.on('connection', () => connections++);
  await new Promise<void>((r) => server.listen(0, host, r));
  return { port: (server.address() as AddressInfo).port, hits, connections: () => connections, close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

let v4: Loopback;
let v6: Loopback;
test.before(async () => {
  [v4, v6] = await Promise.all([loopback('127.0.0.1'), loopback('::1')]);
});
test.after.always(async () => {
  await v4?.close();
  await v6?.close();
});

const spellings = () => [
  `http://127.0.0.1:${v4.port}/image.png`,
  `http://127.1:${v4.port}/image.png`,
  `http://2130706433:${v4.port}/image.png`,
  `http://0x7f000001:${v4.port}/image.png`,
  `http://0177.0.0.1:${v4.port}/image.png`,
  `http://[::ffff:127.0.0.1]:${v4.port}/image.png`,
  `http://[::1]:${v6.port}/image.png`,
  `http://localhost:${v4.port}/image.png`,
];

function withEnv(env: Record<string, string>): () => void {
  const names = ['CORTEX_FETCH_ADDRESSES', 'CORTEX_FETCH_ALLOW'];
  const saved = names.map((n) => process.env[n]);
  for (const n of names) delete process.env[n];
  Object.assign(process.env, env);
  return () => names.forEach((n, i) => (saved[i] === undefined ? delete process.env[n] : (process.env[n] = saved[i])));
}

async function failure(url: string): Promise<HttpError> {
  try {
    await fetchImage(url, { timeoutMs: 500 });
  } catch (err) {
    if (err instanceof HttpError) return err;
    throw err;
  }
  throw new Error(`${url} was fetched`);
}

test.serial('unset, the policy is public: every spelling of loopback is refused before a connection is made', async (t) => {
  t.teardown(withEnv({}));
  const before = v4.hits.length + v6.hits.length;
  // 127.0.0.2 is loopback too, though nothing listens there.
  for (const url of [...spellings(), `http://127.0.0.2:${v4.port}/image.png`]) {
    const err = await failure(url);
    t.is(err.status, 400);
    t.regex(err.message, /: (127\.0\.0\.[12]|::1|::ffff:7f00:1) is not a public address, and this replica fetches only public ones \(CORTEX_FETCH_ADDRESSES=public/, url);
  }
  t.is(v4.hits.length + v6.hits.length, before, 'no request reached a loopback server');
});

test.serial('under any, as in cortex dev and serve, every spelling is fetched', async (t) => {
  t.teardown(withEnv({ CORTEX_FETCH_ADDRESSES: 'any' }));
  for (const url of spellings()) t.deepEqual(await fetchImage(url), png, url);
});

test.serial('a redirect is checked where it lands: from an allowed address to a refused one is refused', async (t) => {
  t.teardown(withEnv({ CORTEX_FETCH_ALLOW: '127.0.0.1' }));
  t.deepEqual(await fetchImage(`http://127.0.0.1:${v4.port}/image.png`), png, 'the allow-listed address is fetched');
  const hitsOn6 = v6.hits.length;
  for (const target of [`http://[::1]:${v6.port}/image.png`, `http://127.0.0.2:${v4.port}/image.png`, `http://0x7f000002:${v4.port}/image.png`]) {
    const err = await failure(`http://127.0.0.1:${v4.port}/to?url=${encodeURIComponent(target)}`);
    t.regex(err.message, /is not a public address/, target);
  }
  t.is(v6.hits.length, hitsOn6);
});

test.serial('redirects are followed, at most five', async (t) => {
  t.teardown(withEnv({ CORTEX_FETCH_ADDRESSES: 'any' }));
  t.deepEqual(await fetchImage(`http://127.0.0.1:${v4.port}/to?url=${encodeURIComponent(`http://[::1]:${v6.port}/image.png`)}`), png);
  t.regex((await failure(`http://127.0.0.1:${v4.port}/loop`)).message, /: more than 5 redirects$/);
});

test.serial('under public, what happened at an allowed private address is not told: no port-scan oracle', async (t) => {
  t.teardown(withEnv({ CORTEX_FETCH_ALLOW: '127.0.0.0/8' }));
  const closed = await closedPort();
  const messages = await Promise.all(
    [`http://127.0.0.1:${closed}/x`, `http://127.0.0.1:${v4.port}/missing`, `http://127.0.0.1:${v4.port}/hang`].map(async (u) => (await failure(u)).message.replace(/127\.0\.0\.1:\d+\/\w+/, 'URL')),
  );
  t.deepEqual(messages, Array(3).fill('could not fetch http://URL: the host is not public, so why is not told (see CORTEX_FETCH_ALLOW)'));
});

test.serial('under any, the errors say what happened', async (t) => {
  t.teardown(withEnv({ CORTEX_FETCH_ADDRESSES: 'any' }));
  const closed = await closedPort();
  t.is((await failure(`http://127.0.0.1:${closed}/x`)).message, `could not fetch http://127.0.0.1:${closed}/x: connection refused (ECONNREFUSED)`);
  t.is((await failure(`http://127.0.0.1:${v4.port}/missing`)).message, `could not fetch http://127.0.0.1:${v4.port}/missing: the server answered 404`);
  t.is((await failure(`http://127.0.0.1:${v4.port}/hang`)).message, `could not fetch http://127.0.0.1:${v4.port}/hang: timed out after 500 ms`);
});

test.serial('errors echo neither credentials, nor query strings, nor megabytes of URL', async (t) => {
  t.teardown(withEnv({ CORTEX_FETCH_ADDRESSES: 'any' }));
  const withUser = await failure(`http://alice:s3cret@127.0.0.1:${v4.port}/image.png`);
  t.is(withUser.message, '"url" carries credentials (user:password@); fetch a URL that needs none');
  const withToken = await failure(`http://127.0.0.1:${v4.port}/missing?token=s3cret`);
  t.is(withToken.message, `could not fetch http://127.0.0.1:${v4.port}/missing…: the server answered 404`);
  const long = await failure(`http://127.0.0.1:${v4.port}/${'a'.repeat(1024 * 1024)}`);
  t.true(long.message.length < 300, `${long.message.length} characters`);
  const notUrl = await failure('b'.repeat(1024 * 1024));
  t.true(notUrl.message.length < 300, `${notUrl.message.length} characters`);
});

test.serial('connections are reused, each policy on its own: a socket made under any never serves a fetch under public', async (t) => {
  const fresh = await loopback('127.0.0.1');
  t.teardown(() => fresh.close());
  const restore = withEnv({ CORTEX_FETCH_ADDRESSES: 'any' });
  for (let i = 0; i < 5; i++) t.deepEqual(await fetchImage(`http://localhost:${fresh.port}/image.png`), png);
  t.is(fresh.connections(), 1, 'five fetches in a row, one connection');
  restore();
  // The same name and port under public, with the pooled socket to loopback still open.
  t.teardown(withEnv({}));
  t.regex((await failure(`http://localhost:${fresh.port}/image.png`)).message, /127\.0\.0\.1 is not a public address/);
  t.is(fresh.hits.length, 5, 'nothing more reached the loopback server');
  t.is(fresh.connections(), 1);
});

test.serial('a pooled connection the server closes as it is reused is retried on a new one', async (t) => {
  t.teardown(withEnv({ CORTEX_FETCH_ADDRESSES: 'any' }));
  // A server that closes each idle keep-alive connection just as the client's next request on
  // it arrives: that request is reset unanswered, as it is when the two cross on the wire.
  const served = new WeakSet<object>();
  const server = createServer((req, res) => {
    if (served.has(req.socket)) return req.socket.resetAndDestroy();
    served.add(req.socket);
    res.writeHead(200, { 'content-type': 'image/png' }).end(png);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/image.png`;
  for (let i = 0; i < 4; i++) t.deepEqual(await fetchImage(url), png, `fetch ${i + 1}`);
});

test('non-public addresses, however spelled, are refused under public; public ones are not', (t) => {
  const refused = ['169.254.169.254', 'fd00:ec2::254', '::ffff:169.254.169.254', '::ffff:a9fe:a9fe', '64:ff9b::a9fe:a9fe', '2002:a9fe:a9fe::1', '::a9fe:a9fe',
    '10.1.2.3', '172.16.0.1', '192.168.1.1', '100.64.0.1', '100.100.100.200', '127.0.0.1', '0.0.0.0', '::', '::1', 'fc00::1', 'fe80::1', 'fe80::1%eth0', 'ff02::1', '224.0.0.1', '255.255.255.255'];
  const fetched = ['8.8.8.8', '1.1.1.1', '2606:4700:4700::1111', '::ffff:8.8.8.8', '172.32.0.1', '100.128.0.1'];
  for (const a of refused) t.false(isPublic(a), a);
  for (const a of fetched) t.true(isPublic(a), a);
});

test('the policy is a runtime setting; cortex dev and serve pass any unless told otherwise', async (t) => {
  t.is(fetchPolicyFrom({}).addresses, 'public');
  t.throws(() => fetchPolicyFrom({ CORTEX_FETCH_ADDRESSES: 'all' }), { instanceOf: SettingsError, message: 'CORTEX_FETCH_ADDRESSES must be "public" or "any", got "all"' });
  t.throws(() => fetchPolicyFrom({ CORTEX_FETCH_ALLOW: '10.0.0.0/33' }), { instanceOf: SettingsError, message: /CORTEX_FETCH_ALLOW must be comma-separated IP addresses or CIDR ranges .*got "10\.0\.0\.0\/33"/ });
  t.true(fetchPolicyFrom({ CORTEX_FETCH_ALLOW: '10.0.0.0/8, fd00::/8' }).allow.check('10.9.9.9', 'ipv4'));
  const spec = await loadSpec(exampleDir);
  t.is(runtimeEnv(spec, spec.apis[0]!, {}, {}).CORTEX_FETCH_ADDRESSES, 'any');
  t.is(runtimeEnv(spec, spec.apis[0]!, {}, { CORTEX_FETCH_ADDRESSES: 'public' }).CORTEX_FETCH_ADDRESSES, 'public');
});

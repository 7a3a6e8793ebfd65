// Clients that never finish sending cannot lock a replica: a request counts against
// max_replica_concurrency only once its body is in, and one that has not arrived within
// CORTEX_BODY_TIMEOUT_MS is answered 408 and its connection closed. One that sends too much
// reads its 413. A real process: the races these cover depend on it.
import { join } from 'node:path';
import test from 'ava';
import { post } from './helpers/http.js';
import { sendRaw, stalledRequests } from './helpers/raw.js';
import { startRuntime, waitReady, type RuntimeProcess } from './helpers/runtime-process.js';
import { fixtures } from './helpers/shared.js';

const behaviour = join(fixtures, 'predictors/behaviour.ts');
const timeoutMs = 3000;
const maxConcurrency = 20;
let rt: RuntimeProcess;

test.before(async () => {
  rt = await startRuntime(behaviour, { label: 'slow' }, { CORTEX_BODY_TIMEOUT_MS: String(timeoutMs), CORTEX_MAX_CONCURRENCY: String(maxConcurrency), CORTEX_BODY_LIMIT: '65536' });
  await waitReady(rt.url);
});
test.after.always(() => rt?.child.kill('SIGKILL'));

test.serial('requests that never finish arriving hold no admission slot and are answered 408 after CORTEX_BODY_TIMEOUT_MS', async (t) => {
  const kinds = Object.entries(stalledRequests('/'));
  // Each kind alone outnumbers max_replica_concurrency.
  const hangers = kinds.flatMap(([kind, request]) => Array.from({ length: maxConcurrency + 5 }, () => ({ kind, ...sendRaw(rt.url, request, timeoutMs + 8000) })));
  await Promise.all(hangers.map((h) => h.written));
  await new Promise((r) => setTimeout(r, 500));

  const since = performance.now();
  const res = await post(`${rt.url}/`, { a: 1 });
  t.is(res.status, 200, JSON.stringify(res.body));
  t.like(res.body, { label: 'slow' });
  t.log(`a prediction beside ${hangers.length} stalled requests: ${res.status} in ${Math.round(performance.now() - since)} ms`);
  t.regex(await (await fetch(`${rt.url}/metrics`)).text(), /\ncortex_in_flight_requests 0\n/);

  const replies = await Promise.all(hangers.map(async (h) => ({ kind: h.kind, ...(await h.reply) })));
  for (const { kind, status, headers, body, ms } of replies) {
    t.is(status, 408, kind);
    t.regex(headers, /\r\nconnection: close$/im, kind);
    const { error, request_id } = body as { error: string; request_id: string };
    t.is(error, `the request did not arrive within ${timeoutMs} ms (CORTEX_BODY_TIMEOUT_MS); send its headers and body without pausing`, kind);
    t.regex(request_id, /^[\w-]{36}$/, kind);
    // The server's clock starts after ours; its check runs every tenth of the timeout, late on
    // a busy machine: the bound says answered, not hung.
    t.true(ms >= timeoutMs - 20 && ms < timeoutMs + 5000, `${kind}: answered after ${Math.round(ms)} ms`);
  }
  t.log(`408 after ${Math.round(Math.min(...replies.map((r) => r.ms)))}–${Math.round(Math.max(...replies.map((r) => r.ms)))} ms`);
  t.is((await post(`${rt.url}/`, { a: 2 })).status, 200);
});

test.serial('a body that arrives slowly but within the timeout is answered as usual', async (t) => {
  const body = '{"slowly":true}';
  const { reply } = sendRaw(rt.url, { head: `POST / HTTP/1.1\r\nHost: cortex\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`, drip: body, gapMs: 50 }, timeoutMs);
  const { status, body: answer } = await reply;
  t.is(status, 200);
  t.like(answer, { sample: { slowly: true } });
});

test.serial('the 408 carries the request id the client sent', async (t) => {
  const { reply } = sendRaw(rt.url, { head: 'POST / HTTP/1.1\r\nHost: cortex\r\nX-Request-Id: slow-client-7\r\nContent-Type: application/json\r\nContent-Length: 10\r\n\r\n{' }, timeoutMs + 5000);
  const { status, headers, body } = await reply;
  t.is(status, 408);
  t.regex(headers, /^x-request-id: slow-client-7\r?$/m);
  t.like(body, { request_id: 'slow-client-7' });
});

test.serial('a body far over the limit is a 413 the client reads while it is still sending, not a reset', async (t) => {
  const bytes = Buffer.alloc(32 * 1024 * 1024, 0x20);
  for (let i = 0; i < 5; i++) {
    const res = await fetch(`${rt.url}/`, { method: 'POST', body: bytes, headers: { 'content-type': 'application/octet-stream' } });
    t.is(res.status, 413);
    t.regex(((await res.json()) as { error: string }).error, /larger than the limit of 65536 bytes/);
  }
  t.is((await post(`${rt.url}/`, { after: 'big' })).status, 200);
});

test.serial('a bad CORTEX_BODY_TIMEOUT_MS stops the runtime with one clear line', async (t) => {
  const err = await t.throwsAsync(startRuntime(behaviour, {}, { CORTEX_BODY_TIMEOUT_MS: '0' }));
  t.regex(err!.message, /cortex runtime: CORTEX_BODY_TIMEOUT_MS must be an integer ≥ 1, got "0"/);
});

// Every way a request can go wrong gets its status and a JSON {"error"} body, and the replica
// keeps serving afterwards.
import { join } from 'node:path';
import test from 'ava';
import Fastify from 'fastify';
import { HttpError } from '../runtime/http-error.js';
import errors from '../runtime/plugins/errors.js';
import { post } from './helpers/http.js';
import { startReplica, type TestReplica } from './helpers/replica.js';
import { fixtures } from './helpers/shared.js';

const behaviour = join(fixtures, 'predictors/behaviour.ts');
let replica: TestReplica;

test.before(async () => {
  // The default prediction timeout: ordinary predictions must not turn into 504s on a busy
  // machine; the timeout's own tests use replicas of their own with short ones.
  replica = await startReplica(behaviour, { label: 'v1' }, { bodyLimit: 64 * 1024 });
});
test.after.always(() => replica?.close());

const errorOf = (body: unknown) => (body as { error: string }).error;

test.afterEach(async (t) => {
  // Whatever the test sent, the replica is still healthy and still predicts.
  t.is((await fetch(`${replica.url}/healthz`)).status, 200);
  t.like((await post(`${replica.url}/`, { ok: 1 })).body, { label: 'v1' });
});

test('JSON in, JSON out, with the request id', async (t) => {
  const res = await post(`${replica.url}/`, { a: 1 }, 'application/json', { 'x-request-id': 'req-123' });
  t.is(res.status, 200);
  t.deepEqual(res.body, { label: 'v1', requestId: 'req-123', sample: { a: 1 } });
  t.is(res.headers.get('x-request-id'), 'req-123');
});

test('text/plain arrives as a string', async (t) => {
  const res = await post(`${replica.url}/`, 'hello', 'text/plain');
  t.is(res.body, 'HELLO');
  t.regex(res.headers.get('content-type') ?? '', /application\/json/);
});

test('a Buffer reply goes back as octet-stream bytes', async (t) => {
  const res = await fetch(`${replica.url}/`, { method: 'POST', body: Buffer.from([1, 2, 3]), headers: { 'content-type': 'image/png' } });
  t.is(res.headers.get('content-type'), 'application/octet-stream');
  t.deepEqual([...new Uint8Array(await res.arrayBuffer())], [1, 2, 3]);
});

for (const type of ['image/jpeg; charset=binary', 'application/octet-stream; x=1', 'IMAGE/PNG']) {
  test(`bytes sent as "${type}" arrive as a Buffer`, async (t) => {
    const res = await fetch(`${replica.url}/`, { method: 'POST', body: Buffer.from([7, 8]), headers: { 'content-type': type } });
    t.is(res.status, 200);
    t.deepEqual([...new Uint8Array(await res.arrayBuffer())], [7, 8]);
  });
}

test('JSON and text with parameters are parsed as before', async (t) => {
  t.like((await post(`${replica.url}/`, { a: 1 }, 'application/json; charset=utf-8')).body, { sample: { a: 1 } });
  t.is((await post(`${replica.url}/`, 'hi', 'text/plain; charset=utf-8')).body, 'HI');
});

test('a type that merely starts like an accepted one is still a 415', async (t) => {
  t.is((await post(`${replica.url}/`, 'x', 'application/octet-streamy')).status, 415);
});

test('malformed JSON is a 400', async (t) => {
  const res = await post(`${replica.url}/`, '{"url": ', 'application/json');
  t.is(res.status, 400);
  t.truthy(errorOf(res.body));
  t.truthy((res.body as { request_id: string }).request_id);
});

test('an empty body is a 400', async (t) => {
  const res = await post(`${replica.url}/`, '', 'application/json');
  t.is(res.status, 400);
  t.truthy(errorOf(res.body));
  const none = await fetch(`${replica.url}/`, { method: 'POST' });
  t.is(none.status, 400);
  t.regex(errorOf(await none.json()), /^the request has no body/);
});

test('a JSON null is a body: the predictor gets null', async (t) => {
  const res = await post(`${replica.url}/`, 'null', 'application/json');
  t.is(res.status, 200);
  t.deepEqual(res.body, { label: 'v1', requestId: res.headers.get('x-request-id'), sample: null });
});

test('a client\'s X-Request-Id is kept only when it is at most 128 plain characters; otherwise one is made', async (t) => {
  for (const id of ['a', 'req.1:2_3-x', 'x'.repeat(128)]) {
    const res = await post(`${replica.url}/`, {}, 'application/json', { 'x-request-id': id });
    t.is(res.headers.get('x-request-id'), id);
    t.like(res.body, { requestId: id });
  }
  for (const id of ['x'.repeat(129), 'two words', 'a/b', 'é', '<script>', '']) {
    const res = await post(`${replica.url}/`, {}, 'application/json', { 'x-request-id': id });
    const made = res.headers.get('x-request-id') ?? '';
    t.regex(made, /^[0-9a-f-]{36}$/, JSON.stringify(id));
    t.like(res.body, { requestId: made });
  }
});

test('a body over the limit is a 413 that names the limit', async (t) => {
  const res = await post(`${replica.url}/`, Buffer.alloc(65 * 1024), 'image/jpeg');
  t.is(res.status, 413);
  t.regex(errorOf(res.body), /larger than the limit of 65536 bytes/);
});

test('an unsupported content type is a 415 that lists what is accepted', async (t) => {
  const res = await post(`${replica.url}/`, '<a/>', 'application/xml');
  t.is(res.status, 415);
  t.regex(errorOf(res.body), /application\/json, text\/plain, image\/\*/);
});

test('a predictor that throws is a 500 with the message and a request id', async (t) => {
  const res = await post(`${replica.url}/`, { throw: true });
  t.is(res.status, 500);
  t.regex(errorOf(res.body), /predict failed: predictor blew up \(at .*behaviour\.ts:\d+:\d+\)/);
  t.is((res.body as { request_id: string }).request_id, res.headers.get('x-request-id') ?? 'no x-request-id header');
});

test('a predictor that passes imageToTensor a bad option gets a 500 naming it, not the client’s 422', async (t) => {
  const res = await post(`${replica.url}/`, { tensorOptions: { size: 0 } });
  t.is(res.status, 500);
  t.regex(errorOf(res.body), /imageToTensor: options\.size must be an integer from 1 to 16384, got 0/);
});

test('a predictor may answer with its own 4xx status', async (t) => {
  const res = await post(`${replica.url}/`, { status: 409 });
  t.is(res.status, 409);
  t.is(errorOf(res.body), 'refused with 409');
});

test('a prediction over the timeout is a 504', async (t) => {
  const short = await startReplica(behaviour, { label: 'v1' }, { predictTimeoutMs: 300 });
  t.teardown(() => short.close());
  const res = await post(`${short.url}/`, { sleep: 1000 });
  t.is(res.status, 504);
  t.regex(errorOf(res.body), /longer than 300 ms/);
  t.like((await post(`${short.url}/`, { ok: 1 })).body, { label: 'v1' }, 'and it still predicts');
});

test('an unknown route is a JSON 404', async (t) => {
  const res = await post(`${replica.url}/nope`, {});
  t.is(res.status, 404);
  t.regex(errorOf(res.body), /no route for POST \/nope/);
});

test('GET on the predict path is a 405 that says to POST, and is not counted as a prediction', async (t) => {
  const res = await fetch(`${replica.url}/`);
  t.is(res.status, 405);
  t.is(res.headers.get('allow'), 'POST');
  t.regex(((await res.json()) as { error: string }).error, /GET does not predict; POST the sample/);
  t.notRegex(await (await fetch(`${replica.url}/metrics`)).text(), /cortex_requests_total\{status="405"\}/);
});

test('more than max_replica_concurrency in flight is a 503 with Retry-After', async (t) => {
  const small = await startReplica(behaviour, {}, { maxConcurrency: 2 });
  try {
    const slow = [post(`${small.url}/`, { sleep: 400 }), post(`${small.url}/`, { sleep: 400 })];
    await new Promise((r) => setTimeout(r, 100));
    const refused = await post(`${small.url}/`, { a: 1 });
    t.is(refused.status, 503);
    t.is(refused.headers.get('retry-after'), '1');
    t.regex(errorOf(refused.body), /max_replica_concurrency \(2 in flight\)/);
    t.deepEqual((await Promise.all(slow)).map((r) => r.status), [200, 200]);
    t.is((await post(`${small.url}/`, { a: 1 })).status, 200);
  } finally {
    await small.close();
  }
});

test('predictions that never settle give their admission slot back at the 504', async (t) => {
  const small = await startReplica(behaviour, { label: 'v1' }, { maxConcurrency: 2, predictTimeoutMs: 200 });
  t.teardown(() => small.close());
  // Twice as many as the replica admits at once: each must release its slot when it times out.
  for (let round = 0; round < 2; round++) {
    const stuck = await Promise.all([post(`${small.url}/`, { never: true }), post(`${small.url}/`, { never: true })]);
    t.deepEqual(stuck.map((r) => r.status), [504, 504]);
  }
  t.like((await post(`${small.url}/`, { ok: 1 })).body, { label: 'v1' });
  const metrics = await (await fetch(`${small.url}/metrics`)).text();
  t.regex(metrics, /cortex_in_flight_requests 0\n/);
  t.regex(metrics, /cortex_abandoned_predictions 4\n/);
});

test('a prediction that settles after its 504 is no longer counted as abandoned', async (t) => {
  const small = await startReplica(behaviour, { label: 'v1' }, { predictTimeoutMs: 100 });
  t.teardown(() => small.close());
  t.is((await post(`${small.url}/`, { sleep: 300 })).status, 504);
  t.regex(await (await fetch(`${small.url}/metrics`)).text(), /cortex_abandoned_predictions 1\n/);
  await new Promise((r) => setTimeout(r, 400));
  t.regex(await (await fetch(`${small.url}/metrics`)).text(), /cortex_abandoned_predictions 0\n/);
});

test('a refusal the runtime chose is logged as a warning with its message; a fault as an error with its stack', async (t) => {
  const lines: Array<{ level: number; msg: string; err?: { stack?: string } }> = [];
  const app = Fastify({ logger: { level: 'info', stream: { write: (line: string) => void lines.push(JSON.parse(line)) } } });
  await app.register(errors);
  app.get('/busy', async () => {
    throw new HttpError(503, 'the replica is at max_replica_concurrency (2 in flight); retry shortly');
  });
  app.get('/broken', async () => {
    throw new Error('predictor bug');
  });
  t.teardown(() => app.close());
  t.is((await app.inject('/busy')).statusCode, 503);
  t.is((await app.inject('/broken')).statusCode, 500);
  const busy = lines.find((l) => /max_replica_concurrency/.test(l.msg));
  const broken = lines.find((l) => l.msg === 'predictor bug');
  t.like(busy, { level: 40 });
  t.is(busy?.err, undefined);
  t.like(broken, { level: 50 });
  t.regex(broken?.err?.stack ?? '', /predictor bug\n\s+at /);
});

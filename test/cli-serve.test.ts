// `cortex serve` as a user runs it: the seed's curl answers "hot dog", bad input is one line
// and exit code 2, Ctrl-C stops cleanly.
import { mkdtemp, readFile, writeFile, cp } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { cortex, cortexUntil } from './helpers/cli.js';
import { post, staticServer } from './helpers/http.js';
import { exampleDir, fixtures, photoFiles, photosDir } from './helpers/shared.js';

test('serve answers the seed curl with "hot dog" and stops cleanly on Ctrl-C', async (t) => {
  const { child, match, output } = await cortexUntil(['serve', exampleDir, '--port', '0'], /image\/classifier \(version \w+\): (http:\/\/\S+)/);
  const url = match[1]!;
  t.regex(url, /^http:\/\/127\.0\.0\.1:\d+\/image\/classifier$/);
  const res = await post(url, await readFile(photoFiles['hotdog.jpg']), 'image/jpeg');
  t.is(res.text, '"hot dog"');
  // serve runs on the developer's machine: a photo on localhost is fetched (CORTEX_FETCH_ADDRESSES=any).
  const photos = await staticServer(photosDir);
  t.teardown(() => photos.close());
  t.is((await post(url, { url: `${photos.url.replace('127.0.0.1', 'localhost')}/hotdog.jpg` })).text, '"hot dog"');
  t.is((await fetch(`${url}/readyz`)).status, 200);
  child.kill('SIGINT');
  const result = await child;
  t.is(result.exitCode, 0, output());
  t.regex(result.all, /SIGINT: draining in-flight requests/);
});

test('an unknown api is one line and exit code 2', async (t) => {
  const r = await cortex(['serve', exampleDir, '--api', 'nope', '--port', '0']);
  t.is(r.exitCode, 2);
  t.regex(r.all, /^cortex: .*cortex\.yaml: no api named "nope"; the apis are: classifier$/);
});

test('a bad flag is one line and exit code 2', async (t) => {
  const r = await cortex(['serve', exampleDir, '--port', 'http']);
  t.is(r.exitCode, 2);
  t.regex(r.all, /option '-p, --port <port>' argument 'http' is invalid/);
});

const mistakes: Array<[string, string[], Record<string, string>, RegExp]> = [
  ['a body limit that is not a number', [], { CORTEX_BODY_LIMIT: 'abc' }, /^cortex: CORTEX_BODY_LIMIT must be an integer ≥ 1, got "abc"$/],
  ['a negative predict timeout', [], { CORTEX_PREDICT_TIMEOUT_MS: '-5' }, /^cortex: CORTEX_PREDICT_TIMEOUT_MS must be an integer ≥ 1, got "-5"$/],
  ['a drain timeout that is not a number', [], { CORTEX_DRAIN_TIMEOUT_MS: '1s' }, /^cortex: CORTEX_DRAIN_TIMEOUT_MS must be an integer ≥ 1, got "1s"$/],
  ['a fetch policy that is not one', [], { CORTEX_FETCH_ADDRESSES: 'private' }, /^cortex: CORTEX_FETCH_ADDRESSES must be "public" or "any", got "private"$/],
  ['a pixel bound that is not a number', [], { CORTEX_MAX_IMAGE_PIXELS: '50M' }, /^cortex: CORTEX_MAX_IMAGE_PIXELS must be an integer ≥ 1, got "50M"$/],
  ['a host that does not resolve', ['--host', 'no-such-host.invalid'], {}, /^cortex: --host no-such-host\.invalid is neither an IP address nor a host name that resolves; use 127\.0\.0\.1/],
  ['a host that is not this machine', ['--host', '192.0.2.1'], {}, /^cortex: --host 192\.0\.2\.1 is not an address of this machine; use 127\.0\.0\.1/],
];
for (const [what, args, env, message] of mistakes) {
  test(`${what} is one line and exit code 2`, async (t) => {
    const r = await cortex(['serve', exampleDir, '--port', '0', ...args], { env });
    t.is(r.exitCode, 2, r.all);
    t.regex(r.all.trim(), message);
  });
}

test('a bad cortex.yaml names the file, line and field, exit code 2, no stack trace', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cortex-bad-'));
  await cp(join(exampleDir, 'predictor.ts'), join(dir, 'predictor.ts'));
  await writeFile(join(dir, 'cortex.yaml'), '- kind: deployment\n  name: d\n- kind: api\n  name: a\n  predictor:\n    path: predictor.ts\n  autoscaling:\n    min_replicas: many\n');
  const r = await cortex(['serve', dir, '--port', '0']);
  t.is(r.exitCode, 2);
  t.regex(r.all, /cortex\.yaml:8: api "a": autoscaling\.min_replicas must be an integer/);
  t.notRegex(r.all, /\n\s+at /);
});

test('a predictor with a syntax error is one line naming file:line', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cortex-syntax-'));
  await cp(join(exampleDir, 'cortex.yaml'), join(dir, 'cortex.yaml'));
  await writeFile(join(dir, 'predictor.ts'), 'export function predict(sample) {\n  return sample +;\n}\n');
  const r = await cortex(['serve', dir, '--port', '0']);
  t.is(r.exitCode, 2);
  t.regex(r.all, /predictor\.ts:2:\d+: Unexpected ";"/);
});

test('a model that cannot be found offline says which URL and how to provide it', async (t) => {
  const r = await cortex(['serve', exampleDir, '--port', '0'], { env: { CORTEX_MODEL_MIRROR: join(tmpdir(), 'no-such-mirror'), CORTEX_CACHE_DIR: await mkdtemp(join(tmpdir(), 'cortex-cache-')) } });
  t.is(r.exitCode, 2);
  // The example loads the model and the labels at once: whichever download fails first is named.
  t.regex(r.all, /init failed: could not download https:\/\/\S+\/(mobilenetv2-12-int8\.onnx|imagenet-simple-labels\.json) \(.*\); without network, put the file at .*no-such-mirror\/\1/);
});

test('a predictor that rejects or throws in the background does not take serve down', async (t) => {
  const { child, match, output } = await cortexUntil(['serve', await behaviourApi('cortex-stray-'), '--port', '0'], /d\/b \(version \w+\): (http:\/\/\S+)/);
  t.teardown(() => child.kill('SIGTERM'));
  const url = match[1]!;
  t.is((await post(url, { background: 'reject' })).status, 200);
  t.is((await post(url, { background: 'throw' })).status, 200);
  await new Promise((r) => setTimeout(r, 100));
  t.is((await fetch(`${url}/healthz`)).status, 200, output());
  t.is((await post(url, {})).status, 200);
  t.regex(output(), /unhandled promise rejection at \S*behaviour\.ts:\d+:\d+: rejected in the background/);
  t.regex(output(), /uncaught exception at \S*behaviour\.ts:\d+:\d+: thrown in a timer/);
});

/** A one-api cortex.yaml serving the behaviour fixture at /d/b. */
async function behaviourApi(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  await writeFile(join(dir, 'cortex.yaml'), `- kind: deployment\n  name: d\n- kind: api\n  name: b\n  predictor:\n    path: ${join(fixtures, 'predictors/behaviour.ts')}\n`);
  return dir;
}

/** A POST on a keep-alive connection that the client keeps open after the answer, as browsers and SDKs do. */
function keepAlivePost(url: string, body: object): Promise<{ status: number; text: string }> {
  const agent = new Agent({ keepAlive: true, keepAliveMsecs: 60_000 });
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, text }));
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

test('SIGTERM with a keep-alive request in flight answers it, then exits at once', async (t) => {
  const { child, match, output } = await cortexUntil(['serve', await behaviourApi('cortex-drain-'), '--port', '0'], /d\/b \(version \w+\): (http:\/\/\S+)/);
  t.teardown(() => child.kill('SIGTERM'));
  const inFlight = keepAlivePost(match[1]!, { sleep: 800 });
  await new Promise((r) => setTimeout(r, 300));
  const signalled = performance.now();
  child.kill('SIGTERM');
  const res = await inFlight;
  t.is(res.status, 200);
  t.regex(res.text, /"label":"v1"/);
  const result = await child;
  const seconds = (performance.now() - signalled) / 1000;
  t.is(result.exitCode, 0, output());
  t.true(seconds < 3, `exited ${seconds.toFixed(1)} s after SIGTERM`);
});

test('a path outside every api is a JSON 404 listing the apis; GET on an api is a 405', async (t) => {
  const { child, match } = await cortexUntil(['serve', await behaviourApi('cortex-paths-'), '--port', '0'], /d\/b \(version \w+\): (http:\/\/\S+)/);
  t.teardown(() => child.kill('SIGTERM'));
  const api = match[1]!;
  const missing = await post(`${new URL(api).origin}/d/nope`, {});
  t.is(missing.status, 404);
  t.like(missing.body, { error: 'no api at POST /d/nope; the apis are at /d/b' });
  t.is((missing.body as { request_id: string }).request_id, missing.headers.get('x-request-id') ?? 'no x-request-id header');
  const get = await fetch(api);
  t.is(get.status, 405);
  t.is(get.headers.get('allow'), 'POST');
});

test('two apis that set one predictor.env variable differently are refused, one line', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cortex-env-'));
  const api = (name: string, value: string) => `- kind: api\n  name: ${name}\n  predictor:\n    path: ${join(fixtures, 'predictors/behaviour.ts')}\n    env: { MODEL_FLAVOUR: ${value} }\n`;
  await writeFile(join(dir, 'cortex.yaml'), `- kind: deployment\n  name: d\n${api('a', 'sweet')}${api('b', 'sour')}`);
  const r = await cortex(['serve', dir, '--port', '0']);
  t.is(r.exitCode, 2);
  t.regex(r.all.trim(), /^cortex: \S*cortex\.yaml: apis "a" and "b" set predictor\.env\.MODEL_FLAVOUR to different values, but cortex serve runs all apis in one process; serve them one at a time with --api$/);
});

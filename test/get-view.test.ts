// `cortex get`: the seed's table from a session snapshot.
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import test from 'ava';
import { execa } from 'execa';
import { findSample, projectSample } from '../src/cli/samples.js';
import { curlLine, formatGet } from '../src/cli/get-view.js';
import type { AutoscalerDecision } from '../src/model/status.js';
import { clock } from '../src/tui/format.js';
import { sessionFilePath } from '../src/dev/session-file.js';
import { cortexBin } from './helpers/cli.js';
import { exampleDir, repoRoot } from './helpers/shared.js';
import { api, iso, replica, snapshot } from './fixtures/tui/session.js';

const now = Date.parse(iso(0));
const busy = { ...api().traffic, now: { reqPerSec: 137.2, p50Ms: 48.4, p99Ms: 153.2, avgMs: 52.6 }, counts: { '2xx': 123456, '4xx': 12, '5xx': 3 } };

test('the status table: status, up-to-date, available, requested, last update', (t) => {
  const text = formatGet(snapshot([api({ updatedAt: iso(-90) })]), undefined, { now });
  t.regex(text, /^api +status +up-to-date +available +requested +last update$/m);
  t.regex(text, /^classifier +live +1 +1 +1 +1m$/m);
});

test('the traffic table: each figure says its window; the rate is the current one', (t) => {
  const text = formatGet(snapshot([api({ traffic: { ...api().traffic, now: { reqPerSec: 1.5, p50Ms: 10, p99Ms: 20, avgMs: 12.4 }, counts: { '2xx': 7, '4xx': 2, '5xx': 1 } } })]), undefined, { now });
  t.regex(text, /^api +req\/s \(5s\) +p50 \(1m\) +p99 \(1m\) +avg \(1m\) +2XX +4XX +5XX$/m);
  t.regex(text, /^classifier +1\.5 +10ms +20ms +12ms +7 +2 +1$/m);
});

test('at 80 columns nothing is wider, with long names and six-digit counts, for all apis and for one', (t) => {
  const long = 'a-classifier-with-a-rather-long-name-for-a-table';
  const snap = snapshot([
    api({ traffic: busy }),
    api({ name: long, traffic: busy, replicas: [replica(`${long}-1`), replica(`${long}-2`, { status: 'error', error: `init failed: ${'the model file is not there '.repeat(5)}` })] }),
  ]);
  for (const name of [undefined, 'classifier', long]) {
    const text = formatGet(snap, name, { now, width: 80, sample: { path: 'examples/image-classifier/hotdog.jpg', contentType: 'image/jpeg' } });
    // A URL is never cut: with this name the endpoint and the curl's first line are longer.
    const cuttable = name === long ? text.slice(0, text.indexOf('\nendpoint: ')) : text;
    for (const line of cuttable.split('\n')) t.true([...line].length <= 80, `${name ?? 'all'}: ${[...line].length} columns: ${line}`);
    if (name === long) t.regex(text, /^a-classifie.*-2 +error/m, 'a cut name keeps both ends');
  }
  // Without a width (a pipe), names are whole.
  t.regex(formatGet(snap, undefined, { now }), new RegExp(`^${long} +live`, 'm'));
});

test('one api: its replicas, the reason of a replica in error, its endpoint and a curl that posts a file that exists', (t) => {
  const failed = api({
    lastReload: { version: 'v', at: iso(-5), ms: 9, error: { message: 'Unexpected ";"', location: 'ic/predictor.ts:20:13' } },
    replicas: [replica('classifier-1'), replica('classifier-2', { status: 'starting' }), replica('classifier-3', { status: 'error', error: 'init failed: ENOENT model.onnx\n    at init (predictor.ts:5:3)' })],
  });
  const text = formatGet(snapshot([failed]), 'classifier', { now, sample: { path: 'examples/image-classifier/hotdog.jpg', contentType: 'image/jpeg' } });
  t.regex(text, /^last reload failed, the old code serves: ic\/predictor\.ts:20:13: Unexpected ";"$/m);
  t.regex(text, /^classifier-2 +starting/m);
  t.regex(text, /^classifier-3 +error/m);
  t.regex(text, /^classifier-3: init failed: ENOENT model\.onnx$/m);
  t.regex(text, /^endpoint: http:\/\/localhost:8888\/image\/classifier$/m);
  t.regex(text, /^curl: curl http:\/\/localhost:8888\/image\/classifier -X POST -H 'Content-Type: image\/jpeg' --data-binary @examples\/image-classifier\/hotdog\.jpg$/m);
  // Narrow: the curl splits with a shell continuation, so it still pastes.
  const narrow = formatGet(snapshot([failed]), 'classifier', { now, width: 80, sample: { path: 'examples/image-classifier/hotdog.jpg', contentType: 'image/jpeg' } });
  t.regex(narrow, /^curl: curl http:\/\/localhost:8888\/image\/classifier -X POST \\\n {2}-H 'Content-Type: image\/jpeg' \\\n {2}--data-binary @examples\/image-classifier\/hotdog\.jpg$/m);
  // No file to post: said, rather than a file that is not there.
  t.regex(formatGet(snapshot([failed]), 'classifier', { now }), /^curl: no sample file beside cortex\.yaml .*cortex predict classifier FILE$/m);
});

test('all apis: a failed reload and a replica in error are said too', (t) => {
  const failed = api({
    lastReload: { version: 'v', at: iso(-5), ms: 9, error: { message: 'Unexpected ";"', location: 'ic/predictor.ts:20:13' } },
    replicas: [replica('classifier-1'), replica('classifier-2', { status: 'error', error: 'exited with code 1' })],
  });
  const text = formatGet(snapshot([failed, api({ name: 'other' })]), undefined, { now });
  t.regex(text, /^classifier: last reload failed, the old code serves: ic\/predictor\.ts:20:13: Unexpected ";"$/m);
  t.regex(text, /^classifier-2: exited with code 1$/m);
});

test('"last update" is the last good update: a failed reload does not move it', (t) => {
  const failed = api({ updatedAt: iso(-600), lastReload: { version: 'v', at: iso(-5), ms: 9, error: { message: 'x', location: null } } });
  t.regex(formatGet(snapshot([failed]), undefined, { now }), /^classifier +live +1 +1 +1 +10m$/m);
});

test('a cortex.yaml that was not applied is said first', (t) => {
  const text = formatGet(snapshot([api()], { specError: { message: 'ic/cortex.yaml:3: kind must be deployment or api', at: iso(0) } }), undefined, { now });
  t.is(text.split('\n')[1], 'cortex.yaml not applied (the previous one runs): ic/cortex.yaml:3: kind must be deployment or api');
});

// A scale-up as the loop records it: the policy's text, and its numbers for a view that words them.
const scaleUp: AutoscalerDecision = {
  decision: 'avg in-flight 2.4 / target 1 → 3; capped by max_replicas 2',
  at: iso(-20),
  facts: { kind: 'decided', from: 1, to: 2, wanted: 2, avgInFlight: 2.4, target: 1, limit: 'max_replicas 2', stabilization: { up: { period: '0s', from: iso(-600) }, down: { period: '5m', from: iso(-300) } } },
};

test("the autoscaler's decision: a line per api, worded as the live view's header, within 80 columns", (t) => {
  const snap = snapshot([api({ autoscaler: scaleUp }), api({ name: 'a-classifier-with-a-rather-long-name-for-a-table', autoscaler: scaleUp }), api({ name: 'quiet' })]);
  const all = formatGet(snap, undefined, { now });
  t.regex(all, new RegExp(`^classifier: autoscaler ${clock(iso(-20))} {2}1 → 2 replicas \\(max_replicas 2\\) {2}in-flight 2\\.4, target 1 each$`, 'm'));
  t.notRegex(all, /^quiet: autoscaler/m, 'an api with no decision yet has no line');
  const narrow = formatGet(snap, undefined, { now, width: 80 });
  for (const line of narrow.split('\n')) t.true([...line].length <= 80, `${[...line].length} columns: ${line}`);
  // Short of room the wording drops the numbers, never the replicas.
  t.regex(narrow, /^a-classifier-with-a-rather-long-name-for-a-table: autoscaler .*1 → 2 replicas/m);
  // One api: the line is its own, without the name.
  t.regex(formatGet(snap, 'classifier', { now }), /^autoscaler \d\d:\d\d:\d\d {2}1 → 2 replicas/m);
  // Only the text recorded (an older writer): as it is.
  t.regex(formatGet(snapshot([api({ autoscaler: { decision: 'min_replicas 2', at: iso(-5) } })]), undefined, { now }), new RegExp(`^classifier: autoscaler ${clock(iso(-5))} min_replicas 2$`, 'm'));
});

test('the sample the curl posts: sample.json first, else the first image; the example has its photo', async (t) => {
  t.deepEqual(await findSample(exampleDir), { path: 'examples/image-classifier/hotdog.jpg', contentType: 'image/jpeg' });
  const dir = await mkdtemp(join(tmpdir(), 'cortex-sample-'));
  t.is(await findSample(dir), undefined);
  await writeFile(join(dir, 'b.png'), '');
  t.deepEqual(await findSample(dir), { path: join(dir, 'b.png'), contentType: 'image/png' });
  await writeFile(join(dir, 'sample.json'), '{}');
  t.deepEqual(await findSample(dir), { path: join(dir, 'sample.json'), contentType: 'application/json' });
});

// The curl line says what the sample is: JSON and text go with -d, anything else (photos) as bytes.
const curls: Array<[contentType: string, path: string, line: string]> = [
  ['image/jpeg', 'examples/image-classifier/hotdog.jpg', "curl: curl http://elb/image/classifier -X POST -H 'Content-Type: image/jpeg' --data-binary @examples/image-classifier/hotdog.jpg"],
  ['image/png', 'my photos/cat.png', "curl: curl http://elb/image/classifier -X POST -H 'Content-Type: image/png' --data-binary @'my photos/cat.png'"],
  ['application/json', 'sample.json', "curl: curl http://elb/image/classifier -X POST -H 'Content-Type: application/json' -d @sample.json"],
  ['text/plain', 'sample.txt', "curl: curl http://elb/image/classifier -X POST -H 'Content-Type: text/plain' -d @sample.txt"],
];
for (const [contentType, path, line] of curls) {
  test(`the curl line for a ${contentType} sample`, (t) => {
    t.is(curlLine({ name: 'classifier', endpoint: 'http://elb/image/classifier' }, { path, contentType }), line);
  });
}

test('without a sample the curl line says how to get an answer anyway: cortex predict, with --cloud for the cluster\'s apis', (t) => {
  const endpoint = { name: 'classifier', endpoint: 'http://elb/image/classifier' };
  t.regex(curlLine(endpoint, undefined), /^curl: no sample file beside cortex\.yaml .*or run: cortex predict classifier FILE$/);
  t.regex(curlLine(endpoint, undefined, { cloud: true }), /or run: cortex predict classifier FILE --cloud$/);
  // get API reads it off the snapshot: an eks one is the cluster's.
  const eks = snapshot([api()], { backend: { name: 'eks', description: 'EKS cluster "cortex" in us-east-1, namespace cortex' } });
  t.regex(formatGet(eks, 'classifier', { now }), /^curl: no sample file beside cortex\.yaml .*cortex predict classifier FILE --cloud$/m);
});

test('get API --cloud finds the sample beside the cortex.yaml of the working directory, when that cortex.yaml has the api', async (t) => {
  t.deepEqual(await projectSample('classifier', exampleDir), { path: 'examples/image-classifier/hotdog.jpg', contentType: 'image/jpeg' });
  t.is(await projectSample('another-api', exampleDir), undefined, 'a project that does not deploy that api');
  t.is(await projectSample('classifier', await mkdtemp(join(tmpdir(), 'cortex-sample-'))), undefined, 'no cortex.yaml here');
});

test('get --watch redraws until Ctrl-C, then exits 0', async (t) => {
  // A stand-in session: the session file names this process and a control endpoint serving a snapshot.
  const home = await mkdtemp(join(tmpdir(), 'cortex-home-'));
  const server = createServer((_req, res) => res.end(JSON.stringify(snapshot([api()], { dir: exampleDir }))));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => server.close());
  const { port } = server.address() as { port: number };
  const file = sessionFilePath(exampleDir, { CORTEX_HOME: home });
  await mkdir(dirname(file), { mode: 0o700 });
  await writeFile(file, JSON.stringify({ pid: process.pid, control: `http://127.0.0.1:${port}`, token: 't', gateway: 'http://localhost:8888', dir: exampleDir }), { mode: 0o600 });
  const child = execa(process.execPath, [cortexBin, 'get', '--watch'], { cwd: repoRoot, env: { CORTEX_HOME: home }, reject: false, all: true });
  await new Promise<void>((resolve) => child.all.on('data', (chunk: Buffer) => String(chunk).includes('classifier') && resolve()));
  child.kill('SIGINT');
  const result = await child;
  t.is(result.exitCode, 0, result.all);
  t.regex(result.all, /^classifier +live/m);
});

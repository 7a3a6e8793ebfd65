// Server-side batching through a real replica: the setting from cortex.yaml to the replica's
// environment, the example served with and without it (the same answer for every photo), the
// batch sizes in /metrics, and the refusal of a model that cannot batch.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { batchingFrom, SettingsError, settingsFromEnv } from '../runtime/settings.js';
import { runtimeEnv } from '../src/backends/runtime-env.js';
import { loadSpec, parseSpec } from '../src/spec/index.js';
import { post } from './helpers/http.js';
import { startReplica, type TestReplica } from './helpers/replica.js';
import { exampleDir, fixtures, photoFiles } from './helpers/shared.js';

test('the setting travels: cortex.yaml → the replica environment → the runtime settings', (t) => {
  const yaml = (extra: string) => `- kind: deployment\n  name: image\n- kind: api\n  name: classifier\n  predictor:\n    path: predictor.ts\n${extra}`;
  const on = parseSpec(yaml('    server_side_batching: { max_batch_size: 16, batch_interval: 2ms }\n'), '/p/cortex.yaml');
  const env = runtimeEnv(on, on.apis[0]!, {}, {});
  t.like(env, { CORTEX_MAX_BATCH_SIZE: '16', CORTEX_BATCH_INTERVAL_MS: '2' });
  t.deepEqual(settingsFromEnv(env).batching, { maxBatchSize: 16, intervalMs: 2 });
  // Off in the spec is off, whatever predictor.env or the shell say.
  const off = parseSpec(yaml('    env: { CORTEX_MAX_BATCH_SIZE: "8", CORTEX_BATCH_INTERVAL_MS: "5" }\n'), '/p/cortex.yaml');
  const offEnv = runtimeEnv(off, off.apis[0]!, {}, { CORTEX_MAX_BATCH_SIZE: '4' });
  t.false('CORTEX_MAX_BATCH_SIZE' in offEnv);
  t.is(settingsFromEnv(offEnv).batching, undefined);
});

test('batchingFrom: both variables or neither, each checked', (t) => {
  t.is(batchingFrom({}), undefined);
  t.deepEqual(batchingFrom({ CORTEX_MAX_BATCH_SIZE: '8', CORTEX_BATCH_INTERVAL_MS: '0.5' }), { maxBatchSize: 8, intervalMs: 0.5 });
  t.throws(() => batchingFrom({ CORTEX_MAX_BATCH_SIZE: '8' }), { instanceOf: SettingsError, message: /go together .*CORTEX_BATCH_INTERVAL_MS is missing/ });
  t.throws(() => batchingFrom({ CORTEX_MAX_BATCH_SIZE: '0', CORTEX_BATCH_INTERVAL_MS: '5' }), { instanceOf: SettingsError, message: /CORTEX_MAX_BATCH_SIZE must be an integer ≥ 1, got "0"/ });
  t.throws(() => batchingFrom({ CORTEX_MAX_BATCH_SIZE: '8', CORTEX_BATCH_INTERVAL_MS: '5ms' }), { instanceOf: SettingsError, message: /CORTEX_BATCH_INTERVAL_MS must be a number of milliseconds/ });
});

let plain: TestReplica;
let batched: TestReplica;
let photos: Array<{ file: string; bytes: Buffer }>;

test.before(async () => {
  const api = (await loadSpec(exampleDir)).apis[0]!;
  [plain, batched] = await Promise.all([
    startReplica(api.predictor.path, api.predictor.config),
    startReplica(api.predictor.path, api.predictor.config, { batching: { maxBatchSize: 8, intervalMs: 5 } }),
  ]);
  photos = await Promise.all(Object.entries(photoFiles).map(async ([file, path]) => ({ file, bytes: await readFile(path) })));
});

test.after.always(async () => {
  await plain?.close();
  await batched?.close();
});

test.serial('served with batching, every photo gets the answer it gets without, and runs held more than one request', async (t) => {
  const expected = new Map<string, unknown>();
  for (const { file, bytes } of photos) expected.set(file, (await post(`${plain.url}/`, bytes, 'image/jpeg')).body);
  t.is(expected.get('hotdog.jpg'), 'hot dog');
  // Every photo three times, all at once.
  const answers = await Promise.all(photos.flatMap(({ file, bytes }) => [0, 1, 2].map(async () => ({ file, res: await post(`${batched.url}/`, bytes, 'image/jpeg') }))));
  for (const { file, res } of answers) {
    t.is(res.status, 200, file);
    t.is(res.body, expected.get(file), file);
  }
  const metrics = await (await fetch(`${batched.url}/metrics`)).text();
  const model = 'https://github.com/onnx/models/raw/main/validated/vision/classification/mobilenet/model/mobilenetv2-12-int8.onnx';
  const series = (name: string, labels: string) => Number(metrics.split('\n').find((line) => line.startsWith(`${name}{${labels}} `))?.split(' ')[1]);
  const runs = series('cortex_batch_size_count', `model="${model}"`);
  const alone = series('cortex_batch_size_bucket', `le="1",model="${model}"`);
  const rows = series('cortex_batch_size_sum', `model="${model}"`);
  t.log(`${answers.length} requests in ${runs} runs, ${runs - alone} of them of more than one request`);
  t.is(rows, answers.length, 'each request in exactly one run');
  t.true(runs - alone > 0, `some runs held more than one request:\n${metrics.split('\n').filter((l) => l.startsWith('cortex_batch_size')).join('\n')}`);
  t.true(runs < answers.length);
});

test('a model with a fixed batch dimension of 1 is refused at init when batching is on, and serves when it is off', async (t) => {
  const predictor = join(fixtures, 'predictors/load-model.ts');
  const config = { model: join(fixtures, 'models/fixed-batch.onnx') };
  const err = await t.throwsAsync(startReplica(predictor, config, { batching: { maxBatchSize: 4, intervalMs: 1 } }));
  t.regex(err.message, /^init failed: model \/.*\/fixed-batch\.onnx: input "x" has a fixed batch dimension of 1 \(shape \[1, 4\]\), so predictor\.server_side_batching cannot put several requests in one run; export the model with a dynamic first dimension/);
  const served = await startReplica(predictor, config);
  t.teardown(() => served.close());
  t.deepEqual((await post(`${served.url}/`, {})).body, ['x']);
});

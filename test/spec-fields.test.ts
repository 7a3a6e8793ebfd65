// cortex.yaml's fields as the README documents them, generated from the schema: the README
// holds the generated tables, every documented default is what the schema really fills in, and
// an unknown field names the one it most likely means.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { parse as parseYaml, stringify } from 'yaml';
import { closestField, editDistance } from '../src/spec/errors.js';
import { readmeFieldsSection, README_BEGIN, README_END, specFields } from '../src/spec/docs.js';
import { parseSpec, SpecError } from '../src/spec/index.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const README = path.join(root, 'README.md');
const FILE = 'examples/x/cortex.yaml';

test('the README holds the cortex.yaml field tables generated from the schema', async (t) => {
  const readme = await readFile(README, 'utf8');
  const begin = readme.indexOf(README_BEGIN);
  const end = readme.indexOf(README_END);
  t.true(begin >= 0 && end > begin, `README.md lacks the markers ${README_BEGIN} … ${README_END}`);
  const expected = readmeFieldsSection();
  const actual = readme.slice(begin, end + README_END.length);
  if (actual !== expected && process.env.CORTEX_UPDATE_README === '1') {
    await writeFile(README, readme.slice(0, begin) + expected + readme.slice(end + README_END.length));
    t.log('README.md updated');
    return;
  }
  t.is(actual, expected, 'regenerate with CORTEX_UPDATE_README=1 npx ava dist/test/spec-fields.test.js');
});

test('every field of an api is documented, sections by their fields', (t) => {
  const paths = specFields().api.map((field) => field.path);
  for (const field of ['name', 'kind', 'predictor.path', 'predictor.config', 'predictor.env',
    'predictor.server_side_batching.max_batch_size', 'predictor.server_side_batching.batch_interval', 'compute.cpu', 'compute.mem', 'compute.gpu',
    'autoscaling.min_replicas', 'autoscaling.max_replicas', 'autoscaling.init_replicas', 'autoscaling.target_replica_concurrency',
    'autoscaling.max_replica_concurrency', 'autoscaling.window', 'autoscaling.downscale_stabilization_period',
    'autoscaling.upscale_stabilization_period', 'autoscaling.max_downscale_factor', 'autoscaling.max_upscale_factor',
    'autoscaling.downscale_tolerance', 'autoscaling.upscale_tolerance', 'update_strategy.max_surge', 'update_strategy.max_unavailable',
    'networking.endpoint']) {
    t.true(paths.includes(field), field);
  }
  t.is(paths.length, 25);
  t.deepEqual(specFields().deployment.map((field) => field.path), ['kind', 'name']);
  const required = specFields().api.filter((field) => field.required).map((field) => field.path);
  t.deepEqual(required, ['name', 'kind', 'predictor.path']);
  // Required only once their section is written: no section, no batching.
  const within = specFields().api.filter((field) => field.requiredWith).map((field) => [field.path, field.requiredWith]);
  t.deepEqual(within, [
    ['predictor.server_side_batching.max_batch_size', 'predictor.server_side_batching'],
    ['predictor.server_side_batching.batch_interval', 'predictor.server_side_batching'],
  ]);
});

test('server_side_batching: both settings, Go durations, typos named', (t) => {
  const batching = (value: unknown) => specOf({ ...BASE, predictor: { path: 'predictor.ts', server_side_batching: value } }).apis[0]!.predictor.serverSideBatching;
  t.is(specOf(BASE).apis[0]!.predictor.serverSideBatching, undefined);
  t.deepEqual(batching({ max_batch_size: 8, batch_interval: '5ms' }), { maxBatchSize: 8, batchIntervalMs: 5 });
  t.deepEqual(batching({ max_batch_size: 32, batch_interval: '500us' }), { maxBatchSize: 32, batchIntervalMs: 0.5 });
  t.deepEqual(batching({ max_batch_size: 4, batch_interval: 0 }), { maxBatchSize: 4, batchIntervalMs: 0 });
  const at = `${FILE}:7: api "classifier":`;
  t.is(unknown(['    server_side_batching: { max_batch_size: 8 }']), `${at} missing predictor.server_side_batching.batch_interval; it must be a duration like "60s", "5m", "1m30s" or "500ms", or a number of seconds`);
  t.regex(unknown(['    server_side_batching: { max_batch_size: 0, batch_interval: 5ms }']), /predictor\.server_side_batching\.max_batch_size must be an integer ≥ 1, got 0/);
  t.regex(unknown(['    server_side_batching: { max_batch_size: 8, batch_interval: 5 ms }']), /batch_interval must be a duration/);
  t.regex(unknown(['    server_side_batching: { max_batch: 8, batch_interval: 5ms }']), /unknown field "predictor\.server_side_batching\.max_batch"; did you mean "predictor\.server_side_batching\.max_batch_size"\?/);
  t.regex(unknown(['  server_side_batching: { max_batch_size: 8, batch_interval: 5ms }']), /unknown field "server_side_batching"; did you mean "predictor\.server_side_batching"\?/);
});

const BASE = { kind: 'api', name: 'classifier', predictor: { path: 'predictor.ts' } };
const specOf = (api: object) => parseSpec(stringify([{ kind: 'deployment', name: 'image' }, api]), FILE);

function withField(item: Record<string, unknown>, dotted: string, value: unknown): Record<string, unknown> {
  const [head, ...rest] = dotted.split('.');
  if (rest.length === 0) return { ...item, [head!]: value };
  const inner = (item[head!] ?? {}) as Record<string, unknown>;
  return { ...item, [head!]: withField(inner, rest.join('.'), value) };
}

test('writing each documented default out changes nothing', (t) => {
  const defaults = specOf(BASE);
  const api = defaults.apis[0]!;
  let checked = 0;
  for (const field of specFields().api) {
    if (field.required || field.shownDefault === undefined) continue;
    // A default in words names another field or a pattern: written out with this spec's values.
    const written = field.shownDefault === 'min_replicas' ? api.autoscaling.minReplicas
      : field.shownDefault === '/<deployment>/<api>' ? '/image/classifier'
        : parseYaml(field.shownDefault) as unknown;
    t.deepEqual(specOf(withField(BASE, field.path, written)), defaults, `${field.path}: ${field.shownDefault}`);
    checked++;
  }
  t.is(checked, 19);
  // "none" is really no value: compute.mem unset means no limit.
  t.is(api.compute.mem, null);
});

const unknown = (extra: string[]): string => {
  const yaml = ['- kind: deployment', '  name: image', '- kind: api', '  name: classifier', '  predictor:', '    path: predictor.ts', ...extra].join('\n');
  const error = (() => { try { parseSpec(yaml, FILE); } catch (e) { return e; } return undefined; })();
  if (!(error instanceof SpecError)) throw new Error(`expected a SpecError for ${extra.join(' ')}`);
  return error.message;
};

test('an unknown field suggests the closest one rather than listing them all', (t) => {
  const at7 = `${FILE}:7: api "classifier": unknown field`;
  t.is(unknown(['  autoscalling: { min_replicas: 2 }']), `${at7} "autoscalling"; did you mean "autoscaling"?`);
  t.is(unknown(['  autoscaling: { min_replica: 2 }']), `${at7} "autoscaling.min_replica"; did you mean "autoscaling.min_replicas"?`);
  t.is(unknown(['  autoscaling: { minReplicas: 2 }']), `${at7} "autoscaling.minReplicas"; did you mean "autoscaling.min_replicas"?`);
  t.is(unknown(['  autoscaling: { target_concurrency: 2 }']), `${at7} "autoscaling.target_concurrency"; did you mean "autoscaling.target_replica_concurrency"?`);
  t.is(unknown(['  compute: { memory: 1Gi }']), `${at7} "compute.memory"; did you mean "compute.mem"?`);
  t.is(unknown(['  compute: { cpus: 2 }']), `${at7} "compute.cpus"; did you mean "compute.cpu"?`);
  // One level too high: where it belongs.
  t.is(unknown(['  min_replicas: 2']), `${at7} "min_replicas"; did you mean "autoscaling.min_replicas"?`);
  t.is(unknown(['  endpoint: /x']), `${at7} "endpoint"; did you mean "networking.endpoint"?`);
  t.is(unknown(['  predictor_path: p.ts']), `${at7} "predictor_path"; did you mean "predictor.path"?`);
  // Nothing close, or two equally close: the list, which is short.
  t.is(unknown(['  replicas: 3']), `${at7} "replicas"; allowed: name, kind, predictor, compute, autoscaling, update_strategy, networking`);
  t.is(unknown(['  compute: { disk: 3 }']), `${at7} "compute.disk"; allowed: cpu, mem, gpu`);
});

test('closestField: near names, cut names, ties and strangers', (t) => {
  t.is(editDistance('autoscaling', 'autoscalign'), 1, 'a swap is one edit');
  t.is(closestField('nmae', ['name', 'kind']), 'name');
  t.is(closestField('mem', ['memory', 'cpu']), 'memory');
  t.is(closestField('x', ['name', 'kind']), undefined);
  t.is(closestField('replicas', [], ['a.min_replicas', 'a.max_replicas']), undefined, 'a tie is no guess');
});

// cortex.yaml → Spec: defaults, quantity conversions, and the one-line errors people see.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { formatMemory, loadSpec, parseCpu, parseDuration, parseMemory, parseSpec, SpecError, type ApiSpec } from '../src/spec/index.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const exampleDir = path.join(root, 'examples/image-classifier');
// Relative, so messages show it as is (they print paths relative to the working directory).
const FILE = 'examples/x/cortex.yaml';
const DIR = path.resolve('examples/x');

const lines = (...rows: string[]): string => `${rows.join('\n')}\n`;
/** Lines 1–6: a deployment and one api with only the required fields. */
const BASE = [
  '- kind: deployment',
  '  name: image',
  '- kind: api',
  '  name: classifier',
  '  predictor:',
  '    path: predictor.ts',
];
const withBase = (...rows: string[]): string => lines(...BASE, ...rows);

const DEFAULT_AUTOSCALING: ApiSpec['autoscaling'] = {
  minReplicas: 1,
  maxReplicas: 100,
  initReplicas: 1,
  targetReplicaConcurrency: 1,
  maxReplicaConcurrency: 1024,
  windowMs: 60_000,
  downscaleStabilizationMs: 300_000,
  upscaleStabilizationMs: 60_000,
  maxDownscaleFactor: 0.75,
  maxUpscaleFactor: 1.5,
  downscaleTolerance: 0.05,
  upscaleTolerance: 0.05,
};

const defaultApi = (overrides: Partial<ApiSpec> = {}): ApiSpec => ({
  name: 'classifier',
  deployment: 'image',
  predictor: { path: path.join(DIR, 'predictor.ts'), config: {}, env: {} },
  compute: { cpu: 0.2, mem: null, gpu: 0 },
  autoscaling: DEFAULT_AUTOSCALING,
  updateStrategy: { maxSurge: '25%', maxUnavailable: '25%' },
  networking: { endpoint: '/image/classifier' },
  ...overrides,
});

test('the image-classifier example loads with its values and Cortex defaults', async (t) => {
  const spec = await loadSpec(exampleDir);
  t.deepEqual(spec, {
    file: path.join(exampleDir, 'cortex.yaml'),
    dir: exampleDir,
    deployment: 'image',
    apis: [
      {
        name: 'classifier',
        deployment: 'image',
        predictor: {
          path: path.join(exampleDir, 'predictor.ts'),
          config: {
            model: 'https://github.com/onnx/models/raw/main/validated/vision/classification/mobilenet/model/mobilenetv2-12-int8.onnx',
            labels: 'https://raw.githubusercontent.com/anishathalye/imagenet-simple-labels/master/imagenet-simple-labels.json',
          },
          env: {},
        },
        compute: { cpu: 1, mem: 2 ** 30, gpu: 0 },
        autoscaling: { ...DEFAULT_AUTOSCALING, maxReplicas: 4, targetReplicaConcurrency: 2 },
        updateStrategy: { maxSurge: '25%', maxUnavailable: '25%' },
        networking: { endpoint: '/image/classifier' },
      },
    ],
  });
});

test('loadSpec accepts the cortex.yaml file itself as well as its folder', async (t) => {
  t.deepEqual(await loadSpec(path.join(exampleDir, 'cortex.yaml')), await loadSpec(exampleDir));
});

const valid: Array<{ title: string; yaml: string; api: ApiSpec }> = [
  { title: 'only the required fields', yaml: withBase(), api: defaultApi() },
  {
    title: 'bare section keys (null)',
    yaml: withBase('    config:', '    env:', '  compute:', '  autoscaling:', '  update_strategy:', '  networking:'),
    api: defaultApi(),
  },
  {
    title: 'init_replicas follows min_replicas',
    yaml: withBase('  autoscaling: { min_replicas: 3, max_replicas: 10 }'),
    api: defaultApi({ autoscaling: { ...DEFAULT_AUTOSCALING, minReplicas: 3, maxReplicas: 10, initReplicas: 3 } }),
  },
  {
    title: 'every field set',
    yaml: withBase(
      '    config: { model: m.onnx, top: 5, nested: { list: [1, null, true] } }',
      '    env: { PORT: 80, DEBUG: true, NAME: x }',
      '  compute: { cpu: 500m, mem: 512Mi, gpu: 1 }',
      '  autoscaling:',
      '    min_replicas: 2',
      '    max_replicas: 8',
      '    init_replicas: 4',
      '    target_replica_concurrency: 0.5',
      '    max_replica_concurrency: 16',
      '    window: 30',
      '    downscale_stabilization_period: 1m30s',
      '    upscale_stabilization_period: 500ms',
      '    max_downscale_factor: 0.5',
      '    max_upscale_factor: 2',
      '    downscale_tolerance: 0',
      '    upscale_tolerance: 0.1',
      '  update_strategy: { max_surge: 1, max_unavailable: 0 }',
      '  networking: { endpoint: /v1/classify }',
    ),
    api: defaultApi({
      predictor: {
        path: path.join(DIR, 'predictor.ts'),
        config: { model: 'm.onnx', top: 5, nested: { list: [1, null, true] } },
        env: { PORT: '80', DEBUG: 'true', NAME: 'x' },
      },
      compute: { cpu: 0.5, mem: 512 * 2 ** 20, gpu: 1 },
      autoscaling: {
        minReplicas: 2,
        maxReplicas: 8,
        initReplicas: 4,
        targetReplicaConcurrency: 0.5,
        maxReplicaConcurrency: 16,
        windowMs: 30_000,
        downscaleStabilizationMs: 90_000,
        upscaleStabilizationMs: 500,
        maxDownscaleFactor: 0.5,
        maxUpscaleFactor: 2,
        downscaleTolerance: 0,
        upscaleTolerance: 0.1,
      },
      updateStrategy: { maxSurge: 1, maxUnavailable: 0 },
      networking: { endpoint: '/v1/classify' },
    }),
  },
];

for (const { title, yaml, api } of valid) {
  test(`valid: ${title}`, (t) => {
    const spec = parseSpec(yaml, FILE);
    t.deepEqual(spec, { file: path.resolve(FILE), dir: DIR, deployment: 'image', apis: [api] });
  });
}

test('apis keep their order and each gets its own default endpoint', (t) => {
  const spec = parseSpec(
    lines(
      '- kind: api',
      '  name: b',
      '  predictor: { path: b.ts }',
      '- kind: deployment',
      '  name: shop',
      '- kind: api',
      '  name: a',
      '  predictor: { path: sub/a.js }',
    ),
    FILE,
  );
  t.deepEqual(
    spec.apis.map((api) => [api.name, api.deployment, api.networking.endpoint, api.predictor.path]),
    [
      ['b', 'shop', '/shop/b', path.join(DIR, 'b.ts')],
      ['a', 'shop', '/shop/a', path.join(DIR, 'sub/a.js')],
    ],
  );
});

const conversions: Array<{ name: string; parse: (value: string | number) => number; cases: Array<[string | number, number]>; bad: Array<string | number> }> = [
  {
    name: 'parseDuration',
    parse: parseDuration,
    cases: [['60s', 60_000], ['5m', 300_000], ['1m30s', 90_000], ['500ms', 500], ['2h', 7_200_000], ['1.5s', 1_500], ['0', 0], [90, 90_000], [0.5, 500]],
    bad: ['', '5', '5 m', '-1s', '1d', 'abc', '1m30', 'ms', -1],
  },
  {
    name: 'parseCpu',
    parse: parseCpu,
    cases: [['200m', 0.2], ['1', 1], ['1.5', 1.5], ['2500m', 2.5], [0.5, 0.5], [2, 2]],
    bad: ['', '0', '0m', '-1', '1k', 'abc', '1 m', 0, -1],
  },
  {
    name: 'parseMemory',
    parse: parseMemory,
    cases: [['1Gi', 2 ** 30], ['512Mi', 512 * 2 ** 20], ['1G', 1e9], ['500M', 5e8], ['1Ki', 1024], ['1.5Gi', 1.5 * 2 ** 30], ['2k', 2000], ['4096', 4096], [2048, 2048]],
    bad: ['', '1GB', '1gi', '1m', '-1Gi', 'abc', '0', 0, -5],
  },
];

for (const { name, parse, cases, bad } of conversions) {
  test(`${name}: conversions`, (t) => {
    for (const [input, expected] of cases) t.is(parse(input), expected, `${JSON.stringify(input)}`);
  });
  test(`${name}: rejects malformed values, quoting them`, (t) => {
    for (const input of bad) {
      t.throws(() => parse(input), { instanceOf: RangeError, message: new RegExp(`got ${JSON.stringify(input).replace(/[.*+?^${}()|[\]\\-]/g, '\\$&')}$`) });
    }
  });
}

test('the error messages from the design read exactly so', (t) => {
  const exact: Array<[string, string]> = [
    [
      withBase('  autoscaling:', '    min_replicas: abc'),
      `${FILE}:8: api "classifier": autoscaling.min_replicas must be an integer ≥ 1, got "abc"`,
    ],
    [
      withBase('  autoscalling: { min_replicas: 2 }'),
      `${FILE}:7: api "classifier": unknown field "autoscalling"; did you mean "autoscaling"?`,
    ],
    [
      lines('- kind: api', '  name: a', '  predictor: { path: a.ts }'),
      `${FILE}: no "kind: deployment" item; add one to the list: "- kind: deployment" with "name: <name>"`,
    ],
  ];
  for (const [yaml, message] of exact) t.throws(() => parseSpec(yaml, FILE), { instanceOf: SpecError, message });
});

interface BadCase {
  title: string;
  yaml: string;
  /** Expected line; undefined for problems of the file as a whole. */
  line: number | undefined;
  api?: string;
  field?: string;
  /** Fragments the message must contain, after "FILE:LINE: ". */
  says: string[];
}

const bad: BadCase[] = [
  {
    title: 'YAML syntax error',
    yaml: lines('- kind: deployment', '  name: image', '- kind: api', '  name: [classifier', '  predictor: {}'),
    line: 5,
    says: ['YAML syntax error: ', 'Flow sequence'],
  },
  {
    title: 'tab indentation',
    yaml: lines('- kind: deployment', '\tname: image'),
    line: 2,
    says: ['YAML syntax error: ', 'indent with spaces, YAML does not allow tabs'],
  },
  { title: 'empty file', yaml: '# nothing yet\n', line: undefined, says: ['is empty;', '"- kind: deployment"'] },
  { title: 'a mapping instead of a list', yaml: lines('kind: api', 'name: x'), line: undefined, says: ['must be a list, got a mapping'] },
  {
    title: 'missing deployment',
    yaml: lines('- kind: api', '  name: a', '  predictor: { path: a.ts }'),
    line: undefined,
    says: ['no "kind: deployment" item', '"name: <name>"'],
  },
  {
    title: 'two deployments',
    yaml: withBase('- kind: deployment', '  name: other'),
    line: 7,
    field: undefined,
    says: ['deployment "other": a second "kind: deployment" item (the first is at line 1)'],
  },
  { title: 'no api', yaml: lines('- kind: deployment', '  name: image'), line: undefined, says: ['no "kind: api" item'] },
  {
    title: 'unknown kind',
    yaml: withBase('- kind: service', '  name: x'),
    line: 7,
    field: 'kind',
    says: ['kind must be one of: deployment, api, got "service"'],
  },
  { title: 'item without a kind', yaml: withBase('- name: x'), line: 7, says: ['item 3 has no kind', 'kind: <deployment | api>'] },
  { title: 'item that is not a mapping', yaml: withBase('- api'), line: 7, says: ['item 3 must be a mapping with a kind', 'got "api"'] },
  {
    title: 'unknown field on an api',
    yaml: withBase('  replicas: 3'),
    line: 7,
    api: 'classifier',
    field: 'replicas',
    says: ['unknown field "replicas"; allowed: name, kind, predictor, compute, autoscaling, update_strategy, networking'],
  },
  {
    title: 'unknown nested field',
    yaml: withBase('  compute:', '    cpu: 1', '    memory: 1Gi'),
    line: 9,
    api: 'classifier',
    field: 'compute.memory',
    says: ['unknown field "compute.memory"; did you mean "compute.mem"?'],
  },
  {
    title: 'unknown field on the deployment',
    yaml: lines('- kind: deployment', '  name: image', '  region: us-east-1', ...BASE.slice(2)),
    line: 3,
    field: 'region',
    says: ['deployment "image": unknown field "region"; allowed: kind, name'],
  },
  {
    title: 'wrong type for a section',
    yaml: withBase('  compute: 4'),
    line: 7,
    api: 'classifier',
    field: 'compute',
    says: ['compute must be a mapping with fields cpu, mem, gpu, got 4'],
  },
  {
    title: 'wrong type for a number',
    yaml: withBase('  autoscaling:', '    max_replicas: many'),
    line: 8,
    api: 'classifier',
    field: 'autoscaling.max_replicas',
    says: ['autoscaling.max_replicas must be an integer ≥ 1, got "many"'],
  },
  {
    title: 'fractional gpu',
    yaml: withBase('  compute: { gpu: 0.5 }'),
    line: 7,
    api: 'classifier',
    field: 'compute.gpu',
    says: ['compute.gpu must be an integer ≥ 0, got 0.5'],
  },
  {
    title: 'max_downscale_factor out of range',
    yaml: withBase('  autoscaling:', '    max_downscale_factor: 1.5'),
    line: 8,
    api: 'classifier',
    field: 'autoscaling.max_downscale_factor',
    says: ['autoscaling.max_downscale_factor must be a number between 0 and 1 (exclusive), got 1.5'],
  },
  {
    title: 'min_replicas above max_replicas',
    yaml: withBase('  autoscaling:', '    min_replicas: 5', '    max_replicas: 2'),
    line: 8,
    api: 'classifier',
    field: 'autoscaling.min_replicas',
    says: ['autoscaling.min_replicas (5) must be ≤ autoscaling.max_replicas (2)'],
  },
  {
    title: 'init_replicas outside [min, max]',
    yaml: withBase('  autoscaling:', '    max_replicas: 4', '    init_replicas: 7'),
    line: 9,
    api: 'classifier',
    field: 'autoscaling.init_replicas',
    says: ['autoscaling.init_replicas (7) must be between min_replicas (1) and max_replicas (4)'],
  },
  {
    title: 'target concurrency above max concurrency',
    yaml: withBase('  autoscaling: { target_replica_concurrency: 8, max_replica_concurrency: 4 }'),
    line: 7,
    api: 'classifier',
    field: 'autoscaling.target_replica_concurrency',
    says: ['target_replica_concurrency (8) must be ≤ autoscaling.max_replica_concurrency (4)'],
  },
  {
    title: 'duplicate api names',
    yaml: withBase('- kind: api', '  name: classifier', '  predictor: { path: other.ts }'),
    line: 8,
    api: 'classifier',
    field: 'name',
    says: ['name "classifier" is already used by the api at line 3; api names must be unique'],
  },
  {
    title: 'duplicate endpoints',
    yaml: withBase('- kind: api', '  name: other', '  predictor: { path: other.ts }', '  networking:', '    endpoint: /image/classifier'),
    line: 11,
    api: 'other',
    field: 'networking.endpoint',
    says: ['networking.endpoint "/image/classifier" is already used by api "classifier"'],
  },
  {
    title: 'bad duration',
    yaml: withBase('  autoscaling:', '    window: 1 minute'),
    line: 8,
    api: 'classifier',
    field: 'autoscaling.window',
    says: ['autoscaling.window must be a duration like "60s"', 'got "1 minute"'],
  },
  {
    title: 'bad memory quantity',
    yaml: withBase('  compute:', '    mem: 2GB'),
    line: 8,
    api: 'classifier',
    field: 'compute.mem',
    says: ['compute.mem must be a memory quantity', '"1Gi"', 'got "2GB"'],
  },
  {
    title: 'bad cpu quantity',
    yaml: withBase('  compute: { cpu: 2 cores }'),
    line: 7,
    api: 'classifier',
    field: 'compute.cpu',
    says: ['compute.cpu must be a number of cores', '"200m"', 'got "2 cores"'],
  },
  {
    title: 'missing predictor.path',
    yaml: lines(...BASE.slice(0, 5), '    config: { a: 1 }'),
    line: 5,
    api: 'classifier',
    field: 'predictor.path',
    says: ['missing predictor.path; it must be the path of a TypeScript or JavaScript predictor'],
  },
  {
    title: 'missing predictor',
    yaml: lines(...BASE.slice(0, 4)),
    line: 3,
    api: 'classifier',
    field: 'predictor',
    says: ['missing predictor; it must be a mapping with fields path, config, env'],
  },
  {
    title: 'a Python predictor',
    yaml: lines(...BASE.slice(0, 5), '    path: predictor.py'),
    line: 6,
    api: 'classifier',
    field: 'predictor.path',
    says: ['predictor.path must be the path of a TypeScript or JavaScript predictor', 'got "predictor.py"'],
  },
  {
    title: 'env name that is not a variable name',
    yaml: withBase('    env: { log-level: debug }'),
    line: 7,
    api: 'classifier',
    field: 'predictor.env.log-level',
    says: ['predictor.env has an invalid key "log-level"; keys must be environment variable names'],
  },
  {
    title: 'deployment name that is not a DNS label',
    yaml: lines('- kind: deployment', '  name: Image_1', ...BASE.slice(2)),
    line: 2,
    field: 'name',
    says: ['deployment "Image_1": name must be a DNS-1123 label', 'got "Image_1"'],
  },
  {
    title: 'api name longer than 63 characters',
    yaml: lines(...BASE.slice(0, 3), `  name: ${'a'.repeat(64)}`, ...BASE.slice(4)),
    line: 4,
    api: 'a'.repeat(64),
    field: 'name',
    says: ['name must be a DNS-1123 label', 'at most 63 characters'],
  },
  {
    title: 'max_surge and max_unavailable both zero',
    yaml: withBase('  update_strategy:', '    max_surge: 0', '    max_unavailable: 0%'),
    line: 8,
    api: 'classifier',
    field: 'update_strategy.max_surge',
    says: ['max_surge and max_unavailable cannot both be 0'],
  },
  {
    title: 'max_surge neither a count nor a percentage',
    yaml: withBase('  update_strategy: { max_surge: quarter }'),
    line: 7,
    api: 'classifier',
    field: 'update_strategy.max_surge',
    says: ['update_strategy.max_surge must be an integer ≥ 0 or a percentage like "25%", got "quarter"'],
  },
  {
    title: 'endpoint without a leading slash',
    yaml: withBase('  networking: { endpoint: image/classify }'),
    line: 7,
    api: 'classifier',
    field: 'networking.endpoint',
    says: ['networking.endpoint must be a URL path starting with "/"', 'got "image/classify"'],
  },
  {
    title: 'the first problem by line wins, across items',
    yaml: lines(
      '- kind: api',
      '  name: first',
      '  predictor: { path: a.ts }',
      '  compute: { gpu: -1 }',
      '- kind: deployment',
      '  name: Bad',
    ),
    line: 4,
    api: 'first',
    field: 'compute.gpu',
    says: ['compute.gpu must be an integer ≥ 0, got -1'],
  },
];

for (const c of bad) {
  test(`bad spec: ${c.title}`, (t) => {
    const error = t.throws(() => parseSpec(c.yaml, FILE), { instanceOf: SpecError });
    if (!error) return;
    t.false(error.message.includes('\n'), 'one line');
    t.true(error.message.startsWith(c.line === undefined ? `${FILE}: ` : `${FILE}:${c.line}: `), error.message);
    for (const fragment of c.says) t.true(error.message.includes(fragment), `"${fragment}" in: ${error.message}`);
    t.is(error.line, c.line);
    t.is(error.api, c.api);
    t.is(error.field, c.field);
    t.is(error.file, path.resolve(FILE));
  });
}

// loadSpec's checks need real files; each case gets its own folder.
async function withTempDir(t: { teardown: (fn: () => Promise<void>) => void }, files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'cortex-spec-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  for (const [name, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, name)), { recursive: true });
    await writeFile(path.join(dir, name), content);
  }
  return dir;
}

test('loadSpec: a predictor file that does not exist is named with its line', async (t) => {
  const dir = await withTempDir(t, { 'cortex.yaml': withBase() });
  const error = await t.throwsAsync(loadSpec(dir), { instanceOf: SpecError });
  t.is(error?.message, `${path.join(dir, 'cortex.yaml')}:6: api "classifier": predictor.path: ${path.join(dir, 'predictor.ts')} does not exist; the path is relative to the folder of cortex.yaml`);
  t.is(error?.field, 'predictor.path');
  t.is(error?.line, 6);
});

test('loadSpec: a predictor path that is a folder is refused', async (t) => {
  const dir = await withTempDir(t, { 'cortex.yaml': withBase(), 'predictor.ts/index.ts': '' });
  await t.throwsAsync(loadSpec(dir), { instanceOf: SpecError, message: /:6: api "classifier": predictor\.path: .* is a directory, not a file/ });
});

test('loadSpec: cortex.yml is accepted and predictor paths resolve against its folder', async (t) => {
  const dir = await withTempDir(t, { 'cortex.yml': lines(...BASE.slice(0, 5), '    path: src/predictor.ts'), 'src/predictor.ts': '' });
  const spec = await loadSpec(dir);
  t.is(spec.file, path.join(dir, 'cortex.yml'));
  t.is(spec.apis[0]?.predictor.path, path.join(dir, 'src/predictor.ts'));
});

test('loadSpec: a folder without cortex.yaml, and a path that does not exist', async (t) => {
  const dir = await withTempDir(t, { 'README.md': '' });
  await t.throwsAsync(loadSpec(dir), { instanceOf: SpecError, message: `${dir}: no cortex.yaml or cortex.yml in this folder; pass the folder that holds it, or the file itself` });
  await t.throwsAsync(loadSpec(path.join(dir, 'nope')), { instanceOf: SpecError, message: `${path.join(dir, 'nope')}: no such file or directory` });
});

test('memory limits read back the way cortex.yaml writes them', (t) => {
  const cases: Array<[number, string]> = [
    [150 * 2 ** 20, '150Mi'],
    [2 ** 30, '1Gi'],
    [1536 * 2 ** 20, '1536Mi'],
    [500e6, '500M'],
    [1000, '1k'],
    [1234, '1234'],
  ];
  for (const [bytes, quantity] of cases) t.is(formatMemory(bytes), quantity);
});

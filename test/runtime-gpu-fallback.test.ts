// A GPU api's replica on a machine without CUDA: the runtime process asks onnxruntime for
// cuda,cpu (what the eks profile sets), serves the real model on the CPU, and says so in /readyz,
// /metrics and one log line with onnxruntime's reason. onnxruntime-node here has no CUDA provider
// libraries and the machine has no GPU, so this is the fallback for real, not a stub.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import type { Ready } from '../runtime/protocol.js';
import { loadSpec } from '../src/spec/index.js';
import { post } from './helpers/http.js';
import { startRuntime, waitReady, type RuntimeProcess } from './helpers/runtime-process.js';
import { exampleDir, photoFiles, repoRoot } from './helpers/shared.js';

// The GPU check's private onnxruntime-node copy with the real CUDA provider libraries beside it
// (from PyPI's onnxruntime-gpu; `node test/gpu/cuda-check.mjs --try-cuda` makes it where pip can
// reach PyPI). Where it exists, the runtime runs on it through test/gpu/ort-redirect.mjs.
const ortVersion = (JSON.parse(readFileSync(join(repoRoot, 'node_modules/onnxruntime-node/package.json'), 'utf8')) as { version: string }).version;
const gpuCache = join(process.env.CORTEX_GPU_CACHE ?? join(homedir(), '.cache', 'cortex-gpu'), `ort-${ortVersion}`);
const gpuOrt = join(gpuCache, 'node_modules', 'onnxruntime-node');
const noCudaCopy = existsSync(join(gpuOrt, 'bin/napi-v6/linux/x64/libonnxruntime_providers_cuda.so')) ? undefined : `no onnxruntime-node copy with CUDA provider libraries at ${gpuOrt} (node test/gpu/cuda-check.mjs --try-cuda makes one)`;
if (noCudaCopy) console.log(`CUDA-library tests skipped: ${noCudaCopy}`);

/** Every folder of the nvidia-* wheels that holds shared libraries. */
function wheelLibraryDirs(dir: string, depth = 0): string[] {
  if (depth > 4 || !existsSync(dir)) return [];
  const entries = readdirSync(dir, { withFileTypes: true });
  const here = entries.some((e) => e.isFile() && /\.so(\.\d+)*$/.test(e.name)) ? [dir] : [];
  return [...here, ...entries.filter((e) => e.isDirectory()).flatMap((e) => wheelLibraryDirs(join(dir, e.name), depth + 1))];
}

let spec: Awaited<ReturnType<typeof loadSpec>>;
test.before(async () => {
  spec = await loadSpec(exampleDir);
});

async function classifier(env: Record<string, string>): Promise<{ rt: RuntimeProcess; model: string }> {
  const api = spec.apis[0]!;
  const rt = await startRuntime(api.predictor.path, api.predictor.config, { CORTEX_INFERENCE_THREADS: '2', CORTEX_LOG_LEVEL: 'info', ...env });
  await waitReady(rt.url, 60_000);
  return { rt, model: api.predictor.config.model as string };
}

test('cuda,cpu without CUDA: "hot dog" on the CPU, and readyz, metrics and the log say why', async (t) => {
  const { rt, model } = await classifier({ CORTEX_EXECUTION_PROVIDERS: 'cuda,cpu' });
  t.teardown(() => rt.child.kill('SIGKILL'));

  const res = await post(`${rt.url}/`, await readFile(photoFiles['hotdog.jpg']), 'image/jpeg');
  t.is(res.status, 200);
  t.is(res.body, 'hot dog');

  const ready = (await (await fetch(`${rt.url}/readyz`)).json()) as Ready;
  t.is(ready.models.length, 1);
  const [loaded] = ready.models;
  t.like(loaded, { model, provider: 'cpu', requested: ['cuda', 'cpu'] });
  t.regex(loaded!.fallback!, /^cuda unavailable \(missing library\): \S+\/libonnxruntime_providers_shared\.so: cannot open shared object file: No such file or directory \(onnxruntime-node was installed without its CUDA provider libraries\)$/);

  const metrics = await (await fetch(`${rt.url}/metrics`)).text();
  t.true(metrics.includes(`cortex_model_info{model="${model}",provider="cpu"} 1`), metrics.split('\n').filter((l) => l.includes('model_info')).join('\n'));

  // One JSON line, a warning, with the same reason.
  const line = rt.logs().split('\n').find((l) => l.includes('runs on cpu, not cuda'));
  t.truthy(line, rt.logs());
  const logged = JSON.parse(line!) as { level: number; msg: string; provider: string; fallback: string };
  t.is(logged.level, 40);
  t.is(logged.msg, `model ${model} runs on cpu, not cuda: ${loaded!.fallback}`);
  t.is(logged.provider, 'cpu');
  t.log(logged.msg);
});

test('cpu alone: the model is reported on cpu with no fallback, in readyz and metrics', async (t) => {
  const { rt, model } = await classifier({});
  t.teardown(() => rt.child.kill('SIGKILL'));
  const ready = (await (await fetch(`${rt.url}/readyz`)).json()) as Ready;
  t.deepEqual(ready.models, [{ model, provider: 'cpu', requested: ['cpu'] }]);
  t.true((await (await fetch(`${rt.url}/metrics`)).text()).includes(`cortex_model_info{model="${model}",provider="cpu"} 1`));
  t.regex(rt.logs(), new RegExp(`"msg":"model ${model.replace(/[.?*+^$[\]\\(){}|-]/g, '\\$&')} runs on cpu"`));
  t.is((await post(`${rt.url}/`, await readFile(photoFiles['hotdog.jpg']), 'image/jpeg')).body, 'hot dog');
});

test('cuda alone (no CPU fallback) without CUDA: init fails, and readyz says why', async (t) => {
  const api = spec.apis[0]!;
  const rt = await startRuntime(api.predictor.path, api.predictor.config, { CORTEX_EXECUTION_PROVIDERS: 'cuda' });
  t.teardown(() => rt.child.kill('SIGKILL'));
  let body: { ready: boolean; error?: string } = { ready: false };
  for (const deadline = Date.now() + 60_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 100))) {
    const res = await fetch(`${rt.url}/readyz`);
    body = (await res.json()) as typeof body;
    if (res.status === 200 || body.error !== 'the predictor is still loading') break;
  }
  t.false(body.ready);
  t.regex(body.error!, /cuda unavailable \(missing library\): \S+libonnxruntime_providers_shared\.so: cannot open shared object file/);
});

(noCudaCopy ? test.skip : test)('with the CUDA provider libraries but no NVIDIA driver: cpu serves, and the reason is the loader\'s (libcuda.so.1)', async (t) => {
  const api = spec.apis[0]!;
  const env = {
    CORTEX_EXECUTION_PROVIDERS: 'cuda,cpu',
    CORTEX_INFERENCE_THREADS: '2',
    CORTEX_GPU_ORT: gpuOrt,
    LD_LIBRARY_PATH: [...wheelLibraryDirs(join(gpuCache, 'python', 'nvidia')), process.env.LD_LIBRARY_PATH].filter(Boolean).join(':'),
  };
  const rt = await startRuntime(api.predictor.path, api.predictor.config, env, ['--import', join(repoRoot, 'test/gpu/ort-redirect.mjs')]);
  t.teardown(() => rt.child.kill('SIGKILL'));
  await waitReady(rt.url, 60_000);
  const [loaded] = ((await (await fetch(`${rt.url}/readyz`)).json()) as Ready).models;
  t.like(loaded, { provider: 'cpu', requested: ['cuda', 'cpu'] });
  // Every CUDA and cuDNN library from the wheels loaded; only the driver's own is missing here.
  t.is(loaded!.fallback, 'cuda unavailable (driver): libcuda.so.1: cannot open shared object file: No such file or directory');
  t.is((await post(`${rt.url}/`, await readFile(photoFiles['hotdog.jpg']), 'image/jpeg')).body, 'hot dog');
});

test('a bad CORTEX_EXECUTION_PROVIDERS stops the runtime at start: one line, exit code 2', async (t) => {
  const api = spec.apis[0]!;
  const err = await t.throwsAsync(startRuntime(api.predictor.path, api.predictor.config, { CORTEX_EXECUTION_PROVIDERS: 'gpu,cpu' }));
  t.regex(err!.message, /^runtime exited with 2: cortex runtime: CORTEX_EXECUTION_PROVIDERS must be cuda and\/or cpu, comma-separated in order of preference \(cuda,cpu on a GPU node\): "gpu" is not one of them, got "gpu,cpu"\n$/);
});

#!/usr/bin/env node
// GPU check: runs onnxruntime-node's CUDA execution provider on a real NVIDIA GPU, wherever one is
// present, and prints the provider that really ran and the inference time against CPU. Self-
// contained: the model (a chain of 1024×1024 MatMul + Relu layers) is written here, and the CUDA
// provider libraries come from PyPI (onnxruntime-gpu of onnxruntime-node's exact version, with
// its CUDA 13 and cuDNN 9 wheels) into ~/.cache/cortex-gpu, standing in for the NuGet download
// that onnxruntime-node's installer would make; node_modules is left as it is. (onnxruntime-gpu
// 1.30.0 on PyPI is built for CUDA 13, as is the NuGet package that the runtime's CUDA image
// installs, so the driver must support CUDA 13: 580 or later.)
//
// Then it starts the real runtime (dist/runtime/main.js: build first) on the same onnxruntime-node,
// with CORTEX_EXECUTION_PROVIDERS=cuda,cpu as the eks profile sets for a GPU api, serving that model
// through a predictor written here, and checks what the runtime itself reports: /readyz's
// models[].provider and nodes, the cortex_model_info{provider} metric and the startup log line must
// agree, and the served output must match the CPU's. On a GPU that is provider "cuda" with nodes on
// cuda; without one it is "cpu", with the reason CUDA is not there.
//
//   npx tsc -p tsconfig.json && node test/gpu/cuda-check.mjs --require-gpu   # on a GPU machine: exit 1 unless CUDA serves
//   node test/gpu/cuda-check.mjs               # no GPU: says so; the CPU baseline and the runtime's CPU fallback only
//   node test/gpu/cuda-check.mjs --try-cuda    # the CUDA path even without a GPU: does it say why it fails?
//
// Output lines start with "gpu-check:"; the last one is a JSON summary. The exit code is 1 when the
// runtime's own reports disagree (always), or, with --require-gpu, when CUDA did not serve.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const args = new Set(process.argv.slice(2));
const requireGpu = args.has('--require-gpu');
// Goes through the CUDA path even without a GPU: checks the PyPI libraries load and that the failure says why.
const tryCuda = args.has('--try-cuda');
const runs = 20;
const say = (line) => console.log(`gpu-check: ${line}`);
const root = fileURLToPath(new URL('../..', import.meta.url));
const require = createRequire(path.join(root, 'package.json'));
const ortDir = path.dirname(require.resolve('onnxruntime-node/package.json'));
const ortVersion = JSON.parse(execFileSync(process.execPath, ['-p', `JSON.stringify(require(${JSON.stringify(path.join(ortDir, 'package.json'))}).version)`]).toString());
const cache = process.env.CORTEX_GPU_CACHE ?? path.join(homedir(), '.cache', 'cortex-gpu');

// ---- the model: ONNX protobuf written by hand -------------------------------------------------
const B = 256, D = 1024, LAYERS = 8;

function varint(n) {
  const out = [];
  let v = BigInt(n);
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) byte |= 0x80;
    out.push(byte);
  } while (v > 0n);
  return Buffer.from(out);
}
const key = (field, wire) => varint((field << 3) | wire);
const int = (field, n) => Buffer.concat([key(field, 0), varint(n)]);
const bytes = (field, buf) => Buffer.concat([key(field, 2), varint(buf.length), buf]);
const str = (field, s) => bytes(field, Buffer.from(s, 'utf8'));
const msg = (field, ...parts) => bytes(field, Buffer.concat(parts));

const FLOAT = 1;
const shape = (dims) => msg(2, ...dims.map((d) => (typeof d === 'number' ? msg(1, int(1, d)) : msg(1, str(2, d)))));
const valueInfo = (field, name, dims) => msg(field, str(1, name), msg(2, msg(1, int(1, FLOAT), shape(dims))));

function weights(layer) {
  // Deterministic, scaled so that activations neither vanish nor blow up through the layers.
  const data = new Float32Array(D * D);
  let seed = 12345 + layer;
  for (let i = 0; i < data.length; i += 1) {
    // Math.imul keeps the LCG in 32 bits: a plain product passes 2^53, drops its low bits and
    // falls into a cycle of a few thousand values.
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    data[i] = ((seed / 2 ** 32) * 2 - 1) * Math.sqrt(6 / D);
  }
  return Buffer.from(data.buffer);
}

function model() {
  const nodes = [];
  const initializers = [];
  let input = 'x';
  for (let l = 0; l < LAYERS; l += 1) {
    const w = `w${l}`, mm = `mm${l}`, out = l === LAYERS - 1 ? 'y' : `h${l}`;
    initializers.push(msg(5, int(1, D), int(1, D), int(2, FLOAT), str(8, w), bytes(9, weights(l))));
    nodes.push(msg(1, str(1, input), str(1, w), str(2, mm), str(3, `matmul${l}`), str(4, 'MatMul')));
    nodes.push(msg(1, str(1, mm), str(2, out), str(3, `relu${l}`), str(4, 'Relu')));
    input = out;
  }
  const graph = msg(7, ...nodes, str(2, 'cortex-gpu-check'), ...initializers, valueInfo(11, 'x', ['batch', D]), valueInfo(12, 'y', ['batch', D]));
  return Buffer.concat([int(1, 8), str(2, 'cortex-gpu-check'), graph, msg(8, str(1, ''), int(2, 17))]);
}

// ---- the worker: one provider, timed ----------------------------------------------------------
async function work(provider, ortPath) {
  const ort = (await import(pathToFileURL(path.join(ortPath, 'dist', 'index.js')).href)).default ?? (await import(pathToFileURL(path.join(ortPath, 'dist', 'index.js')).href));
  const input = new Float32Array(B * D);
  for (let i = 0; i < input.length; i += 1) input[i] = ((i * 7919) % 1000) / 1000 - 0.5;
  const started = performance.now();
  const session = await ort.InferenceSession.create(model(), {
    executionProviders: [provider],
    // Verbose on the CUDA run: onnxruntime logs where it placed the nodes, which is the proof.
    logSeverityLevel: provider === 'cuda' ? 0 : 3,
    ...(provider === 'cpu' ? {} : { intraOpNumThreads: 1 }),
  });
  const createMs = performance.now() - started;
  const feeds = { x: new ort.Tensor('float32', input, [B, D]) };
  let output = await session.run(feeds); // warm-up (CUDA: kernels, cuBLAS handles)
  const times = [];
  for (let i = 0; i < runs; i += 1) {
    const t0 = performance.now();
    output = await session.run(feeds);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const y = output.y.data;
  let checksum = 0;
  for (let i = 0; i < y.length; i += 97) checksum += y[i];
  process.stdout.write(`${JSON.stringify({ provider, createMs, medianMs: times[Math.floor(runs / 2)], minMs: times[0], checksum })}\n`);
}

if (process.argv[2] === '--worker') {
  await work(process.argv[3], process.argv[4]);
  process.exit(0);
}

// ---- the check --------------------------------------------------------------------------------
function findGpu() {
  try {
    const out = execFileSync('nvidia-smi', ['--query-gpu=name,driver_version,memory.total', '--format=csv,noheader'], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 }).toString().trim();
    if (out) return { found: true, detail: out.split('\n')[0] };
  } catch (error) {
    if (existsSync('/dev/nvidia0')) return { found: true, detail: `/dev/nvidia0 present, but nvidia-smi failed: ${String(error.message).split('\n')[0]}` };
    return { found: false, detail: `nvidia-smi ${error.code === 'ENOENT' ? 'is not installed' : 'found no GPU'} and /dev/nvidia0 does not exist` };
  }
  return { found: false, detail: 'nvidia-smi listed no GPU' };
}

function runWorker(provider, ortPath, env) {
  const result = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--worker', provider, ortPath], { env, encoding: 'utf8', timeout: 600_000, maxBuffer: 64 << 20 });
  const line = result.stdout.trim().split('\n').filter((l) => l.startsWith('{')).at(-1);
  const stderr = (result.stderr ?? '').replace(/\x1b\[[0-9;]*m/g, '');
  return { ok: result.status === 0 && line !== undefined, result: line ? JSON.parse(line) : undefined, stderr, status: result.status };
}

/** A private copy of onnxruntime-node (and onnxruntime-common, which it imports) with the CUDA provider libraries from PyPI beside libonnxruntime. */
function cudaOrt() {
  const target = path.join(cache, `ort-${ortVersion}`);
  const pyTarget = path.join(target, 'python');
  const modules = path.join(target, 'node_modules');
  const ortCopy = path.join(modules, 'onnxruntime-node');
  const binDir = path.join(ortCopy, 'bin', 'napi-v6', 'linux', 'x64');
  if (!existsSync(path.join(pyTarget, '.done'))) {
    // The [cuda,cudnn] extras bring the CUDA runtime, cuBLAS, cuFFT, cuRAND and cuDNN wheels that
    // this onnxruntime-gpu build links against (for 1.30.0 on PyPI: CUDA 13, cuDNN 9).
    say(`installing onnxruntime-gpu[cuda,cudnn]==${ortVersion} from PyPI into ${pyTarget}`);
    const pip = spawnSync('python3', ['-m', 'pip', 'install', '--quiet', '--target', pyTarget, `onnxruntime-gpu[cuda,cudnn]==${ortVersion}`], { stdio: 'inherit' });
    if (pip.status !== 0) throw new Error(`pip install onnxruntime-gpu[cuda,cudnn]==${ortVersion} failed`);
    cpSync(fileURLToPath(import.meta.url), path.join(pyTarget, '.done'));
  }
  if (!existsSync(path.join(binDir, 'libonnxruntime_providers_cuda.so'))) {
    // What the binding needs on this platform: its package.json, dist/ and this platform's bin folder.
    for (const part of ['package.json', 'dist', path.join('bin', 'napi-v6', 'linux', 'x64')]) cpSync(path.join(ortDir, part), path.join(ortCopy, part), { recursive: true, dereference: true });
    const common = [path.join(ortDir, 'node_modules', 'onnxruntime-common'), path.join(path.dirname(ortDir), 'onnxruntime-common')].find((dir) => existsSync(dir));
    if (!common) throw new Error(`onnxruntime-common is not installed beside ${ortDir}`);
    cpSync(common, path.join(modules, 'onnxruntime-common'), { recursive: true, dereference: true });
    const capi = path.join(pyTarget, 'onnxruntime', 'capi');
    for (const lib of ['libonnxruntime_providers_shared.so', 'libonnxruntime_providers_cuda.so']) cpSync(path.join(capi, lib), path.join(binDir, lib));
  }
  // Every folder of the nvidia-* wheels that holds shared libraries (nvidia/<lib>/lib, or nvidia/cu13/lib), for the loader.
  const libDirs = [];
  const walk = (dir, depth) => {
    if (depth > 4 || !existsSync(dir)) return;
    const entries = readdirSync(dir, { withFileTypes: true });
    if (entries.some((e) => e.isFile() && /\.so(\.\d+)*$/.test(e.name))) libDirs.push(dir);
    for (const e of entries) if (e.isDirectory()) walk(path.join(dir, e.name), depth + 1);
  };
  walk(path.join(pyTarget, 'nvidia'), 0);
  return { ortPath: ortCopy, libDirs };
}

// ---- the runtime: what it reports ------------------------------------------------------------
// The predictor the runtime serves: the same model and input as the workers above, its checksum back.
const predictorSource = `
const B = ${B}, D = ${D};
let model;
export async function init({ config, helpers }) { model = await helpers.loadModel(config.model); }
export async function predict() {
  const x = new Float32Array(B * D);
  for (let i = 0; i < x.length; i += 1) x[i] = ((i * 7919) % 1000) / 1000 - 0.5;
  const started = performance.now();
  const { y } = await model.run({ x: { type: 'float32', data: x, dims: [B, D] } });
  const ms = performance.now() - started;
  let checksum = 0;
  for (let i = 0; i < y.data.length; i += 97) checksum += y.data[i];
  return { checksum, ms };
}
`;

/** The runtime on `ortPath` asked for cuda,cpu: its /readyz, /metrics and log line about the model, and timed predictions. */
async function runtimeCheck(ortPath, env) {
  const main = path.join(root, 'dist', 'runtime', 'main.js');
  if (!existsSync(main)) throw new Error(`${main} is missing: build first (npx tsc -p tsconfig.json)`);
  const dir = mkdtempSync(path.join(tmpdir(), 'cortex-gpu-check-'));
  const modelPath = path.join(dir, 'model.onnx');
  writeFileSync(modelPath, model());
  writeFileSync(path.join(dir, 'predictor.mjs'), predictorSource);
  const redirect = ortPath === ortDir ? [] : ['--import', fileURLToPath(new URL('./ort-redirect.mjs', import.meta.url))];
  const child = spawn(process.execPath, [...redirect, main], {
    env: {
      ...env,
      ...(redirect.length ? { CORTEX_GPU_ORT: ortPath } : {}),
      PORT: '0',
      HOST: '127.0.0.1',
      CORTEX_PREDICTOR_BUNDLE: path.join(dir, 'predictor.mjs'),
      CORTEX_PREDICTOR_CONFIG: JSON.stringify({ model: modelPath }),
      CORTEX_EXECUTION_PROVIDERS: 'cuda,cpu',
      CORTEX_INFERENCE_THREADS: String(availableParallelism()),
      CORTEX_LOG_LEVEL: 'info',
      CORTEX_CACHE_DIR: path.join(dir, 'cache'),
    },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  let logs = '';
  child.stdout.on('data', (d) => (logs += d));
  child.stderr.on('data', (d) => (logs += d));
  const exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    const port = await Promise.race([
      new Promise((resolve) => child.once('message', (m) => resolve(m.port))),
      exited.then((code) => Promise.reject(new Error(`the runtime exited with ${code}: ${logs.trim().split('\n').slice(-3).join(' | ')}`))),
    ]);
    const url = `http://127.0.0.1:${port}`;
    let ready;
    for (const deadline = Date.now() + 300_000; ; await new Promise((r) => setTimeout(r, 200))) {
      const res = await fetch(`${url}/readyz`);
      ready = await res.json();
      if (res.status === 200) break;
      if (ready.error !== 'the predictor is still loading') throw new Error(`the runtime is not ready: ${ready.error}`);
      if (Date.now() > deadline) throw new Error('the runtime was not ready within 300 s');
    }
    const loaded = ready.models.find((m) => m.model === modelPath);
    if (!loaded) throw new Error(`/readyz lists no model ${modelPath}: ${JSON.stringify(ready.models)}`);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    const metric = metrics.split('\n').find((l) => l.startsWith('cortex_model_info{') && l.includes(`model="${modelPath}"`));
    const metricProvider = metric && / 1$/.test(metric) ? /provider="([^"]*)"/.exec(metric)?.[1] : undefined;
    const logLine = logs.split('\n').map((l) => { try { return JSON.parse(l); } catch { return undefined; } }).find((l) => l?.msg?.startsWith(`model ${modelPath} runs on `));
    const served = [];
    let checksum;
    for (let i = 0; i <= runs; i += 1) {
      const res = await fetch(`${url}/`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      if (res.status !== 200) throw new Error(`POST / answered ${res.status}: ${await res.text()}`);
      const body = await res.json();
      checksum = body.checksum;
      if (i > 0) served.push(body.ms); // the first is a warm-up
    }
    served.sort((a, b) => a - b);
    return {
      provider: loaded.provider,
      nodes: loaded.nodes ?? null,
      fallback: loaded.fallback ?? null,
      metric: metric ?? null,
      metricProvider: metricProvider ?? null,
      log: logLine?.msg ?? null,
      logProvider: logLine?.provider ?? null,
      checksum,
      medianMs: served[Math.floor(served.length / 2)],
    };
  } finally {
    child.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---- the check --------------------------------------------------------------------------------
const summary = { gpu: null, onnxruntimeNode: ortVersion, cpu: null, cuda: null, speedup: null, placement: null, runtime: null, problem: null };
const gpu = findGpu();
summary.gpu = gpu.found ? gpu.detail : null;
say(`onnxruntime-node ${ortVersion}, model: ${LAYERS} × MatMul ${D}×${D} + Relu, batch ${B}, ${runs} timed runs after a warm-up`);

const cpu = runWorker('cpu', ortDir, process.env);
if (!cpu.ok) {
  say(`the CPU run failed (exit ${cpu.status}): ${cpu.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  process.exit(1);
}
summary.cpu = cpu.result;
say(`CPU: median ${cpu.result.medianMs.toFixed(1)} ms per run (min ${cpu.result.minMs.toFixed(1)} ms), session in ${cpu.result.createMs.toFixed(0)} ms`);
const agrees = (checksum) => Math.abs(checksum - cpu.result.checksum) <= 1e-2 * Math.max(1, Math.abs(cpu.result.checksum));

// The onnxruntime-node the runtime check runs on: the copy with the CUDA libraries where CUDA is tried.
let runtimeOrt = { ortPath: ortDir, env: process.env };
let cudaOk = false;
if (!gpu.found && !tryCuda) {
  summary.problem = `no NVIDIA GPU on this machine: ${gpu.detail}`;
  say(`NO GPU: there is no NVIDIA GPU on this machine (${gpu.detail}); the CUDA provider path was NOT run, only the CPU baseline above and the runtime's CPU fallback below`);
} else {
  say(gpu.found ? `GPU: ${gpu.detail}` : `no GPU (${gpu.detail}), trying the CUDA path anyway (--try-cuda)`);
  let cuda;
  try {
    const { ortPath, libDirs } = cudaOrt();
    const env = { ...process.env, LD_LIBRARY_PATH: [...libDirs, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':') };
    runtimeOrt = { ortPath, env };
    cuda = runWorker('cuda', ortPath, env);
  } catch (error) {
    cuda = { ok: false, stderr: String(error.message), status: null };
  }
  const placement = cuda.stderr.split('\n').find((l) => /placed on \[|Node placements|assigned to/i.test(l));
  summary.placement = placement ? placement.replace(/^.*\] /, '').trim() : null;
  if (!cuda.ok) {
    // The loader's own words say which library is missing (libcuda.so.1: no NVIDIA driver; libcudnn…: the wheels).
    const loader = cuda.stderr.match(/Failed to load library \S+ with error: ([^\n]*)/);
    const why = loader ? loader[1].trim() : cuda.stderr.split('\n').filter((l) => /error|fail|cannot|not found|libcu|cudnn/i.test(l)).slice(-3).join(' | ') || cuda.stderr.trim().split('\n').slice(-2).join(' | ');
    summary.problem = `the CUDA provider did not run: ${why}`;
    say(`CUDA FAILED (exit ${cuda.status}): ${why}`);
  } else {
    summary.cuda = cuda.result;
    summary.speedup = cpu.result.medianMs / cuda.result.medianMs;
    cudaOk = agrees(cuda.result.checksum);
    say(`provider used: CUDAExecutionProvider${placement ? ` (${summary.placement})` : ''}`);
    say(`CUDA: median ${cuda.result.medianMs.toFixed(2)} ms per run (min ${cuda.result.minMs.toFixed(2)} ms), session in ${cuda.result.createMs.toFixed(0)} ms: ${summary.speedup.toFixed(1)}× the CPU; outputs ${cudaOk ? 'agree' : 'DIFFER'} (checksum ${cuda.result.checksum.toFixed(4)} vs ${cpu.result.checksum.toFixed(4)})`);
  }
}

// The runtime's own word: readyz, the metric and the log must name one provider, and serve the CPU's numbers.
let runtimeOk = false;
let runtimeServesCuda = false;
try {
  say(`runtime: dist/runtime/main.js with CORTEX_EXECUTION_PROVIDERS=cuda,cpu on ${runtimeOrt.ortPath === ortDir ? 'the installed onnxruntime-node' : `the copy at ${runtimeOrt.ortPath}`}`);
  const rt = await runtimeCheck(runtimeOrt.ortPath, runtimeOrt.env);
  summary.runtime = rt;
  const consistent = rt.metricProvider === rt.provider && rt.logProvider === rt.provider;
  runtimeOk = consistent && agrees(rt.checksum);
  runtimeServesCuda = runtimeOk && rt.provider === 'cuda' && (rt.nodes?.cuda ?? 0) > 0;
  say(`runtime: /readyz provider ${rt.provider}${rt.nodes ? ` (nodes ${JSON.stringify(rt.nodes)})` : ''}; metric ${rt.metric ?? 'MISSING'}; log "${rt.log ?? 'MISSING'}"`);
  if (rt.fallback) say(`runtime: why not CUDA: ${rt.fallback}`);
  say(`runtime: served median ${rt.medianMs.toFixed(2)} ms per model.run (${runs} runs); output ${agrees(rt.checksum) ? 'agrees with' : 'DIFFERS from'} the CPU's (checksum ${rt.checksum.toFixed(4)} vs ${cpu.result.checksum.toFixed(4)})`);
  if (!consistent) say('runtime: INCONSISTENT: /readyz, cortex_model_info and the log line do not name the same provider');
} catch (error) {
  summary.runtime = { error: String(error.message) };
  say(`runtime FAILED: ${error.message}`);
}

console.log(`gpu-check: ${JSON.stringify(summary)}`);
if (!runtimeOk) process.exit(1);
if (requireGpu && !(gpu.found && cudaOk && runtimeServesCuda)) {
  say(`--require-gpu: CUDA did not serve (${!gpu.found ? 'no GPU' : !cudaOk ? 'the CUDA provider run failed or differed' : 'the runtime did not report cuda'})`);
  process.exit(1);
}
process.exit(0);

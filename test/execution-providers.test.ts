// Execution providers as pure functions: the setting, the thread plan, onnxruntime's error text
// cut to one line, where a profiled run placed the nodes; and the loader asked for real.
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { inferencePlan } from '../runtime/inference/plan.js';
import { modelName } from '../runtime/inference/pool.js';
import { classify, describePlacement, type Problem, fallbackReason, libraryProblem, nodesByProvider, ortLibraryDir, trimOrtError } from '../runtime/inference/providers.js';
import { executionProvidersFrom, SettingsError, settingsFromEnv } from '../runtime/settings.js';

const providerCases: Array<[string | undefined, string[]]> = [
  [undefined, ['cpu']],
  ['', ['cpu']],
  ['cpu', ['cpu']],
  ['cuda,cpu', ['cuda', 'cpu']],
  [' CUDA , cpu ', ['cuda', 'cpu']],
  ['cuda', ['cuda']],
];
for (const [raw, want] of providerCases) {
  test(`CORTEX_EXECUTION_PROVIDERS=${JSON.stringify(raw)} is ${want.join(',')}`, (t) => {
    t.deepEqual(executionProvidersFrom({ CORTEX_EXECUTION_PROVIDERS: raw }), want);
  });
}

const badProviders: Array<[string, RegExp]> = [
  ['gpu', /"gpu" is not one of them, got "gpu"/],
  ['cuda,tensorrt', /"tensorrt" is not one of them/],
  ['cuda,,cpu', /an empty entry, got "cuda,,cpu"/],
  ['cuda,cuda,cpu', /a provider is named twice/],
  ['cpu,cuda', /cpu always works, so it can only be last, got "cpu,cuda"/],
];
for (const [raw, message] of badProviders) {
  test(`CORTEX_EXECUTION_PROVIDERS=${raw} is a settings error that says what it allows`, (t) => {
    const err = t.throws(() => executionProvidersFrom({ CORTEX_EXECUTION_PROVIDERS: raw }), { instanceOf: SettingsError, message });
    t.regex(err!.message, /^CORTEX_EXECUTION_PROVIDERS must be cuda and\/or cpu, comma-separated in order of preference \(cuda,cpu on a GPU node\): /);
  });
}

test('the replica reads the providers with its other settings, so a bad value stops it at start', (t) => {
  t.deepEqual(settingsFromEnv({}).executionProviders, ['cpu']);
  t.deepEqual(settingsFromEnv({ CORTEX_EXECUTION_PROVIDERS: 'cuda,cpu' }).executionProviders, ['cuda', 'cpu']);
  t.throws(() => settingsFromEnv({ CORTEX_EXECUTION_PROVIDERS: 'gpu' }), { instanceOf: SettingsError });
});

const plans: Array<[string[], number, { threads: number; cuda: number; cpu: number }]> = [
  [['cpu'], 4, { threads: 4, cuda: 1, cpu: 1 }],
  [['cpu'], 1, { threads: 1, cuda: 1, cpu: 1 }],
  // One session per model per process on a GPU, few intra-op threads; all cores if it ends on the CPU.
  [['cuda', 'cpu'], 4, { threads: 1, cuda: 2, cpu: 4 }],
  [['cuda', 'cpu'], 1, { threads: 1, cuda: 1, cpu: 1 }],
  [['cuda'], 8, { threads: 1, cuda: 2, cpu: 8 }],
  [['cuda', 'cpu'], 0, { threads: 1, cuda: 1, cpu: 1 }],
];
for (const [providers, cores, want] of plans) {
  test(`plan for ${providers.join(',')} on ${cores} cores: ${want.threads} thread(s), intra-op cuda ${want.cuda} cpu ${want.cpu}`, (t) => {
    const plan = inferencePlan(providers as Array<'cuda' | 'cpu'>, cores);
    t.is(plan.threads, want.threads);
    t.deepEqual(plan.session, { executionProviders: providers, intraOpThreads: { cuda: want.cuda, cpu: want.cpu } });
  });
}

// Real onnxruntime texts: from this machine (loader), and as onnxruntime reports CUDA calls (cuda_call.cc).
const cudaCall =
  '/onnxruntime_src/onnxruntime/core/providers/cuda/cuda_call.cc:123 std::conditional_t<THRW, void, onnxruntime::common::Status> onnxruntime::CudaCall(ERRTYPE, const char*, const char*, ERRTYPE, const char*, const char*, int) [with ERRTYPE = cudaError; bool THRW = true; std::conditional_t<THRW, void, onnxruntime::common::Status> = void] /onnxruntime_src/onnxruntime/core/providers/cuda/cuda_call.cc:116 std::conditional_t<THRW, void, onnxruntime::common::Status> onnxruntime::CudaCall(ERRTYPE, const char*, const char*, ERRTYPE, const char*, const char*, int) [with ERRTYPE = cudaError; bool THRW = true; std::conditional_t<THRW, void, onnxruntime::common::Status> = void] CUDA failure 100: no CUDA-capable device is detected ; GPU=32635 ; hostname=5ace ; file=/onnxruntime_src/onnxruntime/core/providers/cuda/cuda_execution_provider.cc ; line=245 ; expr=cudaSetDevice(info_.device_id); ';
const trims: Array<[string, string, string, Problem]> = [
  ['no device', cudaCall, 'CUDA failure 100: no CUDA-capable device is detected (cudaSetDevice(info_.device_id))', 'no device'],
  ['old driver', 'CUDA failure 35: CUDA driver version is insufficient for CUDA runtime version ; GPU=0 ; hostname=x ; file=y.cc ; line=1 ; expr=cudaGetDeviceCount(&n);', 'CUDA failure 35: CUDA driver version is insufficient for CUDA runtime version (cudaGetDeviceCount(&n))', 'driver'],
  ['cuDNN', 'CUDNN failure 4: CUDNN_STATUS_INTERNAL_ERROR ; GPU=0 ; hostname=h ; file=f ; line=2 ; expr=cudnnCreate(&h);', 'CUDNN failure 4: CUDNN_STATUS_INTERNAL_ERROR (cudnnCreate(&h))', 'error'],
  [
    'the loader, in onnxruntime\'s log',
    '\x1b[1;31m2026-12-02 00:30:20.079 [E:onnxruntime:onnxruntime-node, provider_bridge_ort.cc:2146 Create] /onnxruntime_src/onnxruntime/core/session/provider_bridge_ort.cc:1988 onnxruntime::Provider& onnxruntime::ProviderLibrary::Get() [ONNXRuntimeError] : 1 : FAIL : Failed to load library /x/libonnxruntime_providers_cuda.so with error: libcublasLt.so.12: cannot open shared object file: No such file or directory\n\x1b[m',
    'libcublasLt.so.12: cannot open shared object file: No such file or directory',
    'missing library',
  ],
  [
    'no driver (the PyPI CUDA libraries loaded, the driver\'s did not)',
    'Failed to load library /c/libonnxruntime_providers_cuda.so with error: libcuda.so.1: cannot open shared object file: No such file or directory',
    'libcuda.so.1: cannot open shared object file: No such file or directory',
    'driver',
  ],
  ['a plain message', 'OrtSessionOptionsAppendExecutionProvider_Cuda: Failed to load shared library', 'OrtSessionOptionsAppendExecutionProvider_Cuda: Failed to load shared library', 'missing library'],
  ['onnxruntime\'s prefix', '[ONNXRuntimeError] : 6 : RUNTIME_EXCEPTION : /onnxruntime_src/a.cc:12 out of memory', 'out of memory', 'error'],
];
for (const [what, text, line, problem] of trims) {
  test(`onnxruntime's error to one line: ${what}`, (t) => {
    t.is(trimOrtError(text), line);
    t.is(classify(trimOrtError(text)), problem);
  });
}

test('a long error is cut, and the reason says which provider and what kind of problem', (t) => {
  t.is(trimOrtError('x'.repeat(1000)).length, 300);
  t.is(fallbackReason('cuda', cudaCall), 'cuda unavailable (no device): CUDA failure 100: no CUDA-capable device is detected (cudaSetDevice(info_.device_id))');
  t.is(fallbackReason('cuda', 'warm-up on cuda failed: boom'), 'cuda failed: warm-up on cuda failed: boom');
});

test('the loader says which provider library is missing here, in its own words', (t) => {
  // onnxruntime-node on this machine ships without its CUDA provider libraries.
  const problem = libraryProblem('cuda');
  t.regex(problem!, /libonnxruntime_providers_shared\.so: cannot open shared object file: No such file or directory \(onnxruntime-node was installed without its CUDA provider libraries\)$/);
  t.true(problem!.startsWith(ortLibraryDir()));
  t.is(libraryProblem('cpu'), undefined);
});

test('a provider library that is there but does not load is named with the loader\'s reason; one that loads is not the problem', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cortex-libs-'));
  writeFileSync(join(dir, 'libonnxruntime_providers_shared.so'), '');
  t.regex(libraryProblem('cuda', dir)!, /libonnxruntime_providers_shared\.so: file too short/);
  // A library that loads (libonnxruntime itself stands in), then the CUDA one missing.
  copyFileSync(join(ortLibraryDir(), 'libonnxruntime.so.1'), join(dir, 'libonnxruntime_providers_shared.so'));
  t.regex(libraryProblem('cuda', dir)!, /libonnxruntime_providers_cuda\.so: cannot open shared object file/);
});

test('a profile counts each node once, by provider', (t) => {
  const event = (node: string, provider: string, suffix = 'kernel_time') => ({ cat: 'Node', name: `n${node}_${suffix}`, args: { node_index: node, provider } });
  const profile = [
    { cat: 'Session', name: 'model_run' },
    event('0', 'CUDAExecutionProvider'),
    event('0', 'CUDAExecutionProvider', 'fence_before'),
    event('1', 'CUDAExecutionProvider'),
    event('2', 'CPUExecutionProvider'),
    event('3', 'TensorrtExecutionProvider'),
  ];
  t.deepEqual(nodesByProvider(profile), { cuda: 2, cpu: 1, TensorrtExecutionProvider: 1 });
  t.deepEqual(nodesByProvider({}), {});
});

test('the log line says where a model runs, and why not where it was asked to', (t) => {
  t.is(describePlacement({ model: 'm.onnx', provider: 'cpu', requested: ['cpu'] }), 'model m.onnx runs on cpu');
  t.is(describePlacement({ model: 'm.onnx', provider: 'cuda', requested: ['cuda', 'cpu'], nodes: { cuda: 52, cpu: 14 } }), 'model m.onnx runs on cuda (52 of 66 nodes; the rest on cpu)');
  t.is(describePlacement({ model: 'm.onnx', provider: 'cuda', requested: ['cuda', 'cpu'], nodes: { cuda: 9 } }), 'model m.onnx runs on cuda');
  t.is(
    describePlacement({ model: 'm.onnx', provider: 'cpu', requested: ['cuda', 'cpu'], fallback: 'cuda unavailable (no device): CUDA failure 100: no CUDA-capable device is detected' }),
    'model m.onnx runs on cpu, not cuda: cuda unavailable (no device): CUDA failure 100: no CUDA-capable device is detected',
  );
});

test('a model URL is shown without credentials, query or fragment', (t) => {
  t.is(modelName('https://user:secret@example.com/models/m.onnx?X-Amz-Signature=abc#x'), 'https://example.com/models/m.onnx');
  t.is(modelName('/cache/m.onnx'), '/cache/m.onnx');
  t.is(modelName('models/m.onnx'), 'models/m.onnx');
});

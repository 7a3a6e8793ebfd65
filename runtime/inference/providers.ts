// Which execution provider a model really got, and, when a faster one was asked for and is not
// there, why not, in onnxruntime's own words cut down to one line. The text functions are pure;
// `libraryProblem` asks the dynamic loader, in the inference thread, only after onnxruntime failed.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LoadedModel } from '../protocol.js';
import type { ExecutionProvider } from '../settings.js';

/** onnxruntime's names for the providers, as its profiler writes them. */
const ortNames: Record<string, ExecutionProvider> = { CUDAExecutionProvider: 'cuda', CPUExecutionProvider: 'cpu' };

/** What is wrong, as a person would group it: the fix differs for each. */
export type Problem = 'missing library' | 'no device' | 'driver' | 'error';

const maxReason = 300;

/**
 * One line from an onnxruntime error: a CUDA call's failure without the C++ signatures and the
 * source paths around it, a loader error without onnxruntime's prefix, anything else trimmed.
 */
export function trimOrtError(text: string): string {
  const flat = text.replace(/\x1b\[[0-9;]*m/g, '').replace(/\s+/g, ' ').trim();
  // cuda_call.cc: "CUDA failure 100: no CUDA-capable device is detected ; GPU=0 ; hostname=… ; file=… ; line=… ; expr=cudaSetDevice(…);"
  const call = /\b((?:CUDA|CUBLAS|CUDNN|CUFFT|CURAND|CUSPARSE|NCCL)\w* failure -?\d+: .*?)(?: ; GPU=.*?(?:; expr=(.*?);?)?)?$/.exec(flat);
  if (call) return cap(call[2] ? `${call[1]!.trim()} (${call[2].trim()})` : call[1]!.trim());
  // provider_bridge_ort.cc: "Failed to load library X with error: X: cannot open shared object file: …"
  const loader = /Failed to load library \S+ with error: (.*)$/.exec(flat);
  if (loader) return cap(loader[1]!);
  return cap(
    flat
      .replace(/^.*\[ONNXRuntimeError\] : \d+ : \w+ : /, '')
      .replace(/^(?:\/\S+:\d+ )/, '')
      .trim(),
  );
}

function cap(line: string): string {
  return line.length <= maxReason ? line : `${line.slice(0, maxReason - 1)}…`;
}

export function classify(reason: string): Problem {
  // libcuda.so.1 is the driver's own library: without it there is no driver, whatever else is installed.
  if (/libcuda\.so|libnvidia-ml\.so/.test(reason)) return 'driver';
  if (/cannot open shared object file|Failed to load (?:shared )?library|image not found|\.so[.\d]*: .*(?:No such file|wrong ELF|undefined symbol)/i.test(reason)) return 'missing library';
  if (/no CUDA-capable device|failure 100:|cudaErrorNoDevice|CUDA_VISIBLE_DEVICES/i.test(reason)) return 'no device';
  if (/driver/i.test(reason)) return 'driver';
  return 'error';
}

/** "missing library: libonnxruntime_providers_shared.so: cannot open shared object file: …" */
export function fallbackReason(provider: ExecutionProvider, errorText: string): string {
  const reason = trimOrtError(errorText);
  const problem = classify(reason);
  return `${provider} ${problem === 'error' ? 'failed' : `unavailable (${problem})`}: ${reason}`;
}

/**
 * The folder onnxruntime-node loads its binding and libonnxruntime from; provider libraries must be
 * beside them. Resolved as `import 'onnxruntime-node'` is, so it is the copy the worker really loaded.
 */
export function ortLibraryDir(): string {
  const index = fileURLToPath(import.meta.resolve('onnxruntime-node'));
  return join(dirname(index), '..', 'bin', 'napi-v6', process.platform, process.arch);
}

/** The provider libraries onnxruntime loads for each provider, in the order it loads them. */
const providerLibraries: Partial<Record<ExecutionProvider, string[]>> = {
  cuda: ['libonnxruntime_providers_shared.so', 'libonnxruntime_providers_cuda.so'],
};

/**
 * onnxruntime tells JavaScript only "Failed to load shared library" (the loader's reason goes to
 * its own log, on stderr). The same load by the same loader gives the same reason: a missing
 * provider library, or one of the CUDA/cuDNN libraries it needs. Node's dlopen then fails to find
 * a Node module in a library that did load ("did not self-register"): that library is fine.
 */
export function libraryProblem(provider: ExecutionProvider, dir = ortLibraryDir()): string | undefined {
  for (const name of providerLibraries[provider] ?? []) {
    const file = join(dir, name);
    const missing = !existsSync(file);
    try {
      process.dlopen({ exports: {} }, file);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (missing) return `${message} (onnxruntime-node was installed without its ${provider.toUpperCase()} provider libraries)`;
      if (!/did not self-register/i.test(message)) return message;
    }
  }
  return undefined;
}

/** Nodes per provider, from the JSON of a profiled run (`"cat": "Node"` events name their provider). */
export function nodesByProvider(profile: unknown): Record<string, number> {
  const seen = new Map<string, Set<string>>();
  if (!Array.isArray(profile)) return {};
  for (const event of profile as Array<{ cat?: unknown; name?: unknown; args?: { provider?: unknown; node_index?: unknown } }>) {
    const provider = event?.args?.provider;
    if (event?.cat !== 'Node' || typeof provider !== 'string') continue;
    const name = ortNames[provider] ?? provider;
    const node = String(event.args?.node_index ?? String(event.name).replace(/_(?:kernel_time|fence_before|fence_after)$/, ''));
    if (!seen.has(name)) seen.set(name, new Set());
    seen.get(name)!.add(node);
  }
  return Object.fromEntries([...seen].map(([name, nodes]) => [name, nodes.size]));
}

/** The log line of a loaded model: "model X runs on cuda (52 of 66 nodes; the rest on cpu)", or where and why not. */
export function describePlacement(m: LoadedModel): string {
  const total = m.nodes ? Object.values(m.nodes).reduce((a, b) => a + b, 0) : 0;
  const share = m.nodes && m.provider !== 'cpu' && total > (m.nodes[m.provider] ?? 0) ? ` (${m.nodes[m.provider] ?? 0} of ${total} nodes; the rest on cpu)` : '';
  if (!m.fallback) return `model ${m.model} runs on ${m.provider}${share}`;
  return `model ${m.model} runs on ${m.provider}${share}, not ${m.requested[0]}: ${m.fallback}`;
}

// One inference thread. ONNX Runtime's `run` is a synchronous native call, so it lives here,
// off the main thread, where it cannot stall health checks or other requests.
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parentPort } from 'node:worker_threads';
import ort from 'onnxruntime-node';
import type { Tensor, ValueInfo } from '../contract.js';
import type { ExecutionProvider } from '../settings.js';
import { rowsOf, signature, split, stack } from './batch.js';
import type { ItemResult, ModelInfo, Placement, SessionSettings, WorkerReply, WorkerRequest } from './protocol.js';
import { fallbackReason, libraryProblem, nodesByProvider } from './providers.js';
import { yieldToTheServer } from '../thread-priority.js';

yieldToTheServer();

const sessions = new Map<string, Promise<Loaded>>();

function describe(metadata: readonly ort.InferenceSession.ValueMetadata[]): ValueInfo[] {
  return metadata.map((m) => (m.isTensor ? { name: m.name, type: m.type, shape: [...m.shape] } : { name: m.name }));
}

/** A zero input of the declared shape (symbolic dimensions as 1), so the first real request is not the slow one. */
async function warmUp(session: ort.InferenceSession): Promise<boolean> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const m of session.inputMetadata) {
    if (!m.isTensor || m.type !== 'float32') return false;
    const dims = m.shape.map((d) => (typeof d === 'number' && d > 0 ? d : 1));
    feeds[m.name] = new ort.Tensor('float32', new Float32Array(dims.reduce((a, b) => a * b, 1)), dims);
  }
  await session.run(feeds);
  return true;
}

interface Loaded {
  session: ort.InferenceSession;
  placement: Placement;
}

/**
 * A session on the first of the providers asked for that works: onnxruntime itself fails the
 * whole session when one provider cannot start (a missing CUDA library, no device), so each is
 * tried in turn, and each failure becomes the reason the model runs where it does.
 */
async function load(path: string, settings: SessionSettings): Promise<Loaded> {
  const reasons: string[] = [];
  const wanted = settings.executionProviders;
  for (let i = 0; i < wanted.length; i++) {
    const provider = wanted[i]!;
    try {
      const loaded = provider === 'cpu' ? await onCpu(path, settings) : await onDevice(path, wanted.slice(i), settings);
      if (reasons.length) loaded.placement.fallback = [...reasons, ...(loaded.placement.fallback ? [loaded.placement.fallback] : [])].join('; ');
      return loaded;
    } catch (err) {
      const text = err instanceof Error ? err.message : String(err);
      const loader = provider !== 'cpu' && /Failed to load shared library/i.test(text) ? libraryProblem(provider) : undefined;
      const reason = provider === 'cpu' ? text : fallbackReason(provider, loader ?? text);
      // The last one's error is the model's (a file onnxruntime cannot read fails everywhere), then why not the others.
      if (i === wanted.length - 1) throw new Error(reasons.length ? `${reason} (before that: ${reasons.join('; ')})` : reason);
      reasons.push(reason);
    }
  }
  throw new Error('no execution provider to try');
}

async function onCpu(path: string, settings: SessionSettings): Promise<Loaded> {
  const session = await ort.InferenceSession.create(path, {
    intraOpNumThreads: settings.intraOpThreads.cpu,
    interOpNumThreads: 1,
    executionProviders: ['cpu'],
  });
  await warmUp(session).catch(() => undefined);
  return { session, placement: { provider: 'cpu' } };
}

/**
 * A session on a device, the providers after it taking what it cannot. Its warm-up is profiled
 * once: the profile names the provider of every node, which is the only place onnxruntime says
 * where a model really runs. A warm-up that fails there (out of device memory, a GPU this build
 * has no kernels for) is a reason to try the next provider, not a replica that fails later.
 */
async function onDevice(path: string, providers: ExecutionProvider[], settings: SessionSettings): Promise<Loaded> {
  const provider = providers[0]!;
  const profileDir = await mkdtemp(join(tmpdir(), 'cortex-ort-profile-')).catch(() => undefined);
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(path, {
      intraOpNumThreads: settings.intraOpThreads[provider],
      interOpNumThreads: 1,
      executionProviders: providers,
      ...(profileDir ? { enableProfiling: true, profileFilePrefix: join(profileDir, 'warm-up') } : {}),
      // Blocking, not spinning, while the device works (plan.ts).
      extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
    });
  } catch (err) {
    if (profileDir) await rm(profileDir, { recursive: true, force: true }).catch(() => undefined);
    throw err;
  }
  let failed: unknown;
  await warmUp(session).catch((err: unknown) => (failed = err ?? 'failed'));
  if (profileDir) {
    try {
      session.endProfiling();
    } catch {
      // the placement is then unknown, not wrong
    }
  }
  const nodes = profileDir ? await readProfile(profileDir) : undefined;
  if (failed !== undefined) {
    await session.release().catch(() => undefined);
    throw new Error(`warm-up on ${provider} failed: ${failed instanceof Error ? failed.message : String(failed)}`);
  }
  if (!nodes || Object.keys(nodes).length === 0) return { session, placement: { provider } };
  // Any node on the device means the device runs the model; none means it took nothing of it.
  if (nodes[provider]) return { session, placement: { provider, nodes } };
  return { session, placement: { provider: 'cpu', nodes, fallback: `${provider} took none of the model's nodes` } };
}

async function readProfile(dir: string): Promise<Record<string, number> | undefined> {
  try {
    const files = (await readdir(dir)).filter((f) => f.endsWith('.json'));
    if (files.length === 0) return undefined;
    return nodesByProvider(JSON.parse(await readFile(join(dir, files[0]!), 'utf8')));
  } catch {
    return undefined;
  } finally {
    await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  }
}

async function handle(msg: WorkerRequest): Promise<WorkerReply> {
  if (msg.op === 'close') {
    // Releasing sessions here, not during thread teardown, keeps ONNX Runtime from aborting the process.
    const all = await Promise.allSettled(sessions.values());
    for (const s of all) if (s.status === 'fulfilled') await s.value.session.release();
    sessions.clear();
    return { id: msg.id, ok: true };
  }
  if (msg.op === 'load') {
    let session = sessions.get(msg.key);
    if (!session) {
      session = load(msg.path, msg.settings);
      sessions.set(msg.key, session);
      session.catch(() => sessions.delete(msg.key));
    }
    const { session: s, placement } = await session;
    const info: ModelInfo = { inputs: describe(s.inputMetadata), outputs: describe(s.outputMetadata), placement };
    return { id: msg.id, ok: true, info };
  }
  const session = sessions.get(msg.key);
  if (!session) throw new Error(`model ${msg.key} is not loaded in this worker`);
  const { session: s } = await session;
  const runs: number[] = [];
  const results = await runItems(s, msg.items, runs);
  return { id: msg.id, ok: true, results, runs };
}

const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** One call's run, as it was before batching: its own tensors, onnxruntime's own errors. */
async function runOne(s: ort.InferenceSession, feeds: Record<string, Tensor>, runs: number[]): Promise<ItemResult> {
  try {
    const input: Record<string, ort.Tensor> = {};
    for (const [name, t] of Object.entries(feeds)) input[name] = new ort.Tensor(t.type, t.data, t.dims);
    runs.push(rowsOf(feeds) ?? 1);
    const results = await s.run(input);
    const outputs: Record<string, Tensor> = {};
    for (const [name, t] of Object.entries(results)) {
      // Copy out of ONNX Runtime's memory so the buffer can be transferred back.
      outputs[name] = { type: t.type as Tensor['type'], data: (t.data as Tensor['data']).slice(), dims: [...t.dims] };
    }
    return { ok: true, outputs };
  } catch (err) {
    return { ok: false, error: errorText(err) };
  }
}

/**
 * The calls that fit together (the first well-formed call's signature) run as one batch; the
 * others run alone, so a malformed input fails only its own call, with the error it would have
 * had unbatched. A batch that fails as a whole is run again call by call for the same reason.
 */
async function runItems(s: ort.InferenceSession, items: Array<Record<string, Tensor>>, runs: number[]): Promise<ItemResult[]> {
  if (items.length === 1) return [await runOne(s, items[0]!, runs)];
  const declared = describe(s.inputMetadata);
  const sigs = items.map((feeds) => (rowsOf(feeds) === undefined ? undefined : signature(feeds, declared)));
  const lead = sigs.find((sig) => sig !== undefined);
  const together = lead === undefined ? [] : items.flatMap((_, i) => (sigs[i] === lead ? [i] : []));
  const results: ItemResult[] = new Array(items.length);
  if (together.length > 1) {
    const rows = together.map((i) => rowsOf(items[i]!)!);
    const batched = await runOne(s, stack(together.map((i) => items[i]!)), []);
    const parts = batched.ok ? split(batched.outputs, rows) : undefined;
    if (parts) {
      runs.push(rows.reduce((a, b) => a + b, 0));
      together.forEach((i, k) => (results[i] = { ok: true, outputs: parts[k]! }));
    }
  }
  for (let i = 0; i < items.length; i++) if (!results[i]) results[i] = await runOne(s, items[i]!, runs);
  return results;
}

parentPort!.on('message', (msg: WorkerRequest) => {
  handle(msg).then(
    (reply) => {
      const transfer = reply.ok && reply.results ? reply.results.flatMap((r) => (r.ok ? Object.values(r.outputs).map((t) => t.data.buffer as ArrayBuffer) : [])) : [];
      parentPort!.postMessage(reply, transfer);
    },
    (err: unknown) => parentPort!.postMessage({ id: msg.id, ok: false, error: err instanceof Error ? err.message : String(err) }),
  );
});

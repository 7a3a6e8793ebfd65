// One inference thread. ONNX Runtime's `run` is a synchronous native call, so it lives here,
// off the main thread, where it cannot stall health checks or other requests.
import { parentPort } from 'node:worker_threads';
import ort from 'onnxruntime-node';
import type { Tensor, ValueInfo } from '../contract.js';
import type { ModelInfo, SessionSettings, WorkerReply, WorkerRequest } from './protocol.js';
import { yieldToTheServer } from '../thread-priority.js';

yieldToTheServer();

const sessions = new Map<string, Promise<ort.InferenceSession>>();

function describe(metadata: readonly ort.InferenceSession.ValueMetadata[]): ValueInfo[] {
  return metadata.map((m) => (m.isTensor ? { name: m.name, type: m.type, shape: [...m.shape] } : { name: m.name }));
}

/** A zero input of the declared shape (symbolic dimensions as 1), so the first real request is not the slow one. */
async function warmUp(session: ort.InferenceSession): Promise<void> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const m of session.inputMetadata) {
    if (!m.isTensor || m.type !== 'float32') return;
    const dims = m.shape.map((d) => (typeof d === 'number' && d > 0 ? d : 1));
    feeds[m.name] = new ort.Tensor('float32', new Float32Array(dims.reduce((a, b) => a * b, 1)), dims);
  }
  await session.run(feeds);
}

async function load(path: string, settings: SessionSettings): Promise<ort.InferenceSession> {
  const session = await ort.InferenceSession.create(path, {
    intraOpNumThreads: settings.intraOpThreads,
    interOpNumThreads: 1,
    executionProviders: settings.executionProviders,
  });
  await warmUp(session).catch(() => undefined);
  return session;
}

async function handle(msg: WorkerRequest): Promise<WorkerReply> {
  if (msg.op === 'close') {
    // Releasing sessions here, not during thread teardown, keeps ONNX Runtime from aborting the process.
    const all = await Promise.allSettled(sessions.values());
    for (const s of all) if (s.status === 'fulfilled') await s.value.release();
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
    const s = await session;
    const info: ModelInfo = { inputs: describe(s.inputMetadata), outputs: describe(s.outputMetadata) };
    return { id: msg.id, ok: true, info };
  }
  const session = sessions.get(msg.key);
  if (!session) throw new Error(`model ${msg.key} is not loaded in this worker`);
  const s = await session;
  const feeds: Record<string, ort.Tensor> = {};
  for (const [name, t] of Object.entries(msg.feeds)) feeds[name] = new ort.Tensor(t.type, t.data, t.dims);
  const results = await s.run(feeds);
  const outputs: Record<string, Tensor> = {};
  for (const [name, t] of Object.entries(results)) {
    // Copy out of ONNX Runtime's memory so the buffer can be transferred back.
    outputs[name] = { type: t.type as Tensor['type'], data: (t.data as Tensor['data']).slice(), dims: [...t.dims] };
  }
  return { id: msg.id, ok: true, outputs };
}

parentPort!.on('message', (msg: WorkerRequest) => {
  handle(msg).then(
    (reply) => {
      const transfer = reply.ok && reply.outputs ? Object.values(reply.outputs).map((t) => t.data.buffer as ArrayBuffer) : [];
      parentPort!.postMessage(reply, transfer);
    },
    (err: unknown) => parentPort!.postMessage({ id: msg.id, ok: false, error: err instanceof Error ? err.message : String(err) }),
  );
});

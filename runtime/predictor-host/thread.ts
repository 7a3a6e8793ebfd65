// The thread that hosts one predictor version: it imports the bundle, runs init and then every
// predict. Whatever the predictor does to this thread's globals dies with the thread; models run
// in the replica's shared inference pool, reached through the main thread.
import { parentPort, workerData } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
import type { Metadata, Model, PredictorModule, Sample } from '../contract.js';
import { createHelpers } from '../helpers/index.js';
import { clientStatus, errorMessage } from '../http-error.js';
import { takeBuffers } from '../inference/transfer.js';
import { yieldToTheServer } from '../thread-priority.js';
import { userFrame } from '../user-frame.js';
import type { Answer, Failure, FromHost, HostData, ToHost } from './protocol.js';

process.setSourceMapsEnabled(true);
// A predictor's own work (decoding, the tensor loop) must not outrun the health checks either.
yieldToTheServer();
const data = workerData as HostData;
const port = parentPort!;
const send = (msg: FromHost, transfer: ArrayBuffer[] = []) => port.postMessage(msg, transfer);

// The main thread watches these: a thread that stops sending them is stuck in synchronous code.
setInterval(() => send({ op: 'heartbeat' }), data.heartbeatMs).unref();

function failure(what: string | undefined, err: unknown): Failure {
  const status = clientStatus(err);
  const location = userFrame((err as Error | undefined)?.stack, data.bundleDir);
  return { message: what ? `${what}: ${errorMessage(err)}` : errorMessage(err), ...(status ? { status } : {}), ...(location ? { location } : {}) };
}

// Mistakes no request handler can catch (a promise nobody awaits, a throw in a timer) would end
// the thread: report them instead, so the main thread logs and counts them.
process.on('unhandledRejection', (reason) => send({ op: 'stray', kind: 'rejection', ...failure(undefined, reason) }));
process.on('uncaughtException', (err) => send({ op: 'stray', kind: 'exception', ...failure(undefined, err) }));

// Calls into the main thread (model loading and running), matched by id.
const calls = new Map<number, { resolve: (msg: ToHost) => void; reject: (err: Error) => void }>();
let nextCall = 1;
function call(msg: FromHost & { id: number }, transfer: ArrayBuffer[] = []): Promise<ToHost> {
  return new Promise((resolve, reject) => {
    calls.set(msg.id, { resolve, reject });
    send(msg, transfer);
  });
}

async function loadModelFile(path: string, source: string): Promise<Model> {
  const reply = await call({ op: 'load-model', id: nextCall++, path, source });
  if (reply.op !== 'model-loaded') throw new Error(reply.op === 'model-failed' ? reply.error : 'unexpected reply');
  const { key, info } = reply;
  return {
    source: path,
    inputs: info.inputs,
    outputs: info.outputs,
    run: async (feeds) => {
      const ran = await call({ op: 'run-model', id: nextCall++, key, feeds }, takeBuffers(feeds));
      if (ran.op !== 'model-ran') throw new Error(ran.op === 'model-failed' ? ran.error : 'unexpected reply');
      return ran.outputs;
    },
  };
}

/** JSON text, or why the value cannot be sent: JSON.stringify answers undefined for a symbol or a function. */
function encode(result: unknown): Answer {
  if (Buffer.isBuffer(result)) return { kind: 'bytes', data: result };
  let text: string | undefined;
  try {
    text = JSON.stringify(result ?? null);
  } catch (err) {
    throw new Error(`the prediction is not JSON-serialisable: ${errorMessage(err)}`);
  }
  if (text === undefined) throw new Error(`the prediction is not JSON-serialisable: predict returned a ${typeof result}`);
  return { kind: 'json', text };
}

/** A clone of a Buffer arrives as a plain Uint8Array: give predictors the Buffer they were promised. */
function revive(sample: Sample | Uint8Array): Sample {
  return sample instanceof Uint8Array && !Buffer.isBuffer(sample) ? Buffer.from(sample.buffer, sample.byteOffset, sample.byteLength) : sample;
}

async function predict(module: PredictorModule, id: number, sample: Sample, metadata: Metadata): Promise<void> {
  try {
    const answer = encode(await module.predict(revive(sample), metadata));
    // Bytes that own their buffer move to the main thread; a view into Node's pool is copied.
    const whole = answer.kind === 'bytes' && answer.data.byteOffset === 0 && answer.data.byteLength === answer.data.buffer.byteLength;
    send({ op: 'answer', id, answer }, whole ? [answer.data.buffer as ArrayBuffer] : []);
  } catch (err) {
    send({ op: 'failed', id, failure: failure(undefined, err) });
  }
}

async function load(): Promise<PredictorModule> {
  send({ op: 'booted' });
  let module: PredictorModule;
  try {
    module = (await import(pathToFileURL(data.file).href)) as PredictorModule;
  } catch (err) {
    throw failure('the predictor failed to load', err);
  }
  send({ op: 'imported' });
  if (typeof module.predict !== 'function') throw { message: 'the predictor does not export a predict(sample, metadata) function' } satisfies Failure;
  if (module.init !== undefined && typeof module.init !== 'function') throw { message: 'the predictor exports "init", but it is not a function' } satisfies Failure;
  const helpers = createHelpers(data.assets, loadModelFile);
  try {
    await module.init?.({ config: data.config, api: data.api, helpers });
  } catch (err) {
    throw failure('init failed', err);
  }
  return module;
}

let module: PredictorModule | undefined;

port.on('message', (msg: ToHost) => {
  if (msg.op === 'predict') {
    if (module) void predict(module, msg.id, msg.sample, msg.metadata);
    else send({ op: 'failed', id: msg.id, failure: { message: 'the predictor is not initialised yet' } });
    return;
  }
  const pending = calls.get(msg.id);
  calls.delete(msg.id);
  pending?.resolve(msg);
});

load().then(
  (loaded) => {
    module = loaded;
    send({ op: 'ready' });
  },
  (failed: Failure) => send({ op: 'refused', failure: failed }),
);

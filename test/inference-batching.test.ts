// Server-side batching in the inference pool, on the real model and photos: concurrent runs of
// one model share one run, and each call still gets exactly what it would have got alone.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import type { Tensor } from '../runtime/contract.js';
import { imageToTensor } from '../runtime/helpers/image.js';
import { topK } from '../runtime/helpers/math.js';
import { rowsOf, signature, split, stack, unbatchable } from '../runtime/inference/batch.js';
import { inferencePlan } from '../runtime/inference/plan.js';
import { InferencePool } from '../runtime/inference/pool.js';
import { fixtures, modelFile, photoFiles } from './helpers/shared.js';

const fixedBatch = join(fixtures, 'models/fixed-batch.onnx');
const session = inferencePlan(['cpu'], 2).session;

// The pools that wait out the interval for a batch, as on a GPU (pool.ts: patientOn), are made
// to wait on the CPU here, so the rule a GPU replica follows is tested on this machine.
const asOnGpu = new Set(['cpu'] as const);
const alone = new InferencePool(1, session);
const batched = new InferencePool(2, session, { maxBatchSize: 8, intervalMs: 200 }, asOnGpu);
test.after.always(() => Promise.all([alone.close(), batched.close()]));

let photos: string[] = [];
let tensors: Tensor[] = [];
test.before(async () => {
  photos = Object.keys(photoFiles);
  tensors = await Promise.all(Object.values(photoFiles).map(async (f) => imageToTensor(await readFile(f))));
});
const copy = (t: Tensor): Tensor => ({ ...t, data: t.data.slice(), dims: [...t.dims] });

/** Predictions in flight that have not called run yet: what a batch waits for. */
function inFlight(n: number, pool = batched): () => void {
  let end!: () => void;
  const work = new Promise<void>((resolve) => (end = resolve));
  for (let i = 0; i < n; i++) void pool.track(work);
  return end;
}

function sizes(pool: InferencePool): { list: number[]; stop: () => void } {
  const list: number[] = [];
  const on = ({ rows }: { rows: number }) => list.push(rows);
  pool.on('ran', on);
  return { list, stop: () => pool.off('ran', on) };
}

test.serial('batched answers equal unbatched ones for every photo: same top-1, logits within 1e-4', async (t) => {
  const one = await alone.load(modelFile);
  const many = await batched.load(modelFile);
  const reference: Float32Array[] = [];
  for (const input of tensors) reference.push((await one.run({ input: copy(input) })).output!.data as Float32Array);

  const ran = sizes(batched);
  // All photos in flight at once, as concurrent requests would be: they share runs.
  const end = inFlight(tensors.length);
  const outs = await Promise.all(tensors.map((input) => many.run({ input: copy(input) })));
  end();
  ran.stop();
  t.true(Math.max(...ran.list) > 1, `batch sizes run: ${ran.list.join(', ')}`);
  t.is(ran.list.reduce((a, b) => a + b, 0), tensors.length);
  t.true(ran.list.length >= 2, 'what is queued is shared out between the two threads');
  t.log(`batch sizes run: ${ran.list.join(', ')}`);
  outs.forEach((out, i) => {
    const got = out.output!.data as Float32Array;
    t.deepEqual(out.output!.dims, [1, 1000]);
    t.is(topK(got, 1)[0]!.index, topK(reference[i]!, 1)[0]!.index, photos[i]);
    let worst = 0;
    for (let k = 0; k < got.length; k++) worst = Math.max(worst, Math.abs(got[k]! - reference[i]![k]!));
    t.true(worst < 1e-4, `${photos[i]}: logits differ by ${worst}`);
  });
});

test.serial('a malformed input fails only its own call, with the error it would have had alone', async (t) => {
  const one = await alone.load(modelFile);
  const many = await batched.load(modelFile);
  const wrongSize = () => ({ input: { type: 'float32' as const, data: new Float32Array(3 * 100 * 100), dims: [1, 3, 100, 100] } });
  const wrongLength = () => ({ input: { type: 'float32' as const, data: new Float32Array(10), dims: [1, 3, 224, 224] } });
  const wrongName = () => ({ image: copy(tensors[0]!) });
  const expected = await Promise.all([wrongSize(), wrongLength(), wrongName()].map((feeds) => one.run(feeds).then(() => 'ran', (e: Error) => e.message)));
  t.true(expected.every((m) => m !== 'ran'));

  const ran = sizes(batched);
  const end = inFlight(6);
  const calls = [many.run({ input: copy(tensors[0]!) }), many.run(wrongSize()), many.run({ input: copy(tensors[1]!) }), many.run(wrongLength()), many.run(wrongName()), many.run({ input: copy(tensors[2]!) })];
  const settled = await Promise.allSettled(calls);
  end();
  ran.stop();
  // Shared out between the two threads (3 calls each), the good calls of each share ran together.
  t.true(Math.max(...ran.list) > 1, `good calls ran together: ${ran.list.join(', ')}`);
  for (const i of [0, 2, 5]) t.is(settled[i]!.status, 'fulfilled');
  const errors = [1, 3, 4].map((i) => (settled[i] as PromiseRejectedResult).reason.message as string);
  t.deepEqual(errors, expected);
  const best = (i: number) => topK((settled[i] as PromiseFulfilledResult<Record<string, Tensor>>).value.output!.data as Float32Array, 1)[0]!.index;
  const refBest = async (k: number) => topK((await one.run({ input: copy(tensors[k]!) })).output!.data as Float32Array, 1)[0]!.index;
  t.deepEqual([best(0), best(2), best(5)], [await refBest(0), await refBest(1), await refBest(2)]);
});

test.serial('one thread takes up to max_batch_size, two share the queue between them', async (t) => {
  const single = new InferencePool(1, session, { maxBatchSize: 4, intervalMs: 10_000 }, asOnGpu);
  t.teardown(() => single.close());
  const model = await single.load(modelFile);
  const ran = sizes(single);
  // Ten predictions, each done when its own run is.
  const ends: Array<() => void> = [];
  for (let i = 0; i < 10; i++) void single.track(new Promise<void>((resolve) => ends.push(resolve)));
  const started = performance.now();
  await Promise.all(Array.from({ length: 10 }, (_, i) => model.run({ input: copy(tensors[i % tensors.length]!) }).finally(() => ends[i]!())));
  ran.stop();
  t.true(performance.now() - started < 5_000, 'the last two did not wait the interval');
  // 4 and 4 full, then the last 2 once nothing else can come (the 10 predictions have all called).
  t.deepEqual(ran.list, [4, 4, 2]);
});

test.serial('a lone request does not wait for the batch interval', async (t) => {
  const slow = new InferencePool(1, session, { maxBatchSize: 8, intervalMs: 10_000 }, asOnGpu);
  t.teardown(() => slow.close());
  const model = await slow.load(modelFile);
  const started = performance.now();
  // One prediction in flight, and it has made its call: nothing else can join.
  await slow.track(model.run({ input: copy(tensors[0]!) }));
  t.true(performance.now() - started < 5_000);
});

test.serial('a call waits at most the batch interval for others that may come', async (t) => {
  const model = await batched.load(modelFile);
  const end = inFlight(3); // three predictions in flight, only one calls run
  const started = performance.now();
  await model.run({ input: copy(tensors[0]!) });
  const waited = performance.now() - started;
  end();
  t.true(waited >= 190, `waited ${waited.toFixed(0)} ms`);
  t.true(waited < 2_000, `waited ${waited.toFixed(0)} ms`);
});

test.serial('on the CPU a free thread does not wait out the interval, and the calls that queued while it was busy share its next run', async (t) => {
  const cpu = new InferencePool(1, session, { maxBatchSize: 8, intervalMs: 10_000 });
  t.teardown(() => cpu.close());
  const model = await cpu.load(modelFile);
  const one = await alone.load(modelFile);
  const ran = sizes(cpu);
  // Eight predictions in flight, five of them calling at once: a waiting pool would hold the
  // first call for 10 s, since three more predictions could still join it.
  const end = inFlight(8, cpu);
  const started = performance.now();
  const inputs = Array.from({ length: 5 }, (_, i) => tensors[i % tensors.length]!);
  const outs = await Promise.all(inputs.map((input) => model.run({ input: copy(input) })));
  const took = performance.now() - started;
  end();
  ran.stop();
  t.true(took < 5_000, `took ${took.toFixed(0)} ms`);
  // The first ran alone on the free thread; the four that queued behind it went together.
  t.deepEqual(ran.list, [1, 4]);
  for (let i = 0; i < inputs.length; i++) {
    const reference = (await one.run({ input: copy(inputs[i]!) })).output!.data as Float32Array;
    t.is(topK(outs[i]!.output!.data as Float32Array, 1)[0]!.index, topK(reference, 1)[0]!.index);
  }
});

test.serial('a model whose batch dimension is fixed at 1 is refused when batching is on, naming the model, the input and the fix', async (t) => {
  const err = await t.throwsAsync(batched.load(fixedBatch, 'https://example.com/models/fixed-batch.onnx?token=x'));
  t.is(
    err.message,
    'model https://example.com/models/fixed-batch.onnx: input "x" has a fixed batch dimension of 1 (shape [1, 4]), so predictor.server_side_batching cannot put several requests in one run; ' +
      'export the model with a dynamic first dimension (torch.onnx.export(..., dynamic_axes={"x": {0: "batch"}}), or onnx: set that dim_param to "batch"), or remove server_side_batching from the api in cortex.yaml',
  );
  // Without batching the same model serves.
  const out = await (await alone.load(fixedBatch)).run({ x: { type: 'float32', data: new Float32Array([1, 2, 3, 4]), dims: [1, 4] } });
  t.deepEqual([...(out.y!.data as Float32Array)], [2, 4, 6, 8]);
});

test('stack and split: rows stacked along the first dimension and cut back, each part owning its buffer', (t) => {
  const a = { x: { type: 'float32' as const, data: new Float32Array([1, 2]), dims: [1, 2] } };
  const b = { x: { type: 'float32' as const, data: new Float32Array([3, 4, 5, 6]), dims: [2, 2] } };
  const s = stack([a, b]);
  t.deepEqual(s.x!.dims, [3, 2]);
  t.deepEqual([...(s.x!.data as Float32Array)], [1, 2, 3, 4, 5, 6]);
  const parts = split({ y: { type: 'float32', data: new Float32Array([10, 20, 30]), dims: [3] } }, [rowsOf(a)!, rowsOf(b)!])!;
  t.deepEqual(parts.map((p) => [...(p.y!.data as Float32Array)]), [[10], [20, 30]]);
  t.true(parts.every((p) => p.y!.data.byteOffset === 0 && p.y!.data.byteLength === p.y!.data.buffer.byteLength));
  t.is(split({ y: { type: 'float32', data: new Float32Array(4), dims: [4] } }, [1, 2]), undefined, 'an output that is not per row');
  const declared = [{ name: 'x', type: 'float32', shape: ['n', 2] }];
  t.is(signature(a, declared), signature(b, declared));
  t.is(signature({ x: { type: 'float32', data: new Float32Array(3), dims: [1, 3] } }, declared), undefined);
  t.is(signature({ x: { type: 'int32', data: new Int32Array(2), dims: [1, 2] } }, declared), undefined);
  t.is(unbatchable('m', declared, [{ name: 'y', shape: ['n'] }]), undefined);
  t.regex(unbatchable('m', declared, [{ name: 'y', shape: [1000] }])!, /^model m: output "y" has a fixed batch dimension of 1000/);
});

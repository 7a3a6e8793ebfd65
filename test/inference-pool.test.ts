// The inference pool: real ONNX Runtime sessions in worker threads.
import test from 'ava';
import { inferencePlan } from '../runtime/inference/plan.js';
import { InferencePool } from '../runtime/inference/pool.js';
import { modelFile } from './helpers/shared.js';

const pool = new InferencePool(2, inferencePlan(['cpu'], 2).session);
test.after.always(() => pool.close());

const image = () => ({ type: 'float32' as const, data: new Float32Array(3 * 224 * 224), dims: [1, 3, 224, 224] });

test('a model is loaded once per file, described, and runs', async (t) => {
  const [a, b] = await Promise.all([pool.load(modelFile), pool.load(modelFile)]);
  t.is(a, b);
  t.deepEqual(a.inputs, [{ name: 'input', type: 'float32', shape: ['batch_size', 3, 224, 224] }]);
  const out = await a.run({ input: image() });
  t.deepEqual(out.output!.dims, [1, 1000]);
  t.is(out.output!.data.length, 1000);
});

test('runs spread over the threads and all come back', async (t) => {
  const model = await pool.load(modelFile);
  const outs = await Promise.all(Array.from({ length: 12 }, () => model.run({ input: image() })));
  t.is(outs.length, 12);
  t.true(outs.every((o) => o.output!.data.length === 1000));
});

test('an input moved to the inference thread cannot be passed again, and says so', async (t) => {
  const model = await pool.load(modelFile);
  const input = image();
  await model.run({ input });
  t.is(input.data.length, 0);
  await t.throwsAsync(model.run({ input }), { message: /input "input" was already passed to run\(\).*data\.slice\(\)/ });
});

test('a view into a larger buffer is copied, not moved', async (t) => {
  const model = await pool.load(modelFile);
  const big = new Float32Array(2 * 3 * 224 * 224);
  const view = { type: 'float32' as const, data: big.subarray(0, 3 * 224 * 224), dims: [1, 3, 224, 224] };
  await model.run({ input: view });
  t.is(big.length, 2 * 3 * 224 * 224);
  await t.notThrowsAsync(model.run({ input: view }));
});

test('a bad input is an error for that call only', async (t) => {
  const model = await pool.load(modelFile);
  await t.throwsAsync(model.run({ input: { type: 'float32', data: new Float32Array(10), dims: [1, 10] } }));
  t.is((await model.run({ input: image() })).output!.data.length, 1000);
});

// The helpers predictors call: ranking scores, and turning image bytes into a tensor, where a
// client's bad image is a 4xx and the predictor's own bad arguments are plain errors (500).
import { readFile } from 'node:fs/promises';
import test from 'ava';
import { imageToTensor } from '../runtime/helpers/image.js';
import { topK } from '../runtime/helpers/math.js';
import { HttpError } from '../runtime/http-error.js';
import { photoFiles } from './helpers/shared.js';

const ranked = (scores: number[], k: number) => topK(scores, k).map((r) => r.index);

const rankings: Array<[string, number[], number, number[]]> = [
  ['best first', [0.1, 0.7, 0.2], 2, [1, 2]],
  ['k = 0 is none', [0.1, 0.7], 0, []],
  ['k past the length is all of them', [0.3, 0.1, 0.2], 5, [0, 2, 1]],
  ['ties keep index order', [0.5, 0.5, 0.5], 2, [0, 1]],
  ['NaN ranks below every number', [NaN, 0.1, -Infinity, 0.2], 4, [3, 1, 2, 0]],
  ['NaN never takes a place a number could', [NaN, 1, 2], 2, [2, 1]],
  ['an empty array', [], 3, []],
];
for (const [what, scores, k, expected] of rankings) {
  test(`topK: ${what}`, (t) => t.deepEqual(ranked(scores, k), expected));
}

test('topK: a k that is not a count is a RangeError', (t) => {
  for (const k of [-1, 1.5, NaN]) t.throws(() => topK([1, 2], k), { instanceOf: RangeError, message: /k must be an integer ≥ 0/ });
});

test('imageToTensor: a photo becomes a normalized [1, 3, 224, 224] tensor', async (t) => {
  const tensor = await imageToTensor(await readFile(photoFiles['hotdog.jpg']));
  t.deepEqual(tensor.dims, [1, 3, 224, 224]);
  t.is(tensor.data.length, 3 * 224 * 224);
  t.true([...tensor.data.subarray(0, 1000)].every((v) => v > -2.2 && v < 2.7));
});

test('imageToTensor: bytes that are not an image are the client’s 422', async (t) => {
  const err = await t.throwsAsync(imageToTensor(Buffer.from('nope')));
  t.true(err instanceof HttpError && err.status === 422, String(err));
});

const badOptions: Array<[object, RegExp]> = [
  [{ size: 0 }, /options\.size must be an integer from 1 to 16384, got 0/],
  [{ size: -1 }, /options\.size must be an integer from 1 to 16384, got -1/],
  [{ size: 2.5 }, /options\.size must be an integer/],
  [{ resizeShorter: 1e9 }, /options\.resizeShorter must be an integer from 1 to 16384/],
  [{ mean: [0.5, 0.5] }, /options\.mean must be 3 finite numbers \(R, G, B\), got \[0\.5,0\.5\]/],
  [{ std: [0.2, 0, 0.2] }, /options\.std must be 3 finite numbers, none 0/],
];
for (const [options, message] of badOptions) {
  test(`imageToTensor: ${JSON.stringify(options)} is the predictor's error, not the client's`, async (t) => {
    const err = await t.throwsAsync(imageToTensor(await readFile(photoFiles['hotdog.jpg']), options), { message });
    t.false(err instanceof HttpError);
  });
}

test('imageToTensor: a string is refused, never opened as a file path', async (t) => {
  await t.throwsAsync(imageToTensor('/etc/passwd' as unknown as Buffer), { message: 'imageToTensor: image must be a Buffer of image bytes, got string' });
});

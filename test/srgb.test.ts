// The conversion to sRGB in WebAssembly gives the JavaScript loop's pixels (within a level, where
// float32 and double round a step apart) for a grid of colours, across the chunk edges, in a view
// into a larger buffer, and on the one test photo that carries an Adobe RGB profile.
import { readFile } from 'node:fs/promises';
import test from 'ava';
import sharp from 'sharp';
import { matrixShaper, type MatrixShaper } from '../runtime/helpers/icc.js';
import { convertToSrgb, convertToSrgbInJs, srgbInWebAssembly } from '../runtime/helpers/srgb.js';
import { photoFiles } from './helpers/shared.js';

/** How many values of two conversions differ, and by how much at most. */
function distance(a: Uint8Array, b: Uint8Array): { differ: number; worst: number } {
  let differ = 0;
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (d) differ++;
    worst = Math.max(worst, d);
  }
  return { differ, worst };
}

function compare(pixels: Uint8Array, profile: MatrixShaper): { differ: number; worst: number } {
  const [fast, plain] = [Uint8Array.from(pixels), Uint8Array.from(pixels)];
  convertToSrgb(fast, profile);
  convertToSrgbInJs(plain, profile);
  return distance(fast, plain);
}

test('WebAssembly and JavaScript convert alike: a colour grid, chunk edges, a view, the Adobe RGB photo', async (t) => {
  t.true(srgbInWebAssembly(), 'this Node has WebAssembly, so convertToSrgb must not be the JavaScript loop itself');
  const bytes = await readFile(photoFiles['finch.jpg']);
  const profile = matrixShaper((await sharp(bytes).metadata()).icc)!;
  t.truthy(profile);
  // Every 4th level of each channel and 255, in every combination: 65³ pixels, 17 calls' worth.
  const levels = [...Array.from({ length: 64 }, (_, i) => 4 * i), 255];
  const grid: number[] = [];
  for (const r of levels) for (const g of levels) for (const b of levels) grid.push(r, g, b);
  const onGrid = compare(Uint8Array.from(grid), profile);
  t.true(onGrid.worst <= 1 && onGrid.differ < grid.length / 10_000, `grid: ${onGrid.differ} of ${grid.length} values apart, up to ${onGrid.worst}`);
  let seed = 11;
  const random = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 24;
  for (const n of [1, 16_383, 16_384, 16_385, 224 * 224]) {
    const { differ, worst } = compare(Uint8Array.from({ length: 3 * n }, random), profile);
    t.true(worst <= 1 && differ <= Math.max(1, (3 * n) / 10_000), `${n} pixels: ${differ} values apart, up to ${worst}`);
  }
  // A length that is not whole pixels converts the whole ones and leaves the rest, as the JavaScript loop does.
  const [ragged, plain] = [Uint8Array.from([10, 20, 30, 40, 50]), Uint8Array.from([10, 20, 30, 40, 50])];
  convertToSrgb(ragged, profile);
  convertToSrgbInJs(plain, profile);
  t.deepEqual([...ragged], [...plain]);
  t.notDeepEqual([...ragged.subarray(0, 3)], [10, 20, 30], 'Adobe RGB is not sRGB: the first pixel changes');
  // A view into a larger buffer (as a pooled Buffer is) converts only its own bytes.
  const backing = Uint8Array.from({ length: 3 * 20_000 + 7 }, random);
  const view = backing.subarray(5, 5 + 3 * 20_000);
  const expected = Uint8Array.from(view);
  convertToSrgbInJs(expected, profile);
  const outside = [...backing.subarray(0, 5), ...backing.subarray(5 + 3 * 20_000)];
  convertToSrgb(view, profile);
  t.deepEqual([...backing.subarray(0, 5), ...backing.subarray(5 + 3 * 20_000)], outside);
  const inView = distance(view, expected);
  t.true(inView.worst <= 1 && inView.differ <= 6, `the view: ${inView.differ} values apart, up to ${inView.worst}`);
  const photo = await sharp(bytes, { ignoreIcc: true }).raw().toBuffer();
  const onPhoto = compare(photo, profile);
  t.true(onPhoto.worst <= 1 && onPhoto.differ < photo.length / 10_000, `finch.jpg: ${onPhoto.differ} of ${photo.length} values apart`);
});

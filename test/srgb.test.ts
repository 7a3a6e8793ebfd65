// The conversion to sRGB in WebAssembly gives the JavaScript loop's pixels (within a level, where
// float32 and double round a step apart) for every colour of a grid, across the chunk edges, and
// on the one test photo that carries an Adobe RGB profile.
import { readFile } from 'node:fs/promises';
import test from 'ava';
import sharp from 'sharp';
import { matrixShaper, type MatrixShaper } from '../runtime/helpers/icc.js';
import { convertToSrgb, convertToSrgbInJs, srgbInWebAssembly } from '../runtime/helpers/srgb.js';
import { photoFiles } from './helpers/shared.js';

function compare(pixels: Uint8Array, profile: MatrixShaper): { differ: number; worst: number } {
  const [fast, plain] = [Uint8Array.from(pixels), Uint8Array.from(pixels)];
  convertToSrgb(fast, profile);
  convertToSrgbInJs(plain, profile);
  let differ = 0;
  let worst = 0;
  for (let i = 0; i < fast.length; i++) {
    const d = Math.abs(fast[i]! - plain[i]!);
    if (d) differ++;
    worst = Math.max(worst, d);
  }
  return { differ, worst };
}

test('WebAssembly and JavaScript convert alike: a colour grid, chunk edges, the Adobe RGB photo', async (t) => {
  t.true(srgbInWebAssembly(), 'this Node has WebAssembly, so convertToSrgb must not be the JavaScript loop itself');
  const bytes = await readFile(photoFiles['finch.jpg']);
  const profile = matrixShaper((await sharp(bytes).metadata()).icc)!;
  t.truthy(profile);
  // Every 4th level of each channel, in every combination (64³ pixels, 16 calls' worth), and the extremes.
  const grid: number[] = [];
  for (const r of [...Array.from({ length: 64 }, (_, i) => 4 * i), 255]) for (let g = 0; g < 256; g += 4) for (const b of [0, 3, 77, 128, 200, 255]) grid.push(r, g, b);
  const onGrid = compare(Uint8Array.from(grid), profile);
  t.true(onGrid.worst <= 1 && onGrid.differ < grid.length / 10_000, `grid: ${onGrid.differ} of ${grid.length} values apart, up to ${onGrid.worst}`);
  let seed = 11;
  const random = () => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
  for (const n of [1, 16_383, 16_384, 16_385, 224 * 224]) {
    const { differ, worst } = compare(Uint8Array.from({ length: 3 * n }, random), profile);
    t.true(worst <= 1 && differ <= Math.max(1, (3 * n) / 10_000), `${n} pixels: ${differ} values apart, up to ${worst}`);
  }
  // A length that is not whole pixels leaves the last bytes as they were, as the JavaScript loop does.
  const ragged = Uint8Array.from([10, 20, 30, 40, 50]);
  convertToSrgb(ragged, profile);
  t.deepEqual([...ragged.subarray(3)], [40, 50]);
  const photo = await sharp(bytes, { ignoreIcc: true }).raw().toBuffer();
  const onPhoto = compare(photo, profile);
  t.true(onPhoto.worst <= 1 && onPhoto.differ < photo.length / 10_000, `finch.jpg: ${onPhoto.differ} of ${photo.length} values apart`);
});

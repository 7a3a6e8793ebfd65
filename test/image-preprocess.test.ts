// The image helpers' fast path gives the same tensors as the full pipeline it replaced: every
// test photo through imageToTensor against a reference written the old way
// (sharp's colour management on every embedded profile): pixel for pixel where no colour
// transform is needed, within a level where one is; the same top-1, and the top-5 overlapping.
import { readFile } from 'node:fs/promises';
import test from 'ava';
import sharp from 'sharp';
import type { Tensor } from '../runtime/contract.js';
import { iccDescription, isSrgbProfile, matrixShaper } from '../runtime/helpers/icc.js';
import { convertToSrgb } from '../runtime/helpers/srgb.js';
import { imageToTensor } from '../runtime/helpers/image.js';
import { topK } from '../runtime/helpers/math.js';
import { inferencePlan } from '../runtime/inference/plan.js';
import { InferencePool } from '../runtime/inference/pool.js';
import { modelFile, photoFiles } from './helpers/shared.js';

const imagenetMean = [0.485, 0.456, 0.406];
const std = [0.229, 0.224, 0.225];

/** The preprocessing as it was: shorter side to 256 (lanczos3), centre crop 224, every ICC profile applied. */
async function reference(bytes: Buffer): Promise<Float32Array> {
  const meta = await sharp(bytes).metadata();
  const turned = (meta.orientation ?? 1) >= 5;
  const [w, h] = turned ? [meta.height!, meta.width!] : [meta.width!, meta.height!];
  const scale = 256 / Math.min(w, h);
  const [rw, rh] = [Math.max(256, Math.round(w * scale)), Math.max(256, Math.round(h * scale))];
  const px = await sharp(bytes).rotate().resize(rw, rh, { fit: 'fill' })
    .extract({ left: Math.floor((rw - 224) / 2), top: Math.floor((rh - 224) / 2), width: 224, height: 224 })
    .removeAlpha().toColourspace('srgb').raw().toBuffer();
  const plane = 224 * 224;
  const out = new Float32Array(3 * plane);
  for (let c = 0; c < 3; c++) for (let i = 0; i < plane; i++) out[c * plane + i] = (px[i * 3 + c]! / 255 - imagenetMean[c]!) / std[c]!;
  return out;
}

const pool = new InferencePool(1, inferencePlan(['cpu'], 1).session);
test.after.always(() => pool.close());

test('every photo: the same tensor as the full pipeline, the same top-1 and top-5', async (t) => {
  const model = await pool.load(modelFile);
  for (const [file, path] of Object.entries(photoFiles)) {
    const bytes = await readFile(path);
    const [fast, slow] = await Promise.all([imageToTensor(bytes), reference(bytes)]);
    let worst = 0;
    let sum = 0;
    for (let i = 0; i < slow.length; i++) {
      const d = Math.abs(fast.data[i] as number - slow[i]!);
      worst = Math.max(worst, d);
      sum += d;
    }
    // In 0..255 levels: the tensor's unit is a level / (255 × std).
    const levels = (x: number) => x * 255 * 0.225;
    const icc = (await sharp(bytes).metadata()).icc;
    const run = async (data: Float32Array) => (await model.run({ input: { type: 'float32', data, dims: [1, 3, 224, 224] } as Tensor })).output!.data as Float32Array;
    const mean = sum / slow.length;
    const [a, b] = [topK(await run((fast.data as Float32Array).slice()), 5), topK(await run(slow.slice()), 5)];
    if (!icc || isSrgbProfile(icc)) {
      // No transform, or sRGB into sRGB: the very same pixels.
      t.true(worst < 1e-5, `${file}: the tensors differ by up to ${worst}`);
      t.deepEqual(a.map((x) => x.index), b.map((x) => x.index), `${file}: top-5`);
    } else {
      // Converted after the crop instead of before the resize: a level or two here and there.
      t.log(`${file} (${iccDescription(icc)}): mean difference ${levels(mean).toFixed(3)} levels, at most ${levels(worst).toFixed(1)}; top-5 ${a.map((x) => x.index).join(',')} vs ${b.map((x) => x.index).join(',')}`);
      t.true(levels(mean) < 1, `${file}: mean difference ${levels(mean)} levels`);
      t.true(a.filter((x) => b.some((y) => y.index === x.index)).length >= 4, `${file}: top-5 overlap`);
    }
    t.is(a[0]!.index, b[0]!.index, `${file}: top-1`);
  }
});

test('a camera photo in every EXIF orientation: the tensor of the full pipeline, pixel for pixel', async (t) => {
  // dog.jpg keeps its camera's EXIF block and sRGB profile; the helpers hand sharp neither (jpeg-lean.ts).
  const photo = await readFile(photoFiles['dog.jpg']);
  for (let orientation = 1; orientation <= 8; orientation++) {
    const bytes = await sharp(photo).keepExif().keepIccProfile().withMetadata({ orientation }).jpeg().toBuffer();
    const [fast, slow] = await Promise.all([imageToTensor(bytes), reference(bytes)]);
    t.deepEqual(fast.dims, [1, 3, 224, 224]);
    const worst = slow.reduce((w, v, i) => Math.max(w, Math.abs((fast.data[i] as number) - v)), 0);
    t.true(worst < 1e-5, `orientation ${orientation}: the tensors differ by up to ${worst}`);
  }
});

test('ICC profiles: sRGB ones are told from others by their own description', async (t) => {
  const profile = async (file: keyof typeof photoFiles) => (await sharp(await readFile(photoFiles[file])).metadata()).icc!;
  t.is(iccDescription(await profile('eagle.jpg')), 'sRGB IEC61966-2.1');
  t.true(isSrgbProfile(await profile('eagle.jpg')));
  t.is(iccDescription(await profile('finch.jpg')), 'Adobe RGB (1998)');
  t.false(isSrgbProfile(await profile('finch.jpg')), 'Adobe RGB is transformed');
  t.false(isSrgbProfile(undefined));
  t.false(isSrgbProfile((await profile('eagle.jpg')).subarray(0, 200)), 'a cut profile');
  t.false(isSrgbProfile(new Uint8Array(100)));
  // A v4 profile names itself in a multiLocalizedUnicode tag.
  const v4 = Buffer.alloc(132 + 12 + 28 + 8);
  v4.write('RGB ', 16, 'latin1');
  v4.writeUInt32BE(1, 128);
  v4.write('desc', 132, 'latin1');
  v4.writeUInt32BE(144, 136);
  v4.writeUInt32BE(36, 140);
  v4.write('mluc', 144, 'latin1');
  v4.writeUInt32BE(1, 152);
  v4.writeUInt32BE(12, 156);
  v4.write('enUS', 160, 'latin1');
  v4.writeUInt32BE(8, 164);
  v4.writeUInt32BE(28, 168);
  Buffer.from('sRGB', 'utf16le').swap16().copy(v4, 172);
  t.is(iccDescription(v4), 'sRGB');
  t.true(isSrgbProfile(v4));
});

test('a matrix/TRC profile converted here is within one level of lcms on the whole photo', async (t) => {
  const bytes = await readFile(photoFiles['finch.jpg']);
  const profile = matrixShaper((await sharp(bytes).metadata()).icc);
  t.truthy(profile, 'Adobe RGB (1998) is a matrix/TRC profile');
  const lcms = await sharp(bytes).toColourspace('srgb').raw().toBuffer();
  const mine = await sharp(bytes, { ignoreIcc: true }).raw().toBuffer();
  convertToSrgb(mine, profile!);
  let worst = 0;
  let off = 0;
  for (let i = 0; i < lcms.length; i++) {
    const d = Math.abs(lcms[i]! - mine[i]!);
    worst = Math.max(worst, d);
    if (d) off++;
  }
  t.true(worst <= 1, `at most ${worst} levels apart`);
  t.true(off / lcms.length < 0.02, `${((100 * off) / lcms.length).toFixed(2)}% of values a level apart`);
  // sRGB's own profile is the identity (it is skipped in practice), and profiles that are not RGB matrices are left to lcms.
  const srgb = matrixShaper((await sharp(await readFile(photoFiles['eagle.jpg'])).metadata()).icc)!;
  const grey = new Uint8Array(Array.from({ length: 256 * 3 }, (_, i) => Math.floor(i / 3)));
  convertToSrgb(grey, srgb);
  t.true(grey.every((v, i) => Math.abs(v - Math.floor(i / 3)) <= 1));
  t.is(matrixShaper(undefined), undefined);
  t.is(matrixShaper(new Uint8Array(200)), undefined);
});

test('Display P3 (a v4 profile with parametric curves) too: within one level of lcms, and the same top-1 as the full pipeline', async (t) => {
  // sharp's own Display P3 profile, attached as a phone would: the same photo, in P3's numbers.
  const p3 = await sharp(await readFile(photoFiles['eagle.jpg'])).withIccProfile('p3').jpeg({ quality: 95 }).toBuffer();
  const icc = (await sharp(p3).metadata()).icc!;
  t.is(iccDescription(icc), 'sP3C');
  t.false(isSrgbProfile(icc));
  const profile = matrixShaper(icc)!;
  t.truthy(profile);
  const lcms = await sharp(p3).toColourspace('srgb').raw().toBuffer();
  const mine = await sharp(p3, { ignoreIcc: true }).raw().toBuffer();
  convertToSrgb(mine, profile);
  t.true(lcms.every((v, i) => Math.abs(v - mine[i]!) <= 1));
  const model = await pool.load(modelFile);
  const best = async (data: Float32Array) => topK((await model.run({ input: { type: 'float32', data, dims: [1, 3, 224, 224] } })).output!.data as Float32Array, 1)[0]!.index;
  t.is(await best((await imageToTensor(p3)).data as Float32Array), await best(await reference(p3)));
});

// The image helpers' fast path gives the same tensors as the full pipeline it replaced: every
// photo in ../shared/images through imageToTensor against a reference written the old way
// (sharp's colour management on every embedded profile), pixel for pixel, and the same top-1
// and top-5 from the real model.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import sharp from 'sharp';
import type { Tensor } from '../runtime/contract.js';
import { iccDescription, isSrgbProfile } from '../runtime/helpers/icc.js';
import { imageToTensor } from '../runtime/helpers/image.js';
import { topK } from '../runtime/helpers/math.js';
import { inferencePlan } from '../runtime/inference/plan.js';
import { InferencePool } from '../runtime/inference/pool.js';
import { imagesDir, modelsDir } from './helpers/shared.js';

const mean = [0.485, 0.456, 0.406];
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
  for (let c = 0; c < 3; c++) for (let i = 0; i < plane; i++) out[c * plane + i] = (px[i * 3 + c]! / 255 - mean[c]!) / std[c]!;
  return out;
}

const pool = new InferencePool(1, inferencePlan(['cpu'], 1).session);
test.after.always(() => pool.close());

test('every photo: the same tensor as the full pipeline, the same top-1 and top-5', async (t) => {
  const model = await pool.load(join(modelsDir, 'mobilenetv2-12-int8.onnx'));
  const files = (await readdir(imagesDir)).filter((f) => f.endsWith('.jpg')).sort();
  t.true(files.length >= 9);
  for (const file of files) {
    const bytes = await readFile(join(imagesDir, file));
    const [fast, slow] = await Promise.all([imageToTensor(bytes), reference(bytes)]);
    let worst = 0;
    for (let i = 0; i < slow.length; i++) worst = Math.max(worst, Math.abs(fast.data[i] as number - slow[i]!));
    t.true(worst < 1e-5, `${file}: the tensors differ by up to ${worst}`);
    const run = async (data: Float32Array) => (await model.run({ input: { type: 'float32', data, dims: [1, 3, 224, 224] } as Tensor })).output!.data as Float32Array;
    const [a, b] = [topK(await run(fast.data as Float32Array), 5), topK(await run(slow), 5)];
    t.is(a[0]!.index, b[0]!.index, `${file}: top-1`);
    t.deepEqual(a.map((x) => x.index), b.map((x) => x.index), `${file}: top-5`);
  }
});

test('ICC profiles: sRGB ones are told from others by their own description', async (t) => {
  const profile = async (file: string) => (await sharp(await readFile(join(imagesDir, file))).metadata()).icc!;
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

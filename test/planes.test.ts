// The tensor's planes from WebAssembly are the JavaScript loop's, to float32 rounding, at every
// size the chunking and the 16-pixel steps can meet; and the shipped bytes are the .wat files'.
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import test from 'ava';
import { planesInWebAssembly, toPlanes, toPlanesInJs } from '../runtime/helpers/planes.js';
import { assemble, moduleFor } from './helpers/wat.js';
import { repoRoot } from './helpers/shared.js';

const scale = [1 / (255 * 0.229), 1 / (255 * 0.224), 1 / (255 * 0.225)];
const offset = [0.485 / 0.229, 0.456 / 0.224, 0.406 / 0.225];

test('planes-wasm.ts and srgb-wasm.ts hold what their .wat assemble to (after an edit: npm run wasm)', async (t) => {
  for (const name of ['planes', 'srgb']) {
    const wat = resolve(repoRoot, `runtime/helpers/${name}.wat`);
    const { file, text } = moduleFor(wat, await assemble(wat));
    t.is(await readFile(file, 'utf8'), text, name);
  }
});

test('WebAssembly and JavaScript give the same planes: tails under 16 pixels, chunk edges, 224² and 299²', (t) => {
  t.true(planesInWebAssembly(), 'this Node has WebAssembly, so toPlanes must not be the JavaScript loop itself');
  let seed = 7;
  const random = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 24;
  for (const n of [1, 15, 16, 17, 100, 16_383, 16_384, 16_385, 224 * 224, 299 * 299]) {
    const pixels = Uint8Array.from({ length: 3 * n }, random);
    const [fast, plain] = [new Float32Array(3 * n).fill(NaN), new Float32Array(3 * n)];
    toPlanes(pixels, fast, scale, offset);
    toPlanesInJs(pixels, plain, scale, offset);
    let worst = 0;
    for (let i = 0; i < fast.length; i++) worst = Math.max(worst, Math.abs(fast[i]! - plain[i]!));
    // Two float32 roundings against one of a double: a few units in the last place of values up to 2.7.
    t.true(worst < 1e-6, `${n} pixels: up to ${worst} apart`);
  }
  // Every byte value of every channel lands in its own plane.
  const sweep = Uint8Array.from({ length: 3 * 256 }, (_, i) => (i % 3 === 0 ? i / 3 : i % 3 === 1 ? 255 - (i - 1) / 3 : 128));
  const out = new Float32Array(3 * 256);
  toPlanes(sweep, out, scale, offset);
  for (let v = 0; v < 256; v++) {
    t.true(Math.abs(out[v]! - (v * scale[0]! - offset[0]!)) < 1e-6, `R ${v}`);
    t.true(Math.abs(out[256 + v]! - ((255 - v) * scale[1]! - offset[1]!)) < 1e-6, `G ${v}`);
    t.true(Math.abs(out[512 + v]! - (128 * scale[2]! - offset[2]!)) < 1e-6, `B ${v}`);
  }
});

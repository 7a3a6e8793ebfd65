// Pixels in a matrix/TRC profile's colours (Adobe RGB, Display P3) → the same pixels in sRGB, in
// place, on the 224² crop (image.ts): in WebAssembly SIMD (srgb.wat), a third to under half the
// CPU of the same loop in JavaScript, which stays for a Node without WebAssembly (--jitless). Each thread
// that runs predictors has its own instance, 128 KiB, fed at most `chunk` pixels a call.
import type { MatrixShaper } from './icc.js';
import { srgbWasm } from './srgb-wasm.js';
import { perThread } from './wasm.js';

// sRGB's encoding of linear light in 16,384 steps: within one level of the exact encoding (near
// black a step is a fifth of a level), and the same table for both paths.
const encodeSteps = 16_384;
const chunk = 16_384;
// Where srgb.wat expects its tables and its pixels.
const at = { columns: 0, encode: 12_288, pixels: 32_768 } as const;

let encoding: Uint8Array | undefined;
function encodeTable(): Uint8Array {
  if (encoding) return encoding;
  encoding = new Uint8Array(encodeSteps + 1);
  for (let i = 0; i <= encodeSteps; i++) {
    const v = i / encodeSteps;
    encoding[i] = Math.round(255 * (v <= 0.0031308 ? 12.92 * v : 1.055 * v ** (1 / 2.4) - 0.055));
  }
  return encoding;
}

type Srgb = (px: number, end: number) => void;
const instance = perThread(srgbWasm, ({ memory: { buffer }, srgb }: { memory: { buffer: ArrayBuffer }; srgb: Srgb }) => {
  const memory = new Uint8Array(buffer);
  memory.set(encodeTable(), at.encode);
  return { memory, columns: new Float32Array(buffer, at.columns, 3 * 256 * 4), srgb };
});

/** Whether this thread converts in WebAssembly (false: the JavaScript loop). */
export function srgbInWebAssembly(): boolean {
  return instance() !== null;
}

/** Interleaved 8-bit RGB in the profile's colours → the same pixels in sRGB, in place. */
export function convertToSrgb(pixels: Uint8Array, profile: MatrixShaper): void {
  const module = instance();
  if (!module) return convertToSrgbInJs(pixels, profile);
  const { memory, columns, srgb } = module;
  const { linear, matrix } = profile;
  for (let c = 0; c < 3; c++) {
    for (let v = 0; v < 256; v++) {
      const light = linear[c]![v]! * encodeSteps;
      for (let row = 0; row < 3; row++) columns[4 * (256 * c + v) + row] = matrix[3 * row + c]! * light;
    }
  }
  const whole = pixels.length - (pixels.length % 3);
  for (let from = 0; from < whole; from += 3 * chunk) {
    const part = pixels.subarray(from, Math.min(whole, from + 3 * chunk));
    memory.set(part, at.pixels);
    srgb(at.pixels, at.pixels + part.length);
    part.set(memory.subarray(at.pixels, at.pixels + part.length));
  }
}

/** The same in JavaScript, in doubles. */
export function convertToSrgbInJs(pixels: Uint8Array, profile: MatrixShaper): void {
  const enc = encodeTable();
  const [lr, lg, lb] = profile.linear;
  const [m0, m1, m2, m3, m4, m5, m6, m7, m8] = profile.matrix as [number, number, number, number, number, number, number, number, number];
  const q = (v: number) => enc[Math.round((v < 0 ? 0 : v > 1 ? 1 : v) * encodeSteps)]!;
  for (let i = 0; i + 2 < pixels.length; i += 3) {
    const r = lr[pixels[i]!]!, g = lg[pixels[i + 1]!]!, b = lb[pixels[i + 2]!]!;
    pixels[i] = q(m0 * r + m1 * g + m2 * b);
    pixels[i + 1] = q(m3 * r + m4 * g + m5 * b);
    pixels[i + 2] = q(m6 * r + m7 * g + m8 * b);
  }
}

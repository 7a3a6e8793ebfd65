// Interleaved RGB bytes → the three float32 planes of an image tensor, byte × scale − offset per
// channel, in WebAssembly SIMD (planes.wat): half the CPU of the same loop in JavaScript, which
// stays for a Node without WebAssembly (--jitless). Each thread that runs predictors has its own
// instance, 256 KiB, fed at most `chunk` pixels a call.
import { planesWasm } from './planes-wasm.js';
import { perThread } from './wasm.js';

const chunk = 16_384;

type Planes = (n: number, stride: number, src: number, dst: number, s0: number, s1: number, s2: number, o0: number, o1: number, o2: number) => void;
const instance = perThread(planesWasm, ({ memory: { buffer }, planes }: { memory: { buffer: ArrayBuffer }; planes: Planes }) => ({
  src: new Uint8Array(buffer, 0, 3 * chunk),
  dst: new Float32Array(buffer, 3 * chunk, 3 * chunk),
  planes,
}));

/** Whether this thread's planes come from WebAssembly (false: the JavaScript loop). */
export function planesInWebAssembly(): boolean {
  return instance() !== null;
}

/** `out` (3 × the pixels of `pixels`) gets plane c = pixels' channel c × scale[c] − offset[c]. */
export function toPlanes(pixels: Uint8Array, out: Float32Array, scale: readonly number[], offset: readonly number[]): void {
  const module = instance();
  if (!module) return toPlanesInJs(pixels, out, scale, offset);
  const n = pixels.length / 3;
  const { src, dst, planes } = module;
  for (let at = 0; at < n; at += chunk) {
    const m = Math.min(chunk, n - at);
    src.set(pixels.subarray(3 * at, 3 * (at + m)));
    // Rounded up to 16 pixels a step, a call also converts up to 15 left over from the one before: only m are read back.
    planes(Math.ceil(m / 16) * 16, chunk, src.byteOffset, dst.byteOffset, scale[0]!, scale[1]!, scale[2]!, offset[0]!, offset[1]!, offset[2]!);
    for (let c = 0; c < 3; c++) out.set(dst.subarray(c * chunk, c * chunk + m), c * n + at);
  }
}

/** The same in JavaScript, one pass over the interleaved pixels (in doubles, rounded once). */
export function toPlanesInJs(pixels: Uint8Array, out: Float32Array, scale: readonly number[], offset: readonly number[]): void {
  const n = pixels.length / 3;
  const [s0, s1, s2] = scale as [number, number, number];
  const [o0, o1, o2] = offset as [number, number, number];
  for (let i = 0, j = 0; i < n; i++, j += 3) {
    out[i] = pixels[j]! * s0 - o0;
    out[n + i] = pixels[j + 1]! * s1 - o1;
    out[2 * n + i] = pixels[j + 2]! * s2 - o2;
  }
}

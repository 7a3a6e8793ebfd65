// Image bytes → the normalized NCHW float32 tensor that ImageNet-style models expect:
// resize the shorter side, crop the centre, scale to 0..1, subtract mean, divide by std.
import sharp from 'sharp';
import type { ImageTensorOptions, Tensor } from '../contract.js';
import { HttpError } from '../http-error.js';

const imagenet = { size: 224, resizeShorter: 256, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] } as const;

// The largest side sharp will produce; past it an option is a mistake, not a model.
const maxSide = 16_384;

function side(name: string, value: unknown): number {
  if (!Number.isInteger(value) || (value as number) < 1 || (value as number) > maxSide) {
    throw new Error(`imageToTensor: options.${name} must be an integer from 1 to ${maxSide}, got ${JSON.stringify(value)}`);
  }
  return value as number;
}

function channels(name: string, value: unknown, nonZero: boolean): readonly number[] {
  const ok = Array.isArray(value) && value.length === 3 && value.every((v) => Number.isFinite(v) && (!nonZero || v !== 0));
  if (!ok) throw new Error(`imageToTensor: options.${name} must be 3 finite numbers${nonZero ? ', none 0' : ''} (R, G, B), got ${JSON.stringify(value)}`);
  return value as number[];
}

/**
 * The predictor's own mistakes (bad options, something other than bytes) are plain errors, so
 * they answer 500 and name the option; only bytes that are not an image are the client's 422.
 */
export async function imageToTensor(image: Buffer, options: ImageTensorOptions = {}): Promise<Tensor> {
  // sharp would read a string as a file path: a text/plain sample must not open local files.
  if (!(image instanceof Uint8Array)) throw new Error(`imageToTensor: image must be a Buffer of image bytes, got ${image === null ? 'null' : typeof image}`);
  const size = side('size', options.size ?? imagenet.size);
  const shorter = Math.max(side('resizeShorter', options.resizeShorter ?? imagenet.resizeShorter), size);
  const mean = channels('mean', options.mean ?? imagenet.mean, false);
  const std = channels('std', options.std ?? imagenet.std, true);

  let pixels: Buffer;
  try {
    const meta = await sharp(image).metadata();
    // EXIF orientations 5–8 are quarter turns: the displayed width is the stored height.
    const turned = (meta.orientation ?? 1) >= 5;
    const [w, h] = turned ? [meta.height, meta.width] : [meta.width, meta.height];
    if (!w || !h) throw new Error('no dimensions');
    const scale = shorter / Math.min(w, h);
    const [rw, rh] = [Math.max(shorter, Math.round(w * scale)), Math.max(shorter, Math.round(h * scale))];
    pixels = await sharp(image)
      .rotate()
      .resize(rw, rh, { fit: 'fill' })
      .extract({ left: Math.floor((rw - size) / 2), top: Math.floor((rh - size) / 2), width: size, height: size })
      .removeAlpha()
      .toColourspace('srgb')
      .raw()
      .toBuffer();
  } catch (err) {
    throw new HttpError(422, `not a supported image (${(err as Error).message})`);
  }

  // One lookup table per channel: 256 possible bytes, so normalisation is a load, not a divide.
  const plane = size * size;
  const data = new Float32Array(3 * plane);
  for (let c = 0; c < 3; c++) {
    const table = new Float32Array(256);
    for (let v = 0; v < 256; v++) table[v] = (v / 255 - mean[c]!) / std[c]!;
    const out = data.subarray(c * plane, (c + 1) * plane);
    for (let i = 0, j = c; i < plane; i++, j += 3) out[i] = table[pixels[j]!]!;
  }
  return { type: 'float32', data, dims: [1, 3, size, size] };
}

// Image bytes → the normalized NCHW float32 tensor that ImageNet-style models expect:
// resize the shorter side, crop the centre, scale to 0..1, subtract mean, divide by std.
import sharp from 'sharp';
import type { ImageTensorOptions, Tensor } from '../contract.js';
import { HttpError } from '../http-error.js';
import { imageLimitsFrom, type ImageLimits } from '../settings.js';
import { DecodeBudget } from './decode-budget.js';
import { decodeCost, describe, mib, type ImageHeader } from './decode-cost.js';
import { isSrgbProfile, matrixShaper } from './icc.js';
import { readJpegHeader, type JpegHeader } from './jpeg-header.js';
import { leanJpeg } from './jpeg-lean.js';
import { toPlanes } from './planes.js';
import { convertToSrgb } from './srgb.js';

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

  const pixels = await decode(image, shorter, size);

  // (v / 255 - mean) / std as one multiply and one subtract, into the three planes at once.
  // Every element is written, so the 600 KB need no zeroing first (that memset was 2% of a served
  // request's CPU). Never pooled: the tensor owns its buffer, which moves to the inference thread.
  const data = new Float32Array(Buffer.allocUnsafeSlow(3 * size * size * Float32Array.BYTES_PER_ELEMENT).buffer);
  toPlanes(pixels, data, std.map((d) => 1 / (255 * d)), mean.map((m, c) => m / std[c]!));
  return { type: 'float32', data, dims: [1, 3, size, size] };
}

// libvips' operation cache keeps each decoded input's loader alive, and with it what the format's
// library holds (a progressive JPEG's coefficients: ~30 MiB for a 12 MP photo), which the cache's
// own memory bound does not see: RSS grew by that much per request, up to 100 requests. A replica
// never decodes the same bytes twice, so nothing is lost by turning it off.
sharp.cache(false);

// Read once per thread: the predictor may run in a worker, whose process.env is its own copy.
let limits: ImageLimits | undefined;
let budget: DecodeBudget | undefined;

/**
 * The header is read first and the image refused (413) if its pixels or the memory its decoder
 * would take exceed the limits; sharp's own pixel limit backs that up. Only then is it decoded,
 * inside the thread's decode budget.
 */
async function decode(image: Buffer, shorter: number, size: number): Promise<Buffer> {
  const { maxPixels, decodeBudgetBytes } = (limits ??= imageLimitsFrom(process.env));
  budget ??= new DecodeBudget(decodeBudgetBytes);
  let meta: ImageHeader;
  let jpeg: JpegHeader | undefined;
  try {
    // Only the header is read here; the bound is checked below, with a message that names it.
    jpeg = readJpegHeader(image);
    meta = jpeg ?? (await sharp(image, { limitInputPixels: false }).metadata());
  } catch (err) {
    throw new HttpError(422, `not a supported image (${(err as Error).message})`);
  }
  // librsvg rasterises embedded images and filters at sizes no header states.
  if (meta.format === 'svg') throw new HttpError(422, 'SVG images are not accepted: what rasterising one costs cannot be known before doing it; send JPEG, PNG, WebP, GIF, TIFF or AVIF');
  const cost = decodeCost(meta);
  if (!cost) throw new HttpError(422, 'not a supported image (no dimensions)');
  if (cost.pixels > maxPixels) {
    throw new HttpError(413, `the image is ${describe(meta)}, ${(cost.pixels / 1e6).toFixed(1)} megapixels; the limit is ${(maxPixels / 1e6).toFixed(1)} (CORTEX_MAX_IMAGE_PIXELS): send a smaller image`);
  }
  if (cost.bytes > decodeBudgetBytes) {
    throw new HttpError(413, `decoding the image (${describe(meta)}) would take ${mib(cost.bytes)}; the limit is ${mib(decodeBudgetBytes)} (CORTEX_DECODE_BUDGET_MIB): send a smaller image`);
  }

  // EXIF orientations 5–8 are quarter turns: the displayed width is the stored height.
  const turned = (meta.orientation ?? 1) >= 5;
  const [w, h] = turned ? [cost.height, cost.width] : [cost.width, cost.height];
  const scale = shorter / Math.min(w, h);
  const [rw, rh] = [Math.max(shorter, Math.round(w * scale)), Math.max(shorter, Math.round(h * scale))];
  // sharp's colour management (lcms) builds a transform for every image, and that costs two to
  // three times the whole decode of a photo this size. An sRGB profile's transform into sRGB gives
  // back the very same pixels (checked on the photos in ../shared/images), so it is skipped; a
  // matrix/TRC profile (Adobe RGB, Display P3) is converted here after the crop, on 224×224 pixels
  // (within one level of lcms); anything else is still left to sharp.
  const srgb = isSrgbProfile(meta.icc);
  const shaper = srgb ? undefined : matrixShaper(meta.icc);
  const ignoreIcc = srgb || shaper !== undefined;
  const input = jpeg ? leanJpeg(image, jpeg, !ignoreIcc) : image;
  try {
    const pixels = await budget.run(cost.bytes, () =>
      sharp(input, { limitInputPixels: maxPixels, ignoreIcc })
        .rotate()
        .resize(rw, rh, { fit: 'fill' })
        .extract({ left: Math.floor((rw - size) / 2), top: Math.floor((rh - size) / 2), width: size, height: size })
        .removeAlpha()
        .toColourspace('srgb')
        .raw()
        .toBuffer(),
    );
    if (shaper) convertToSrgb(pixels, shaper);
    return pixels;
  } catch (err) {
    throw new HttpError(422, `not a supported image (${(err as Error).message})`);
  }
}

// What decoding an image will cost in memory, from its header alone. Deliberately the worst
// case of what libvips and the format's library hold at once, not the typical one, because the
// header is all an attacker has to write: each figure is a full page at the decoded depth,
// times what the format's decoder keeps beside it.
import type { Metadata } from 'sharp';

const bytesPerSample: Record<string, number> = { uchar: 1, char: 1, ushort: 2, short: 2, uint: 4, int: 4, float: 4, complex: 8, double: 8, dpcomplex: 16 };

/** What the cost and the messages read of a header: sharp's metadata, or the same fields read by hand. */
export type ImageHeader = Pick<Metadata, 'format' | 'width' | 'height' | 'channels' | 'depth' | 'isProgressive' | 'orientation' | 'icc' | 'compression'>;

export interface DecodeCost {
  width: number;
  /** Of the one page sharp decodes (GIF, WebP and TIFF may hold more). */
  height: number;
  pixels: number;
  bytes: number;
}

function copies(meta: ImageHeader): number {
  switch (meta.format) {
    // libjpeg keeps every DCT coefficient (2 bytes a sample) of a progressive JPEG until its
    // last scan; a baseline one is decoded row by row, its full frame is a generous bound.
    case 'jpeg':
      return meta.isProgressive ? 2 : 1;
    // An interlaced PNG is read whole before its first row comes out, and then copied.
    case 'png':
      return meta.isProgressive ? 2 : 1;
    // The strip libtiff reads into, and the page it is unpacked to.
    case 'tiff':
      return 2;
    // The canvas, and the previous one kept for frame disposal.
    case 'gif':
      return 2;
    // The AV1 decoder's frames (16-bit inside), libheif's planes for colour and alpha, their
    // conversion to interleaved RGBA, libvips' copy: a 42 MP AVIF took 780 MiB, 4.9 of its frames.
    case 'heif':
      return 5;
    default:
      return 1;
  }
}

// GIF, WebP and HEIF decoders write RGBA whatever the image's own bands.
const rgba = new Set(['gif', 'webp', 'heif']);

export function decodeCost(meta: ImageHeader): DecodeCost | undefined {
  const { width, height } = meta;
  if (!width || !height) return undefined;
  const pixels = width * height;
  const bands = Math.max(meta.channels ?? 3, rgba.has(meta.format ?? '') ? 4 : 1);
  return { width, height, pixels, bytes: pixels * bands * (bytesPerSample[meta.depth ?? 'uchar'] ?? 8) * copies(meta) };
}

const depthNames: Record<string, string> = { char: '8-bit signed', ushort: '16-bit', short: '16-bit', uint: '32-bit', int: '32-bit', float: 'float', double: 'double' };

const formatNames: Record<string, string> = { jpeg: 'JPEG', png: 'PNG', webp: 'WebP', gif: 'GIF', tiff: 'TIFF', heif: 'HEIF' };

/** "16000×16000 progressive JPEG", for error messages. */
export function describe(meta: ImageHeader): string {
  const format = meta.format === 'heif' && meta.compression === 'av1' ? 'AVIF' : (formatNames[meta.format ?? ''] ?? meta.format ?? 'image');
  const kind = [meta.isProgressive ? (meta.format === 'png' ? 'interlaced' : 'progressive') : '', depthNames[meta.depth ?? ''] ?? '', format];
  return `${meta.width}×${meta.height} ${kind.filter(Boolean).join(' ')}`;
}

export const mib = (bytes: number) => `${Math.ceil(bytes / 1024 / 1024)} MiB`;

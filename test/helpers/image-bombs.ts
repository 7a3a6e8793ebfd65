// Decompression bombs: tiny, well-formed-looking images whose headers declare huge dimensions.
// Each is a small real image made by sharp with its header patched, so the decoder believes the
// header and sizes its buffers from it before the data runs out.
import { crc32 } from 'node:zlib';
import sharp from 'sharp';

export interface Bomb {
  name: string;
  type: string;
  bytes: Buffer;
  width: number;
  height: number;
}

const small = (channels: 3 | 4 = 3) => sharp({ create: { width: 16, height: 16, channels, background: { r: 200, g: 30, b: 30, alpha: 1 } } });

function at(buf: Buffer, needle: number[] | string, from = 0): number {
  const i = buf.indexOf(typeof needle === 'string' ? Buffer.from(needle, 'latin1') : Buffer.from(needle), from);
  if (i < 0) throw new Error(`image-bombs: marker ${JSON.stringify(needle)} not found`);
  return i;
}

/** A JPEG's start-of-frame (SOF0 baseline or SOF2 progressive) holds height, then width. */
function jpeg(bytes: Buffer, sof: number, side: number): Buffer {
  const i = at(bytes, [0xff, sof]);
  bytes.writeUInt16BE(side, i + 5);
  bytes.writeUInt16BE(side, i + 7);
  return bytes;
}

/** PNG's IHDR holds width and height and is covered by a CRC the decoder checks. */
function png(bytes: Buffer, side: number): Buffer {
  const i = at(bytes, 'IHDR');
  bytes.writeUInt32BE(side, i + 4);
  bytes.writeUInt32BE(side, i + 8);
  bytes.writeUInt32BE(crc32(bytes.subarray(i, i + 17)), i + 17);
  return bytes;
}

/** GIF's logical screen and its first image descriptor both say how big the canvas is. */
function gif(bytes: Buffer, side: number): Buffer {
  bytes.writeUInt16LE(side, 6);
  bytes.writeUInt16LE(side, 8);
  const d = at(bytes, [0x2c, 0, 0, 0, 0]);
  bytes.writeUInt16LE(side, d + 5);
  bytes.writeUInt16LE(side, d + 7);
  return bytes;
}

/** Lossy WebP: the VP8 key frame's start code 9d 01 2a is followed by 14-bit width and height. */
function webp(bytes: Buffer, side: number): Buffer {
  const i = at(bytes, [0x9d, 0x01, 0x2a]);
  bytes.writeUInt16LE(side & 0x3fff, i + 3);
  bytes.writeUInt16LE(side & 0x3fff, i + 5);
  return bytes;
}

/** TIFF (little-endian, as sharp writes it): ImageWidth, ImageLength and RowsPerStrip tags. */
function tiff(bytes: Buffer, side: number): Buffer {
  const ifd = bytes.readUInt32LE(4);
  const count = bytes.readUInt16LE(ifd);
  for (let e = 0; e < count; e++) {
    const entry = ifd + 2 + e * 12;
    const tag = bytes.readUInt16LE(entry);
    if (tag !== 256 && tag !== 257 && tag !== 278) continue;
    if (bytes.readUInt16LE(entry + 2) === 3) bytes.writeUInt16LE(side, entry + 8);
    else bytes.writeUInt32LE(side, entry + 8);
  }
  return bytes;
}

/** HEIF/AVIF: the 'ispe' property holds the image's width and height. */
function avif(bytes: Buffer, side: number): Buffer {
  const i = at(bytes, 'ispe');
  bytes.writeUInt32BE(side, i + 8);
  bytes.writeUInt32BE(side, i + 12);
  return bytes;
}

/** One bomb per format sharp reads from a buffer, each declaring `side`×`side` (16000 by default). */
export async function imageBombs(side = 16_000): Promise<Bomb[]> {
  const webpSide = Math.min(side, 16_383);
  const make = (name: string, type: string, bytes: Buffer, s = side): Bomb => ({ name, type, bytes, width: s, height: s });
  return [
    make('progressive JPEG', 'image/jpeg', jpeg(await small().jpeg({ progressive: true, chromaSubsampling: '4:4:4' }).toBuffer(), 0xc2, side)),
    make('baseline JPEG', 'image/jpeg', jpeg(await small().jpeg({ chromaSubsampling: '4:4:4' }).toBuffer(), 0xc0, side)),
    make('interlaced 16-bit RGBA PNG', 'image/png', png(await small(4).toColourspace('rgb16').png({ progressive: true }).toBuffer(), side)),
    make('16-bit RGBA PNG', 'image/png', png(await small(4).toColourspace('rgb16').png().toBuffer(), side)),
    make('GIF', 'image/gif', gif(await small().gif().toBuffer(), side)),
    make('WebP', 'image/webp', webp(await small().webp().toBuffer(), webpSide), webpSide),
    make('16-bit RGBA TIFF', 'image/tiff', tiff(await small(4).toColourspace('rgb16').tiff({ compression: 'deflate' }).toBuffer(), side)),
    make('AVIF', 'image/avif', avif(await small().avif().toBuffer(), side)),
    make('SVG', 'image/svg+xml', Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${side}" height="${side}"><rect width="100%" height="100%" fill="red"/></svg>`)),
  ];
}

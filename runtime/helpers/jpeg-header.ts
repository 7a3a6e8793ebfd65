// What imageToTensor needs from a JPEG's header (size, bands, scans, EXIF orientation, ICC
// profile), read here in JavaScript from the markers before the first scan, as libjpeg reads
// them. sharp's metadata() reads the same, but it is a trip through libvips on the thread pool
// that cost about 7% of a photo's whole decode; most photos sent to a model are plain 8-bit
// JPEGs. Anything this reader does not know for certain (another format, 12-bit or CMYK, a
// marker out of place, EXIF or ICC chunks it would have to guess about) is undefined, and the
// caller asks sharp instead.
import type { Metadata } from 'sharp';

/** A segment's bytes, its marker included: from `start` up to (not including) `end`. */
export type Segment = readonly [start: number, end: number];

export type JpegHeader = Required<Pick<Metadata, 'format' | 'width' | 'height' | 'channels' | 'depth' | 'isProgressive'>> &
  Pick<Metadata, 'orientation' | 'icc'> & {
    /** Where the APP1 segments (EXIF, XMP) and the ICC profile's APP2 segments are: metadata, never pixels. */
    segments: { app1: Segment[]; icc: Segment[] };
  };

const iccSignature = 'ICC_PROFILE\0';

export function readJpegHeader(bytes: Uint8Array): JpegHeader | undefined {
  if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8) return undefined;
  const u16 = (at: number) => (bytes[at]! << 8) | bytes[at + 1]!;
  let frame: { width: number; height: number; channels: number; progressive: boolean } | undefined;
  let exif: Uint8Array | undefined;
  const icc: Uint8Array[] = [];
  let iccCount = 0;
  const segments: JpegHeader['segments'] = { app1: [], icc: [] };
  for (let at = 2; at + 4 <= bytes.length; ) {
    if (bytes[at] !== 0xff) return undefined;
    const marker = bytes[at + 1]!;
    // Fill bytes before a marker.
    if (marker === 0xff) {
      at++;
      continue;
    }
    const length = u16(at + 2);
    const body = at + 4;
    const end = at + 2 + length;
    if (length < 2 || end > bytes.length) return undefined;
    if (marker === 0xc0 || marker === 0xc1 || marker === 0xc2) {
      if (frame || length < 8 || bytes[body] !== 8) return undefined;
      const height = u16(body + 1);
      const width = u16(body + 3);
      const channels = bytes[body + 5]!;
      if (!width || !height || (channels !== 1 && channels !== 3)) return undefined;
      frame = { width, height, channels, progressive: marker === 0xc2 };
    } else if (marker >= 0xc3 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      // Lossless, hierarchical and arithmetic-coded frames: rare, and sharp knows them.
      return undefined;
    } else if (marker === 0xda) {
      if (!frame) return undefined;
      // A baseline image whose first scan holds fewer components than the frame has more scans,
      // and libjpeg keeps its coefficients as it does a progressive one's (sharp: isProgressive).
      const multiScan = frame.progressive || bytes[body]! < frame.channels;
      return header(frame.width, frame.height, frame.channels, multiScan, exif, icc, iccCount, segments);
    } else if (marker === 0xe1) {
      segments.app1.push([at, end]);
      if (length >= 8 && ascii(bytes, body, 6) === 'Exif\0\0') {
        if (exif) return undefined;
        exif = bytes.subarray(body + 6, end);
      }
    } else if (marker === 0xe2 && length >= 16 && ascii(bytes, body, 12) === iccSignature) {
      const seq = bytes[body + 12]!;
      const count = bytes[body + 13]!;
      if (seq < 1 || count < 1 || seq > count || (iccCount && count !== iccCount) || icc[seq - 1]) return undefined;
      iccCount = count;
      icc[seq - 1] = bytes.subarray(body + 14, end);
      segments.icc.push([at, end]);
    } else if (marker === 0xd8 || marker === 0xd9 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
      // An image start, end or restart marker before the first scan: not a file to guess about.
      return undefined;
    }
    at = end;
  }
  return undefined;
}

function header(width: number, height: number, channels: number, isProgressive: boolean, exif: Uint8Array | undefined, chunks: Uint8Array[], count: number, segments: JpegHeader['segments']): JpegHeader | undefined {
  const out: JpegHeader = { format: 'jpeg', width, height, channels: channels as 1 | 3, depth: 'uchar', isProgressive, segments };
  if (exif) {
    const orientation = exifOrientation(exif);
    if (orientation === null) return undefined;
    if (orientation !== undefined) out.orientation = orientation;
  }
  if (count) {
    if (chunks.length !== count || chunks.some((c) => c === undefined)) return undefined;
    out.icc = Buffer.concat(chunks);
  }
  return out;
}

/** The orientation tag of IFD0: undefined when there is none, null when the EXIF is not readable. */
function exifOrientation(tiff: Uint8Array): number | undefined | null {
  if (tiff.length < 8) return null;
  const little = tiff[0] === 0x49 && tiff[1] === 0x49;
  if (!little && !(tiff[0] === 0x4d && tiff[1] === 0x4d)) return null;
  const view = new DataView(tiff.buffer, tiff.byteOffset, tiff.byteLength);
  if (view.getUint16(2, little) !== 42) return null;
  const ifd = view.getUint32(4, little);
  if (ifd + 2 > tiff.length) return null;
  const entries = view.getUint16(ifd, little);
  if (ifd + 2 + 12 * entries > tiff.length) return null;
  for (let i = 0; i < entries; i++) {
    const entry = ifd + 2 + 12 * i;
    if (view.getUint16(entry, little) !== 0x0112) continue;
    const value = view.getUint16(entry + 8, little);
    return view.getUint16(entry + 2, little) === 3 && value >= 1 && value <= 8 ? value : null;
  }
  return undefined;
}

function ascii(bytes: Uint8Array, at: number, length: number): string {
  return String.fromCharCode(...bytes.subarray(at, at + length));
}

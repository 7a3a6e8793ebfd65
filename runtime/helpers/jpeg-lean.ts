// A JPEG as imageToTensor hands it to sharp: without the metadata libvips would parse on every
// decode and a tensor never uses. libvips turns each EXIF tag of a camera photo into a formatted
// metadata string (libexif, printf, a hash insert per tag): 1.3–1.8 ms of a 10 ms decode for the
// test photos that carry a camera's EXIF, for no pixel. Only the orientation matters, and it is
// kept as an EXIF block of that one tag, so sharp's rotate() turns the image exactly as before.
// Pixel data and the segments that do govern decoding (JFIF, Adobe's colour transform, the
// tables) are left as they are.
import type { JpegHeader, Segment } from './jpeg-header.js';

/** EXIF of one IFD0 entry, Orientation (0x0112, SHORT, 1 value), big-endian, as an APP1 segment. */
function orientationExif(orientation: number): Buffer {
  const tiff = [0x4d, 0x4d, 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, orientation, 0, 0, 0, 0, 0, 0];
  const body = [...Buffer.from('Exif\0\0', 'latin1'), ...tiff];
  return Buffer.from([0xff, 0xe1, (body.length + 2) >> 8, (body.length + 2) & 0xff, ...body]);
}

/**
 * `bytes` without its APP1 segments (EXIF, XMP) and, unless `keepIcc`, its ICC profile; an
 * orientation other than upright comes back as a one-tag EXIF where the first cut was. Where
 * there is nothing to cut, the bytes themselves.
 */
export function leanJpeg(bytes: Uint8Array, header: JpegHeader, keepIcc: boolean): Uint8Array {
  const cuts: Segment[] = [...header.segments.app1, ...(keepIcc ? [] : header.segments.icc)].sort((a, b) => a[0] - b[0]);
  if (cuts.length === 0) return bytes;
  const parts: Uint8Array[] = [bytes.subarray(0, cuts[0]![0])];
  if ((header.orientation ?? 1) !== 1) parts.push(orientationExif(header.orientation!));
  for (let i = 0; i < cuts.length; i++) parts.push(bytes.subarray(cuts[i]![1], cuts[i + 1]?.[0] ?? bytes.length));
  return Buffer.concat(parts);
}

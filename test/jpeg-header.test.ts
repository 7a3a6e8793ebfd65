// The JPEG header read in JavaScript says what sharp's metadata() says, field for field, for every
// test photo and for the JPEGs sharp itself writes with each feature the reader looks at; what it
// cannot read for certain it leaves to sharp (undefined), never a guess.
import { readFile } from 'node:fs/promises';
import test from 'ava';
import sharp from 'sharp';
import { readJpegHeader } from '../runtime/helpers/jpeg-header.js';
import { photoFiles } from './helpers/shared.js';

const fields = ['format', 'width', 'height', 'channels', 'depth', 'isProgressive', 'orientation'] as const;

async function agrees(t: import('ava').ExecutionContext, bytes: Buffer, what: string): Promise<void> {
  const header = readJpegHeader(bytes);
  const meta = await sharp(bytes).metadata();
  if (!header) return t.fail(`${what}: not read`);
  for (const field of fields) t.is(header[field], meta[field], `${what}: ${field}`);
  t.deepEqual(header.icc && Buffer.from(header.icc), meta.icc, `${what}: icc`);
}

/** The JPEG with its one ICC_PROFILE APP2 marker cut into two, numbered 1 and 2 of 2. */
function inChunks(jpeg: Buffer): Buffer {
  const at = jpeg.indexOf(Buffer.from('ICC_PROFILE\0', 'latin1')) - 4;
  const profile = jpeg.subarray(at + 18, at + 2 + jpeg.readUInt16BE(at + 2));
  const marker = (part: Buffer, seq: number) => {
    const head = Buffer.from([0xff, 0xe2, 0, 0, ...Buffer.from('ICC_PROFILE\0', 'latin1'), seq, 2]);
    head.writeUInt16BE(2 + 14 + part.length, 2);
    return Buffer.concat([head, part]);
  };
  const half = profile.length >> 1;
  return Buffer.concat([jpeg.subarray(0, at), marker(profile.subarray(0, half), 1), marker(profile.subarray(half), 2), jpeg.subarray(at + 2 + jpeg.readUInt16BE(at + 2))]);
}

const photo = () => sharp({ create: { width: 320, height: 200, channels: 3, background: { r: 200, g: 90, b: 30 } } });

test('every test photo: the fields sharp gives', async (t) => {
  for (const [name, path] of Object.entries(photoFiles)) await agrees(t, await readFile(path), name);
});

test('the JPEGs sharp writes: progressive, grey, every EXIF orientation, ICC profiles in one and in several chunks', async (t) => {
  await agrees(t, await photo().jpeg({ progressive: true }).toBuffer(), 'progressive');
  await agrees(t, await photo().greyscale().jpeg().toBuffer(), 'grey');
  for (let orientation = 1; orientation <= 8; orientation++) await agrees(t, await photo().withMetadata({ orientation }).jpeg().toBuffer(), `orientation ${orientation}`);
  await agrees(t, await photo().withIccProfile('p3').jpeg().toBuffer(), 'Display P3');
  // A profile over one APP2 marker's 64 KiB is split across several, numbered: the P3 one cut in two.
  await agrees(t, inChunks(await photo().withIccProfile('p3').jpeg().toBuffer()), 'a profile in two chunks');
  const header = readJpegHeader(await photo().withMetadata({ orientation: 6 }).jpeg().toBuffer());
  t.is(header?.orientation, 6, 'the quarter turn is read');
});

test('a baseline JPEG whose first scan holds one component is multi-scan, as libjpeg says', async (t) => {
  const bytes = await photo().jpeg().toBuffer();
  const sos = bytes.indexOf(Buffer.from([0xff, 0xda]));
  // The first scan's header rewritten to carry only the first component (the data after it is not decoded here).
  const scan = Buffer.from([0xff, 0xda, 0x00, 0x08, 0x01, bytes[sos + 5]!, bytes[sos + 6]!, 0x00, 0x3f, 0x00]);
  const multi = Buffer.concat([bytes.subarray(0, sos), scan, bytes.subarray(sos + 2 + bytes.readUInt16BE(sos + 2))]);
  t.is(readJpegHeader(multi)?.isProgressive, true);
  t.is((await sharp(multi).metadata()).isProgressive, true);
});

test('what it cannot be sure of is left to sharp: other formats, CMYK, a cut header, a second EXIF block', async (t) => {
  t.is(readJpegHeader(await photo().png().toBuffer()), undefined, 'PNG');
  t.is(readJpegHeader(await photo().toColourspace('cmyk').jpeg().toBuffer()), undefined, 'CMYK');
  const jpeg = await photo().withMetadata({ orientation: 3 }).jpeg().toBuffer();
  t.is(readJpegHeader(jpeg.subarray(0, 40)), undefined, 'cut inside the header');
  const app1 = jpeg.indexOf(Buffer.from('Exif\0\0', 'latin1')) - 4;
  t.true(app1 > 0);
  const block = jpeg.subarray(app1, app1 + 2 + jpeg.readUInt16BE(app1 + 2));
  t.is(readJpegHeader(Buffer.concat([jpeg.subarray(0, app1), block, jpeg.subarray(app1)])), undefined, 'two EXIF blocks');
  t.is(readJpegHeader(Buffer.from('not an image')), undefined);
});

test('a header declaring 16000×16000 is read without decoding anything', (t) => {
  // SOI, SOF0 of 16000×16000 with three components, SOS: all a bomb's header says.
  const sof = [0xff, 0xc0, 0x00, 0x11, 0x08, 0x3e, 0x80, 0x3e, 0x80, 0x03, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1];
  const sos = [0xff, 0xda, 0x00, 0x0c, 0x03, 1, 0x00, 2, 0x11, 3, 0x11, 0x00, 0x3f, 0x00];
  t.like(readJpegHeader(Buffer.from([0xff, 0xd8, ...sof, ...sos])), { width: 16000, height: 16000, channels: 3, isProgressive: false });
});

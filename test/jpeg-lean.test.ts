// The JPEG imageToTensor hands to sharp: the camera's EXIF, XMP and (when the helpers convert
// colours themselves) the ICC profile cut, the orientation kept as a one-tag EXIF block, and
// nothing that decodes to a pixel touched.
import { readFile } from 'node:fs/promises';
import test from 'ava';
import sharp from 'sharp';
import { readJpegHeader } from '../runtime/helpers/jpeg-header.js';
import { leanJpeg } from '../runtime/helpers/jpeg-lean.js';
import { photoFiles } from './helpers/shared.js';

const pixels = (bytes: Uint8Array) => sharp(bytes, { ignoreIcc: true }).rotate().raw().toBuffer();

test('a camera photo: its EXIF and ICC profile are cut, and it decodes to the same pixels', async (t) => {
  const bytes = await readFile(photoFiles['dog.jpg']);
  const before = await sharp(bytes).metadata();
  t.true((before.exif?.length ?? 0) > 500 && before.icc !== undefined, 'the photo carries a camera EXIF block and a profile');
  const lean = leanJpeg(bytes, readJpegHeader(bytes)!, false);
  const after = await sharp(lean).metadata();
  t.is(after.exif, undefined);
  t.is(after.icc, undefined);
  t.like(after, { width: before.width, height: before.height, channels: before.channels, isProgressive: before.isProgressive });
  t.true(lean.length < bytes.length - 5000);
  t.deepEqual(await pixels(lean), await pixels(bytes));
  // A profile the helpers leave to sharp stays.
  t.deepEqual((await sharp(leanJpeg(bytes, readJpegHeader(bytes)!, true)).metadata()).icc, before.icc);
});

test('every EXIF orientation survives as a one-tag block, and the photo turns as before', async (t) => {
  const photo = await readFile(photoFiles['dog.jpg']);
  for (let orientation = 1; orientation <= 8; orientation++) {
    const bytes = await sharp(photo).keepExif().withMetadata({ orientation }).jpeg().toBuffer();
    const lean = leanJpeg(bytes, readJpegHeader(bytes)!, false);
    const meta = await sharp(lean).metadata();
    t.is(meta.orientation, orientation === 1 ? undefined : orientation, `orientation ${orientation}`);
    t.true((meta.exif?.length ?? 0) < 64, `orientation ${orientation}: the EXIF left is ${meta.exif?.length} bytes`);
    t.deepEqual(await pixels(lean), await pixels(bytes), `orientation ${orientation}: the same pixels, turned the same way`);
  }
});

test('XMP goes too; a JPEG with nothing to cut is handed on as it is', async (t) => {
  const hotdog = await readFile(photoFiles['hotdog.jpg']);
  t.truthy((await sharp(hotdog).metadata()).xmp, 'the photo carries XMP');
  const lean = leanJpeg(hotdog, readJpegHeader(hotdog)!, false);
  t.is((await sharp(lean).metadata()).xmp, undefined);
  t.deepEqual(await pixels(lean), await pixels(hotdog));
  const bare = await sharp({ create: { width: 64, height: 48, channels: 3, background: '#c05020' } }).jpeg().toBuffer();
  t.is(leanJpeg(bare, readJpegHeader(bare)!, false), bare);
});

// A small file must not cost gigabytes: images whose header declares more pixels, or more decode
// memory, than the limits are refused from the header; decodes within them share a budget.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { DecodeBudget } from '../runtime/helpers/decode-budget.js';
import { imageToTensor } from '../runtime/helpers/image.js';
import { HttpError } from '../runtime/http-error.js';
import { imageLimitsFrom, SettingsError } from '../runtime/settings.js';
import { loadSpec } from '../src/spec/index.js';
import { imageBombs } from './helpers/image-bombs.js';
import { startRuntime, waitReady } from './helpers/runtime-process.js';
import { exampleDir, photoFiles } from './helpers/shared.js';

const mib = 1024 * 1024;

// Serial: should the bound ever break, one bomb at a time costs 1.5 GB, not the sum of them all.
for (const bomb of (await imageBombs()).filter((b) => b.name !== 'SVG')) {
  test.serial(`a ${bomb.bytes.length}-byte ${bomb.name} declaring ${bomb.width}×${bomb.height} is a 413 naming its size and the bound`, async (t) => {
    const err = await t.throwsAsync(imageToTensor(bomb.bytes));
    t.true(err instanceof HttpError && err.status === 413, String(err));
    t.regex(err!.message, new RegExp(`^the image is ${bomb.width}×${bomb.height} .*, \\d+\\.\\d megapixels; the limit is 50\\.0 \\(CORTEX_MAX_IMAGE_PIXELS\\): send a smaller image$`));
  });
}

test('an image within the pixel bound whose decoder would need more than the budget is a 413 naming both', async (t) => {
  const png = (await imageBombs(7071)).find((b) => b.name === '16-bit RGBA PNG')!;
  const err = await t.throwsAsync(imageToTensor(png.bytes));
  t.true(err instanceof HttpError && err.status === 413, String(err));
  t.is(err!.message, 'decoding the image (7071×7071 16-bit PNG) would take 382 MiB; the limit is 320 MiB (CORTEX_DECODE_BUDGET_MIB): send a smaller image');
});

test('SVG is a 422: what rasterising it costs is not in its header', async (t) => {
  const svg = (await imageBombs(100)).find((b) => b.name === 'SVG')!;
  const err = await t.throwsAsync(imageToTensor(svg.bytes));
  t.true(err instanceof HttpError && err.status === 422, String(err));
  t.regex(err!.message, /^SVG images are not accepted/);
});

test('a real photo still decodes', async (t) => {
  const tensor = await imageToTensor(await readFile(photoFiles['kite.jpg']));
  t.deepEqual(tensor.dims, [1, 3, 224, 224]);
});

test('the limits are runtime settings, checked', (t) => {
  t.deepEqual(imageLimitsFrom({ CORTEX_MAX_IMAGE_PIXELS: '1000', CORTEX_DECODE_BUDGET_MIB: '64' }), { maxPixels: 1000, decodeBudgetBytes: 64 * mib });
  t.throws(() => imageLimitsFrom({ CORTEX_DECODE_BUDGET_MIB: '1.5' }), { instanceOf: SettingsError, message: 'CORTEX_DECODE_BUDGET_MIB must be an integer ≥ 1, got "1.5"' });
});

test('the decode budget runs what fits and queues the rest in order', async (t) => {
  const budget = new DecodeBudget(10);
  const order: string[] = [];
  let release!: () => void;
  const first = budget.run(6, () => new Promise<void>((r) => (release = r)).then(() => order.push('first')));
  const second = budget.run(6, async () => order.push(`second with ${budget.inFlight} in flight`));
  const third = budget.run(1, async () => order.push('third'));
  await new Promise((r) => setTimeout(r, 20));
  t.deepEqual(order, [], 'the second does not fit beside the first, and the third does not overtake it');
  release();
  await Promise.all([first, second, third]);
  t.deepEqual(order, ['first', 'second with 7 in flight', 'third']);
});

async function peakRss(pid: number): Promise<number> {
  return Number(/VmHWM:\s+(\d+)/.exec(await readFile(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;
}

test('a replica under bombs stays within its budget, and still classifies photos', async (t) => {
  const api = (await loadSpec(exampleDir)).apis[0]!;
  const rt = await startRuntime(join(exampleDir, 'predictor.ts'), api.predictor.config, { CORTEX_API_DIR: exampleDir, CORTEX_DECODE_BUDGET_MIB: '200' });
  t.teardown(() => rt.child.kill('SIGKILL'));
  await waitReady(rt.url, 60_000);
  const ready = await peakRss(rt.child.pid!);
  const send = (bytes: Buffer, type: string) => fetch(rt.url, { method: 'POST', body: bytes, headers: { 'content-type': type } }).then(async (r) => ({ status: r.status, body: (await r.json()) as { error?: string } }));

  const huge = await imageBombs();
  const answers = await Promise.all(huge.map((b) => send(b.bytes, b.type)));
  t.true(answers.every((a) => a.status === 413 || a.status === 422), JSON.stringify(answers.map((a) => a.status)));
  t.regex(answers[0]!.body.error!, /16000×16000 progressive JPEG, 256\.0 megapixels; the limit is 50\.0 \(CORTEX_MAX_IMAGE_PIXELS\)/);

  // 25 MP progressive JPEGs cost 143 MiB each (their coefficients): eight sent at once are decoded
  // one at a time within the 200 MiB budget, where four at once would take 570 MiB.
  const within = (await imageBombs(5000)).find((b) => b.name === 'progressive JPEG')!;
  await Promise.all(Array.from({ length: 8 }, () => send(within.bytes, within.type)));
  const grown = (await peakRss(rt.child.pid!)) - ready;
  t.true(grown < 300 * mib, `peak RSS grew by ${Math.round(grown / mib)} MiB`);

  const kite = await send(await readFile(photoFiles['kite.jpg']), 'image/jpeg');
  t.deepEqual(kite, { status: 200, body: 'parachute' as never });
});

// node dist/bench/image-bombs.js: the worst memory an image can cost a replica. For each bomb
// format (test/helpers/image-bombs.ts), a fresh runtime process serving the example classifier
// gets BOMBS_AT_ONCE copies at once; the figure is the process's peak RSS (VmHWM), which counts
// the inference and decode threads too. A real photo is measured the same way for comparison.
// BOMBS_AT_LIMIT=1 sends instead, per format, the largest valid image the default limits let
// through: what a replica may really have to decode.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp, { type Sharp } from 'sharp';
import { decodeCost } from '../runtime/helpers/decode-cost.js';
import { imageDefaults } from '../runtime/settings.js';
import { loadSpec } from '../src/spec/index.js';
import { imageBombs, type Bomb } from '../test/helpers/image-bombs.js';
import { startRuntime, waitReady } from '../test/helpers/runtime-process.js';
import { exampleDir, photoFiles } from '../test/helpers/shared.js';

const atOnce = Number(process.env.BOMBS_AT_ONCE ?? 8);
const only = process.env.BOMBS_ONLY?.toLowerCase();

const mib = (kib: number) => `${Math.round(kib / 1024)} MiB`;

async function peakKib(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+)/.exec(status)![1]);
}

async function measure(bomb: Bomb): Promise<string> {
  const spec = await loadSpec(exampleDir);
  const api = spec.apis[0]!;
  const runtime = await startRuntime(join(exampleDir, 'predictor.ts'), api.predictor.config, { CORTEX_API_DIR: exampleDir, CORTEX_PREDICT_TIMEOUT_MS: '120000' });
  try {
    await waitReady(runtime.url, 120_000);
    const before = await peakKib(runtime.child.pid!);
    const started = Date.now();
    const answers = await Promise.all(
      Array.from({ length: atOnce }, () =>
        fetch(runtime.url, { method: 'POST', body: bomb.bytes, headers: { 'content-type': bomb.type } }).then(
          async (res) => `${res.status} ${(await res.text()).replace(/\s+/g, ' ').replace(/,"request_id".*/, '').slice(0, 160)}`,
          (err: Error) => `no answer (${(err.cause as Error | undefined)?.message ?? err.message})`,
        ),
      ),
    );
    const ms = Date.now() - started;
    const after = await peakKib(runtime.child.pid!).catch(() => NaN);
    const exit = runtime.child.exitCode ?? runtime.child.signalCode;
    return `${bomb.name} (${bomb.bytes.length} B, ${bomb.width}×${bomb.height}): ready ${mib(before)}, peak ${Number.isNaN(after) ? `? (process gone: ${exit})` : mib(after)}, ${ms} ms; ${[...new Set(answers)].join(' | ')}`;
  } finally {
    runtime.child.kill('SIGKILL');
    await runtime.exited;
  }
}

const kinds: Array<[name: string, type: string, bands: 3 | 4, deep: boolean, encode: (s: Sharp) => Sharp]> = [
  ['progressive JPEG', 'image/jpeg', 3, false, (s) => s.jpeg({ progressive: true, chromaSubsampling: '4:4:4' })],
  ['baseline JPEG', 'image/jpeg', 3, false, (s) => s.jpeg({ chromaSubsampling: '4:4:4' })],
  ['interlaced 16-bit RGBA PNG', 'image/png', 4, true, (s) => s.png({ progressive: true })],
  ['GIF', 'image/gif', 4, false, (s) => s.gif()],
  ['WebP', 'image/webp', 4, false, (s) => s.webp({ effort: 0 })],
  ['16-bit RGBA TIFF', 'image/tiff', 4, true, (s) => s.tiff({ compression: 'deflate' })],
  ['AVIF', 'image/avif', 4, false, (s) => s.avif({ effort: 0 })],
];

async function atTheLimits(): Promise<Bomb[]> {
  const out: Bomb[] = [];
  for (const [name, type, bands, deep, encode] of kinds) {
    if (only && !name.toLowerCase().includes(only)) continue;
    const image = (side: number) => {
      const plain = sharp({ create: { width: side, height: side, channels: bands, background: { r: 90, g: 140, b: 200, alpha: 0.5 } } });
      return encode(deep ? plain.toColourspace('rgb16') : plain).toBuffer();
    };
    const probe = decodeCost(await sharp(await image(64)).metadata())!;
    const pixels = Math.min(imageDefaults.maxPixels, imageDefaults.decodeBudgetBytes / (probe.bytes / probe.pixels));
    const side = Math.floor(Math.sqrt(pixels));
    out.push({ name: `${name} at the limits`, type, bytes: await image(side), width: side, height: side });
  }
  return out;
}

const kite = await readFile(photoFiles['kite.jpg']);
const cases: Bomb[] = [{ name: 'kite.jpg (a real photo)', type: 'image/jpeg', bytes: kite, width: 0, height: 0 }, ...(process.env.BOMBS_AT_LIMIT ? await atTheLimits() : await imageBombs())];
console.log(`${atOnce} at once, one fresh replica per format`);
for (const bomb of cases) {
  if (only && !bomb.name.toLowerCase().includes(only)) continue;
  console.log(await measure(bomb));
}

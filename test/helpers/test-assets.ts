// The real model, labels and large photos the tests run on, found as a user's machine finds a
// predictor's model: in an offline mirror when there is one, else downloaded once from upstream
// into the cortex cache by the runtime's own resolver, so a clone with a network needs no setup.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { resolveAsset, urlBasename } from '../../runtime/helpers/assets.js';
import { loadSpec } from '../../src/spec/index.js';

/** Photos too large for the repo (the small ones are in test/fixtures/images). */
export const upstreamPhotos = ['giraffe.jpg', 'horses.jpg', 'kite.jpg', 'person.jpg', 'scream.jpg'] as const;
const photoUrl = (name: string) => `https://raw.githubusercontent.com/pjreddie/darknet/master/data/${name}`;

// The files the tests' expected answers were measured on: an upstream that changes them is this
// error, not a wrong label three tests later.
const sha256: Record<string, string> = {
  'mobilenetv2-12-int8.onnx': '83530ad811bc31d2b60a5599a21265a5057608c9b044b4ee758cc22f2309f54f',
  'imagenet-simple-labels.json': '987705581d9446328498f950454a1cc7d8dfc578a8243d8bfdcd2588a6905aae',
  'giraffe.jpg': '00dc48a9b2af8a1fe4c4b79319726591f1033c7e1150f21e7577a79f3b6659f1',
  'horses.jpg': 'c8f0a677a1356569e2ce71d2fa88c1030c0ae57ecf5e14170e02d9a86a20dcb4',
  'kite.jpg': '87410f52f79cc256c3949b48a3548632c07c8e9943468ef8caa6250f6643be8e',
  'person.jpg': 'cdcbab947e46110fc2b77784ac54ddbbab2640f1e44cb5e91fc8984a9793a7d1',
  'scream.jpg': 'dcab7bae866fbb396e01ab27a9c8d2d40b3e80911dafb05a5fa18d1bac6b8d17',
};

export interface Mirrors {
  /** Holds the model and labels by their URLs' basenames (CORTEX_MODEL_MIRROR's layout). */
  models?: string;
  photos?: string;
}

/**
 * CORTEX_MODEL_MIRROR for the model files; CORTEX_SHARED_DIR (its models/ and images/) for
 * everything; else a ../shared beside the checkout, as on the project's own offline machines.
 */
export function findMirrors(env: NodeJS.ProcessEnv, repoRoot: string): Mirrors {
  const explicit = env.CORTEX_SHARED_DIR ? resolve(env.CORTEX_SHARED_DIR) : undefined;
  const shared = explicit ?? resolve(repoRoot, '../shared');
  // A folder someone named is used even when empty, so the error says where the files should be.
  const sub = (name: string) => (explicit || existsSync(join(shared, name)) ? join(shared, name) : undefined);
  const models = env.CORTEX_MODEL_MIRROR ? resolve(env.CORTEX_MODEL_MIRROR) : sub('models');
  return { models, photos: sub('images') ?? models };
}

export interface Asset {
  url: string;
  file: string;
}

export interface TestAssets {
  model: Asset;
  labels: Asset;
  /** By file name: the upstream photos' local paths. */
  photos: Record<(typeof upstreamPhotos)[number], string>;
}

/** The local files, downloading into `cacheDir` what no mirror holds and the cache lacks. */
export async function fetchTestAssets(exampleDir: string, mirrors: Mirrors, cacheDir: string): Promise<TestAssets> {
  const { config } = (await loadSpec(exampleDir)).apis[0]!.predictor;
  const get = async (url: string, mirrorDir: string | undefined) => {
    const settings = { baseDir: exampleDir, cacheDir, mirrorDir, downloadTimeoutMs: 300_000 };
    const file = await resolveAsset(url, settings).catch((err: Error) => {
      throw new Error(`${err.message}; or, for every file the tests use, set CORTEX_SHARED_DIR to a folder with models/ and images/ (README.md, Set up and test)`);
    });
    await verify(file, url);
    return { url, file };
  };
  // One at a time, model first: offline, the first error is about the model and is the only one.
  const model = await get(config.model as string, mirrors.models);
  const labels = await get(config.labels as string, mirrors.models);
  const photos = {} as TestAssets['photos'];
  for (const name of upstreamPhotos) photos[name] = (await get(photoUrl(name), mirrors.photos)).file;
  return { model, labels, photos };
}

async function verify(file: string, url: string): Promise<void> {
  const name = urlBasename(url);
  const digest = createHash('sha256').update(await readFile(file)).digest('hex');
  if (digest !== sha256[name]) throw new Error(`${file} (for ${url}) has sha256 ${digest}, not the ${sha256[name]} the tests expect`);
}

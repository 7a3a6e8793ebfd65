// Where the tests' real model, labels and photos are: see test-assets.ts. Importing this resolves
// them (the first run on a machine with a network downloads them into the cortex cache).
import { copyFile, mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { urlBasename } from '../../runtime/helpers/assets.js';
import { cacheDirFrom } from '../../runtime/settings.js';
import { fetchTestAssets, findMirrors } from './test-assets.js';

export const repoRoot = resolve(new URL('../../..', import.meta.url).pathname);
export const fixtures = resolve(repoRoot, 'test/fixtures');
export const exampleDir = resolve(repoRoot, 'examples/image-classifier');
/** The photos in the repo, the ones whose labels tests assert (a folder to serve). */
export const photosDir = resolve(fixtures, 'images');
export const cacheDir = cacheDirFrom(process.env);

const mirrors = findMirrors(process.env, repoRoot);
// Replicas, dev sessions and containers the tests start find the model where this did.
if (mirrors.models) process.env.CORTEX_MODEL_MIRROR = mirrors.models;
/** The offline model mirror, when there is one (absent, replicas read the cache filled here). */
export const modelMirror = mirrors.models;

const assets = await fetchTestAssets(exampleDir, mirrors, cacheDir);
export const modelFile = assets.model.file;
export const labelsFile = assets.labels.file;
const local = (name: string) => resolve(photosDir, name);
/** Every photo, by file name. */
export const photoFiles = {
  'hotdog.jpg': local('hotdog.jpg'),
  'finch.jpg': local('finch.jpg'),
  'eagle.jpg': local('eagle.jpg'),
  'dog.jpg': local('dog.jpg'),
  ...assets.photos,
};

/** Makes `dir` a model mirror holding the files found here, for tests of how one is mounted. */
export async function writeModelMirror(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  await Promise.all([assets.model, assets.labels].map(({ url, file }) => copyFile(file, join(dir, urlBasename(url)))));
  return dir;
}

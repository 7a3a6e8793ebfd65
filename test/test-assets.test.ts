// How the tests get their model and photos on a clone with no mirror: from the real upstream URLs,
// once, into the cortex cache. Run in a child process as a fresh clone elsewhere would (no
// CORTEX_SHARED_DIR or CORTEX_MODEL_MIRROR, no ../shared beside it), with every upstream host
// answered by a local server holding the real files, since this machine has no internet.
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import test from 'ava';
import { execa } from 'execa';
import { cachePath } from '../runtime/helpers/assets.js';
import { closedPort } from './helpers/http.js';
import { exampleDir, labelsFile, modelFile, photoFiles } from './helpers/shared.js';
import { findMirrors, upstreamPhotos } from './helpers/test-assets.js';

const upstream: Record<string, string> = {
  'https://github.com/onnx/models/raw/main/validated/vision/classification/mobilenet/model/mobilenetv2-12-int8.onnx': modelFile,
  'https://raw.githubusercontent.com/anishathalye/imagenet-simple-labels/master/imagenet-simple-labels.json': labelsFile,
  ...Object.fromEntries(upstreamPhotos.map((name) => [`https://raw.githubusercontent.com/pjreddie/darknet/master/data/${name}`, photoFiles[name]])),
};

const scratch = await mkdtemp(join(tmpdir(), 'cortex-test-assets-'));
test.after.always(() => rm(scratch, { recursive: true, force: true }));

// The child sends https://HOST/PATH to UPSTREAM/HOST/PATH: the product has no upstream override,
// and a test-only one would be a hook in it; the URLs asked for are still the real ones.
const child = `
const realFetch = globalThis.fetch;
globalThis.fetch = (url, init) => {
  const u = new URL(url);
  return realFetch(process.env.UPSTREAM + '/' + u.host + u.pathname, init);
};
const { fetchTestAssets, findMirrors } = await import(${JSON.stringify(new URL('helpers/test-assets.js', import.meta.url).href)});
const mirrors = findMirrors(process.env, process.env.REPO_ROOT);
try {
  console.log(JSON.stringify({ mirrors, assets: await fetchTestAssets(${JSON.stringify(exampleDir)}, mirrors, process.env.CORTEX_CACHE_DIR) }));
} catch (err) {
  console.error(err.message);
  process.exitCode = 1;
}`;

/** A fresh clone elsewhere: no mirror variables, no ../shared beside its root. */
async function runAsFreshClone(upstreamUrl: string, cacheDir: string) {
  const repoRoot = join(await mkdtemp(join(scratch, 'elsewhere-')), 'cortex');
  await mkdir(repoRoot);
  const { CORTEX_SHARED_DIR: _, CORTEX_MODEL_MIRROR: __, ...inherited } = process.env;
  const env = { ...inherited, UPSTREAM: upstreamUrl, REPO_ROOT: repoRoot, CORTEX_CACHE_DIR: cacheDir };
  return execa(process.execPath, ['--input-type=module', '-e', child], { env, extendEnv: false, reject: false });
}

const sha256 = async (file: string) => createHash('sha256').update(await readFile(file)).digest('hex');

test('with no mirror, the real upstream URLs are downloaded once into the cache, and a second run asks for nothing', async (t) => {
  const asked: string[] = [];
  const server = createServer((req, res) => {
    const url = `https:/${req.url}`;
    asked.push(url);
    const file = upstream[url];
    if (file) void readFile(file).then((bytes) => res.end(bytes));
    else res.writeHead(404).end();
  });
  await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready));
  t.teardown(() => server.close());
  const cacheDir = join(scratch, 'cache');

  const first = await runAsFreshClone(`http://127.0.0.1:${(server.address() as { port: number }).port}`, cacheDir);
  t.is(first.exitCode, 0, first.stderr);
  const { mirrors, assets } = JSON.parse(first.stdout) as { mirrors: object; assets: { model: { file: string }; labels: { file: string }; photos: Record<string, string> } };
  t.deepEqual(mirrors, {});
  t.deepEqual(asked.sort(), Object.keys(upstream).sort());
  // The product's own cache layout, so a predictor naming these URLs later finds them there.
  t.deepEqual((await readdir(cacheDir)).sort(), Object.keys(upstream).map((url) => basename(cachePath(url, cacheDir))).sort());
  t.is(assets.model.file, cachePath(Object.keys(upstream)[0]!, cacheDir));
  t.is(await sha256(assets.model.file), '83530ad811bc31d2b60a5599a21265a5057608c9b044b4ee758cc22f2309f54f');
  t.is(await sha256(assets.labels.file), '987705581d9446328498f950454a1cc7d8dfc578a8243d8bfdcd2588a6905aae');
  for (const [name, file] of Object.entries(assets.photos)) t.is(await sha256(file), await sha256(photoFiles[name as keyof typeof photoFiles]), name);

  asked.length = 0;
  const second = await runAsFreshClone(`http://127.0.0.1:${(server.address() as { port: number }).port}`, cacheDir);
  t.is(second.exitCode, 0, second.stderr);
  t.deepEqual(asked, []);
  t.deepEqual(JSON.parse(second.stdout), { mirrors, assets });
});

test('with no mirror and no network, it is one line saying which URL failed and how to give the files', async (t) => {
  const run = await runAsFreshClone(`http://127.0.0.1:${await closedPort()}`, join(scratch, 'offline-cache'));
  t.is(run.exitCode, 1);
  t.is(run.stdout, '');
  t.notRegex(run.stderr, /\n/);
  t.regex(run.stderr, /^could not download https:\/\/github\.com\/onnx\/models\/raw\/main\/.*\/mobilenetv2-12-int8\.onnx \(.+\); without network, put the file at \$CORTEX_MODEL_MIRROR\/mobilenetv2-12-int8\.onnx \(set CORTEX_MODEL_MIRROR=DIR\) or at .+; or, for every file the tests use, set CORTEX_SHARED_DIR to a folder with models\/ and images\//);
});

test('a mirror is CORTEX_MODEL_MIRROR for the model files, CORTEX_SHARED_DIR for everything, else ../shared beside the checkout', async (t) => {
  const root = join(scratch, 'mirrors');
  const repo = join(root, 'cortex');
  await mkdir(join(root, 'shared/models'), { recursive: true });
  t.deepEqual(findMirrors({}, repo), { models: join(root, 'shared/models'), photos: join(root, 'shared/models') }, 'no images/: photos are looked for in the model mirror');
  await mkdir(join(root, 'shared/images'));
  t.deepEqual(findMirrors({}, repo), { models: join(root, 'shared/models'), photos: join(root, 'shared/images') });
  t.deepEqual(findMirrors({ CORTEX_MODEL_MIRROR: '/m' }, repo), { models: '/m', photos: join(root, 'shared/images') });
  // Named, it is used even when empty, so the error says where the files belong.
  t.deepEqual(findMirrors({ CORTEX_SHARED_DIR: '/s' }, repo), { models: '/s/models', photos: '/s/images' });
  t.deepEqual(findMirrors({}, join(root, 'shared/models/cortex')), { models: undefined, photos: undefined });
});

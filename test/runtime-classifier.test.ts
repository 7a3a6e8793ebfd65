// The seed's example served for real: MobileNetV2 int8 through onnxruntime in worker threads,
// photos fetched by URL from a local static server or sent as bytes.
import { readFile } from 'node:fs/promises';
import test from 'ava';
import { loadSpec } from '../src/spec/index.js';
import { closedPort, post } from './helpers/http.js';
import { startReplica, type TestReplica } from './helpers/replica.js';
import { exampleDir, photoFiles, photosDir } from './helpers/shared.js';
import { staticServer } from './helpers/http.js';

const photos = [
  ['hotdog.jpg', 'hot dog'],
  ['finch.jpg', 'house finch'],
  ['eagle.jpg', 'bald eagle'],
] as const;

// The photos are served on loopback, which only cortex dev and serve fetch from (and say so).
process.env.CORTEX_FETCH_ADDRESSES = 'any';

let replica: TestReplica;
let images: Awaited<ReturnType<typeof staticServer>>;

test.before(async () => {
  const spec = await loadSpec(exampleDir);
  const api = spec.apis[0]!;
  replica = await startReplica(api.predictor.path, api.predictor.config);
  images = await staticServer(photosDir, { '/page.html': ['text/html', '<html>a web page</html>'] });
});

test.after.always(async () => {
  await replica?.close();
  await images?.close();
});

for (const [file, label] of photos) {
  test(`${file} by URL is "${label}"`, async (t) => {
    const res = await post(`${replica.url}/`, { url: `${images.url}/${file}` });
    t.is(res.status, 200);
    t.is(res.text, JSON.stringify(label));
    t.truthy(res.headers.get('x-request-id'));
  });

  test(`${file} as bytes is "${label}"`, async (t) => {
    const res = await post(`${replica.url}/`, await readFile(photoFiles[file]), 'image/jpeg');
    t.is(res.status, 200);
    t.is(res.body, label);
  });
}

test('octet-stream bytes are accepted like image/*', async (t) => {
  const res = await post(`${replica.url}/`, await readFile(photoFiles['hotdog.jpg']), 'application/octet-stream');
  t.is(res.body, 'hot dog');
});

test('a URL that is not an image is a 422 naming the URL', async (t) => {
  const res = await post(`${replica.url}/`, { url: `${images.url}/page.html` });
  t.is(res.status, 422);
  t.regex((res.body as { error: string }).error, /page\.html is not an image \(content-type text\/html\)/);
});

test('a URL that answers 404 is a 400 saying so', async (t) => {
  const res = await post(`${replica.url}/`, { url: `${images.url}/missing.jpg` });
  t.is(res.status, 400);
  t.regex((res.body as { error: string }).error, /missing\.jpg: the server answered 404/);
});

test('bytes that are not an image are a 422', async (t) => {
  const res = await post(`${replica.url}/`, Buffer.from('definitely not a jpeg'), 'image/jpeg');
  t.is(res.status, 422);
  t.regex((res.body as { error: string }).error, /not a supported image/);
});

test('an unreachable URL is a 400 that says why', async (t) => {
  const port = await closedPort();
  const res = await post(`${replica.url}/`, { url: `http://127.0.0.1:${port}/hotdog.jpg` });
  t.is(res.status, 400);
  t.is((res.body as { error: string }).error, `could not fetch http://127.0.0.1:${port}/hotdog.jpg: connection refused (ECONNREFUSED)`);
});

test('a non-http URL is refused with 400', async (t) => {
  const res = await post(`${replica.url}/`, { url: 'file:///etc/passwd' });
  t.is(res.status, 400);
  t.regex((res.body as { error: string }).error, /must be http or https, got file/);
});

test('JSON without "url" is a 400 from the predictor, not a 500', async (t) => {
  const res = await post(`${replica.url}/`, { image: 'x' });
  t.is(res.status, 400);
  t.regex((res.body as { error: string }).error, /send \{"url"/);
});


// The runtime image pushed to a real registry (Debian's docker-registry with basic auth) the way
// `deploy --cloud` pushes it to ECR: login with the base64 user:password token, tag
// <registry>/<repo>:<content tag>, push with progress; the second push sends no layer again.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Docker from 'dockerode';
import test from 'ava';
import { execa } from 'execa';
import { describePush, pushImage, PushError, registryOf, type PushEvent } from '../src/cloud/push.js';
import { ensureRuntimeImage } from '../src/image/index.js';
import { registryAvailable, registryTest, startRegistry, type LocalRegistry } from './helpers/registry.js';

let registry: LocalRegistry | undefined;
const reg = (): LocalRegistry => {
  if (!registry) throw new Error('the registry did not start');
  return registry;
};
const docker = new Docker();
const pushedTags: string[] = [];

if (registryAvailable) {
  test.before(async () => {
    registry = await startRegistry();
  });
  test.after.always(async () => {
    for (const tag of pushedTags) await docker.getImage(tag).remove({ noprune: true }).catch(() => {});
    await registry?.stop();
  });
}

test('registryOf takes the host off a repository reference', (t) => {
  t.is(registryOf('123456789012.dkr.ecr.us-east-1.amazonaws.com/cortex/runtime'), '123456789012.dkr.ecr.us-east-1.amazonaws.com');
  t.is(registryOf('127.0.0.1:5000/cortex'), '127.0.0.1:5000');
  t.is(registryOf('localhost/cortex'), 'localhost');
  t.throws(() => registryOf('cortex/runtime'), { message: /does not start with a registry host/ });
});

registryTest('the runtime image is pushed with progress; pushed again, every layer is already there', async (t) => {
  t.timeout(10 * 60_000, 'a cold runtime image build comes first where no earlier test made it');
  const image = await ensureRuntimeImage();
  const repository = `${reg().host}/cortex/runtime`;
  const contentTag = image.tag.slice(image.tag.lastIndexOf(':') + 1);
  const events: PushEvent[] = [];
  const first = await pushImage({ image: image.tag, repository, token: reg().token, onEvent: (e) => events.push(e) });
  pushedTags.push(first.reference);
  t.log(`first push: ${describePush(first)}`);
  t.is(first.reference, `${repository}:${contentTag}`, 'tagged <registry>/<repo>:<content tag>');
  t.regex(first.digest, /^sha256:[0-9a-f]{64}$/);
  t.true(first.layers > 0);
  t.is(first.pushed + first.existed, first.layers);
  t.true(first.pushed > 0, 'a fresh registry gets layers');
  t.true(first.bytes > 10e6, `the runtime's layers are sent (${first.bytes} bytes)`);
  t.deepEqual(events[0], { type: 'login', registry: reg().host });
  t.true(events.some((e) => e.type === 'layer' && e.state === 'pushing'));
  t.true(events.some((e) => e.type === 'bytes' && e.done > 0));
  t.deepEqual(events.at(-1), { type: 'pushed', reference: first.reference, digest: first.digest });

  // What the registry has: the manifest under the tag, fetched with the same login.
  const manifest = await fetch(`http://${repository.replace(reg().host, `${reg().host}/v2`)}/manifests/${contentTag}`, {
    method: 'HEAD',
    headers: { authorization: `Basic ${reg().token}`, accept: 'application/vnd.docker.distribution.manifest.v2+json' },
  });
  t.is(manifest.status, 200);
  t.is(manifest.headers.get('docker-content-digest'), first.digest);

  const again: PushEvent[] = [];
  const second = await pushImage({ image: image.tag, repository, token: reg().token, onEvent: (e) => again.push(e) });
  t.log(`second push: ${describePush(second)}`);
  t.is(second.digest, first.digest);
  t.is(second.pushed, 0);
  t.is(second.existed, first.layers, '"Layer already exists" for every layer');
  t.false(again.some((e) => e.type === 'bytes'), 'no byte is sent');
});

registryTest('an image on top of the runtime sends only its own layer', async (t) => {
  const image = await ensureRuntimeImage();
  const dir = await mkdtemp(path.join(tmpdir(), 'cortex-push-'));
  const derived = `cortex-test-push-derived:${process.pid}`;
  try {
    await writeFile(path.join(dir, 'Dockerfile'), `FROM ${image.tag}\nCOPY note.txt /opt/note.txt\n`);
    await writeFile(path.join(dir, 'note.txt'), `pushed by ${process.pid}\n`);
    await execa('docker', ['build', '-q', '-t', derived, dir], { env: { DOCKER_BUILDKIT: '0' } });
    const repository = `${reg().host}/cortex/runtime`;
    const result = await pushImage({ image: derived, repository, tag: `derived-${process.pid}`, token: reg().token });
    pushedTags.push(result.reference);
    t.log(describePush(result));
    t.is(result.pushed, 1);
    t.is(result.existed, result.layers - 1);
  } finally {
    await docker.getImage(derived).remove().catch(() => {});
    await rm(dir, { recursive: true, force: true });
  }
});

registryTest('a wrong password is refused at login, in one line, before anything is pushed', async (t) => {
  const image = await ensureRuntimeImage();
  const token = Buffer.from('AWS:wrong').toString('base64');
  const error = await t.throwsAsync(pushImage({ image: image.tag, repository: `${reg().host}/cortex/runtime`, tag: 'never', token }), { instanceOf: PushError });
  t.regex(error.message, new RegExp(`^logging in to ${reg().host.replace(/\./g, '\\.')} as AWS failed: .*unauthorized`, 'i'));
  t.false(error.message.includes('\n'));
});

// The docker launcher against the real daemon: the seed's classifier in a container answers
// "hot dog", also for a photo on this machine's own server, its logs arrive line by line, stop
// leaves nothing behind, a container that dies on start or runs out of memory says why, and
// what a crashed session left is removed on the next start.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import test from 'ava';
import Docker from 'dockerode';
import { containerName, containerOptions, DockerLauncher, exitOf, hostMounts, isOrphan, labels, outOfMemory } from '../src/backends/docker.js';
import { bundleOnce } from '../src/dev/bundler.js';
import { runtimeEnv } from '../src/backends/runtime-env.js';
import { loadSpec } from '../src/spec/index.js';
import { post } from './helpers/http.js';
import { exampleDir, photoFiles, writeModelMirror } from './helpers/shared.js';
import { dockerTest } from './helpers/docker.js';

const docker = new Docker();
const scratch = await mkdtemp(join(tmpdir(), 'cortex-docker-launcher-'));
// A mirror whose path has a space, and a cache given relative to where cortex runs: both must
// reach the container as the folders they name.
const mirror = join(scratch, 'my models');
await writeModelMirror(mirror);
const cacheDir = join(scratch, 'cache');
const env = { CORTEX_MODEL_MIRROR: mirror, CORTEX_CACHE_DIR: relative(process.cwd(), cacheDir) };
test.after.always(() => rm(scratch, { recursive: true, force: true }));

function containersOf(replica: string) {
  return docker.listContainers({ all: true, filters: { label: [`${labels.replica}=${replica}`, `${labels.session}=${process.pid}`] } });
}

/** Serves the photos where containers reach this machine: the address host-gateway maps to. */
async function photoServerForContainers(): Promise<{ port: number; close: () => Promise<void> }> {
  const bridge = await docker.getNetwork('bridge').inspect();
  const gateway = (bridge.IPAM?.Config as Array<{ Gateway?: string }> | undefined)?.[0]?.Gateway ?? '0.0.0.0';
  const photo = await readFile(photoFiles['hotdog.jpg']);
  const server = createServer((req, res) => {
    if (req.url === '/hotdog.jpg') res.writeHead(200, { 'content-type': 'image/jpeg' }).end(photo);
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, gateway, resolve));
  return { port: (server.address() as AddressInfo).port, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

dockerTest('a replica in a container answers "hot dog", for bytes and for a photo on this machine; stop removes it', async (t) => {
  const launcher = await DockerLauncher.create({ env });
  t.teardown(() => launcher.close());
  t.log(launcher.description);
  const spec = await loadSpec(exampleDir);
  const api = spec.apis[0]!;
  const adminToken = randomBytes(16).toString('hex');
  const lines: Array<[string, string]> = [];
  const replica = await launcher.launch({ spec, api, replicaId: 'classifier-1', adminToken, onLine: (line, stream) => lines.push([stream, line]) });
  t.regex(replica.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  t.is((await fetch(`${replica.url}/healthz`)).status, 200);

  const [container] = await containersOf('classifier-1');
  t.truthy(container);
  t.like(container!.Labels, { [labels.deployment]: 'image', [labels.api]: 'classifier', [labels.host]: hostname() });
  const { HostConfig, Config } = await docker.getContainer(container!.Id).inspect();
  t.is(HostConfig.NanoCpus, 1e9);
  t.is(HostConfig.Memory, 1024 ** 3);
  t.deepEqual(HostConfig.ExtraHosts, ['host.docker.internal:host-gateway']);
  // Root included: left to the image, the replica would run as 1000 and could not write the cache.
  t.is(Config.User, `${process.getuid!()}:${process.getgid!()}`);
  t.true(Config.Env.includes('CORTEX_HOST_GATEWAY=host.docker.internal'));
  const mounts = Object.fromEntries((HostConfig.Mounts ?? []).map((m) => [m.Target, m.Source]));
  t.deepEqual(mounts, { '/api': exampleDir, '/models': mirror, '/cache': cacheDir });

  const { code } = await bundleOnce(api.predictor.path);
  const pushed = await fetch(`${replica.url}/-/predictor`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken}` },
    body: JSON.stringify({ code, config: api.predictor.config }),
  });
  t.is(pushed.status, 200, await pushed.clone().text());
  t.is((await fetch(`${replica.url}/readyz`)).status, 200);
  const res = await post(`${replica.url}/`, await readFile(photoFiles['hotdog.jpg']), 'image/jpeg');
  t.is(res.text, '"hot dog"');

  // Inside the container localhost is the container: the host is host.docker.internal.
  const photos = await photoServerForContainers();
  t.teardown(photos.close);
  const byUrl = await post(`${replica.url}/`, { url: `http://host.docker.internal:${photos.port}/hotdog.jpg` });
  t.is(byUrl.text, '"hot dog"');
  // By localhost it is out of reach, and the error says what works instead.
  const byLocalhost = await post(`${replica.url}/`, { url: `http://localhost:${photos.port}/hotdog.jpg` });
  t.is(byLocalhost.status, 400);
  t.regex((byLocalhost.body as { error: string }).error, new RegExp(`inside a container localhost is the container itself: use http://host\\.docker\\.internal:${photos.port}/hotdog\\.jpg with the server listening on 0\\.0\\.0\\.0`));

  t.true(lines.length > 0);
  // The address a person can curl, once; not the container's own (127.0.0.1:8080, 172.17.0.2:8080).
  const listening = lines.filter(([stream, line]) => stream === 'stdout' && line.includes('listening')).map(([, line]) => JSON.parse(line).msg);
  t.deepEqual(listening, [`Server listening at ${replica.url}`], JSON.stringify(lines.slice(0, 5)));
  t.false(lines.some(([, line]) => line.includes('Failed to persist telemetry')), 'onnxruntime finds a home it can write');

  await replica.stop(5_000);
  t.deepEqual(await replica.exited, { code: 0, signal: null });
  t.deepEqual(await containersOf('classifier-1'), []);
});

dockerTest('a replica killed for its memory says so, and how to give it more', async (t) => {
  const launcher = await DockerLauncher.create({ env });
  t.teardown(() => launcher.close());
  const spec = await loadSpec(exampleDir);
  const api = { ...spec.apis[0]!, compute: { cpu: 1, mem: 150 * 2 ** 20, gpu: 0 } };
  const adminToken = randomBytes(16).toString('hex');
  const lines: string[] = [];
  const replica = await launcher.launch({ spec, api, replicaId: 'classifier-5', adminToken, onLine: (line) => lines.push(line) });
  // An init that keeps every byte it touches, until the kernel steps in.
  const code = 'const kept = []; export async function init() { for (;;) { kept.push(Buffer.alloc(16 << 20, 1)); await new Promise((r) => setTimeout(r, 1)); } } export function predict() {}';
  await fetch(`${replica.url}/-/predictor`, { method: 'PUT', headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken}` }, body: JSON.stringify({ code, config: {} }) }).catch(() => {});
  t.deepEqual(await replica.exited, { code: null, signal: 'SIGKILL' });
  t.is(lines.at(-1), 'out of memory (compute.mem 150Mi): raise compute.mem of api classifier in cortex.yaml');
  t.deepEqual(await containersOf('classifier-5'), []);
});

dockerTest('a container that exits on start fails the launch with its last lines; a GPU it cannot have is said once', async (t) => {
  const launcher = await DockerLauncher.create({ env: { ...env, CORTEX_PREDICT_TIMEOUT_MS: 'soon' } });
  t.teardown(() => launcher.close());
  const spec = await loadSpec(exampleDir);
  const api = { ...spec.apis[0]!, compute: { cpu: 1, mem: null, gpu: 1 } };
  const lines: string[] = [];
  for (const replicaId of ['classifier-8', 'classifier-9']) {
    const error = await t.throwsAsync(launcher.launch({ spec, api, replicaId, adminToken: 'x', onLine: (line) => lines.push(line) }));
    t.regex(error!.message, new RegExp(`^container cortex-image-${replicaId}-\\d+ exited on start \\(code 2\\); its last lines:\ncortex runtime: CORTEX_PREDICT_TIMEOUT_MS must be an integer ≥ 1, got "soon"$`));
    t.deepEqual(await containersOf(replicaId), []);
  }
  t.deepEqual(
    lines.filter((line) => line.includes('gpu')),
    ['compute.gpu 1 is not given to local containers: replicas run on CPU here (GPUs come with deploy --cloud)'],
  );
});

dockerTest('a container name already taken is one line that says how to free it', async (t) => {
  const launcher = await DockerLauncher.create({ env });
  t.teardown(() => launcher.close());
  const name = containerName('image', 'classifier-7', { host: hostname(), pid: process.pid });
  const squatter = await docker.createContainer({ Image: launcher.image.tag, name });
  t.teardown(() => squatter.remove({ force: true }));
  const spec = await loadSpec(exampleDir);
  const error = await t.throwsAsync(launcher.launch({ spec, api: spec.apis[0]!, replicaId: 'classifier-7', adminToken: 'x', onLine: () => {} }));
  t.is(error?.name, 'UserError');
  t.is(error?.message, `a container named ${name} already exists: remove it with \`docker rm -f ${name}\``);
});

dockerTest('create() removes the containers of a crashed session and keeps those of a live one', async (t) => {
  const dead = spawn(process.execPath, ['-e', '']);
  await new Promise((resolve) => dead.once('exit', resolve));
  const alive = spawn('sleep', ['60']);
  t.teardown(() => alive.kill());
  const { tag } = (await DockerLauncher.create({ env })).image;

  const leftover = (pid: number) =>
    docker.createContainer({ Image: tag, name: `cortex-test-session-${pid}`, Labels: { [labels.session]: String(pid), [labels.host]: hostname(), [labels.replica]: 'leftover' } });
  const orphan = await leftover(dead.pid!);
  const other = await leftover(alive.pid!);
  t.teardown(() => other.remove({ force: true }).catch(() => {}));

  const launcher = await DockerLauncher.create({ env });
  t.deepEqual(launcher.removedOrphans, [`cortex-test-session-${dead.pid}`]);
  t.regex(launcher.description, /removed 1 container\(s\) of a crashed session/);
  await t.throwsAsync(orphan.inspect(), { message: /no such container/i });
  t.truthy(await other.inspect());
});

test('container names, orphans and exit statuses', (t) => {
  const self = { host: 'box', pid: 10 };
  t.is(containerName('image', 'classifier-3', self), 'cortex-image-classifier-3-10');
  t.is(containerName('my deployment', 'a/b', self), 'cortex-my-deployment-a-b-10');
  const alive = (pid: number) => pid === 20;
  t.true(isOrphan({ [labels.session]: '30', [labels.host]: 'box' }, self, alive));
  t.false(isOrphan({ [labels.session]: '20', [labels.host]: 'box' }, self, alive), 'its session is alive');
  t.false(isOrphan({ [labels.session]: '10', [labels.host]: 'box' }, self, alive), 'this session');
  t.false(isOrphan({ [labels.session]: '30', [labels.host]: 'other' }, self, alive), 'another machine sharing the daemon');
  t.false(isOrphan({ [labels.session]: 'x', [labels.host]: 'box' }, self, alive));
  t.deepEqual(exitOf(0), { code: 0, signal: null });
  t.deepEqual(exitOf(2), { code: 2, signal: null });
  t.deepEqual(exitOf(137), { code: null, signal: 'SIGKILL' });
  t.deepEqual(exitOf(undefined), { code: null, signal: null });
});

test('limits come from compute, clamped to the CPUs the daemon has; the port is loopback only', async (t) => {
  const api = (await loadSpec(exampleDir)).apis[0]!;
  const plan = { image: 'img', name: 'n', session: { host: 'box', pid: 1 }, replicaId: 'r', env: { A: '1' }, binds: [], hostCpus: 2, user: undefined, hostPort: 4321 };
  const wide = containerOptions({ ...plan, api: { ...api, compute: { cpu: 4, mem: null, gpu: 0 } } });
  t.is(wide.HostConfig?.NanoCpus, 2e9);
  t.is(wide.HostConfig?.Memory, undefined);
  const small = containerOptions({ ...plan, api: { ...api, compute: { cpu: 0.5, mem: 512 * 1024 ** 2, gpu: 0 } } });
  t.is(small.HostConfig?.NanoCpus, 5e8);
  t.is(small.HostConfig?.Memory, 512 * 1024 ** 2);
  t.deepEqual(small.HostConfig?.PortBindings, { '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: '4321' }] });
  t.deepEqual(small.Env, ['A=1']);
});

test('every container maps host.docker.internal to this machine and runs as the given user', async (t) => {
  const api = (await loadSpec(exampleDir)).apis[0]!;
  const options = containerOptions({ image: 'img', name: 'n', session: { host: 'box', pid: 1 }, api, replicaId: 'r', env: {}, binds: [], hostCpus: 2, user: '0:0', hostPort: 4321 });
  t.deepEqual(options.HostConfig?.ExtraHosts, ['host.docker.internal:host-gateway']);
  t.is(options.User, '0:0');
});

test('mirror and cache paths are resolved once, and a bad one is a one-line error before any container', async (t) => {
  const cwd = process.cwd();
  t.deepEqual(hostMounts({ CORTEX_MODEL_MIRROR: relative(cwd, mirror), CORTEX_CACHE_DIR: relative(cwd, cacheDir) }), { mirror, cache: cacheDir });
  t.throws(() => hostMounts({ CORTEX_MODEL_MIRROR: join(scratch, 'no such folder') }), {
    name: 'UserError',
    message: `CORTEX_MODEL_MIRROR: ${join(scratch, 'no such folder')} is not a folder: point it at the folder holding the model files`,
  });
  const file = join(scratch, 'a-file');
  await writeFile(file, '');
  t.throws(() => hostMounts({ CORTEX_CACHE_DIR: join(file, 'cache') }), { name: 'UserError', message: `CORTEX_CACHE_DIR: cannot create ${join(file, 'cache')} (ENOTDIR): point CORTEX_CACHE_DIR at a folder you can write` });
  // Checked before the daemon is asked anything: the launcher is never created.
  await t.throwsAsync(DockerLauncher.create({ env: { CORTEX_MODEL_MIRROR: 'nowhere' }, docker: new Docker({ socketPath: '/nonexistent.sock' }) }), { name: 'UserError', message: /^CORTEX_MODEL_MIRROR: .*\/nowhere is not a folder/ });
});

test('a replica gets absolute mirror and cache paths, spaces and all', async (t) => {
  const spec = await loadSpec(exampleDir);
  const env = runtimeEnv(spec, spec.apis[0]!, {}, { CORTEX_MODEL_MIRROR: relative(process.cwd(), mirror), CORTEX_CACHE_DIR: 'cache here' });
  t.is(env.CORTEX_MODEL_MIRROR, mirror);
  t.is(env.CORTEX_CACHE_DIR, join(process.cwd(), 'cache here'));
});

test('out of memory names the limit and where to raise it', async (t) => {
  const api = (await loadSpec(exampleDir)).apis[0]!;
  t.is(outOfMemory({ ...api, compute: { cpu: 1, mem: 60 * 2 ** 20, gpu: 0 } }), 'out of memory (compute.mem 60Mi): raise compute.mem of api classifier in cortex.yaml');
  t.is(outOfMemory({ ...api, compute: { cpu: 1, mem: null, gpu: 0 } }), 'out of memory: the machine ran out (api classifier has no compute.mem limit)');
});

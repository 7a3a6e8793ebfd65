// The runtime image against the real Docker daemon: built, cached by content, able to load its
// native modules as its non-root user, on the offline base when no registry answers, pulls that
// wait on a slow registry but not on a dead one; plus the pure parts by table.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { gzipSync } from 'node:zlib';
import test from 'ava';
import Docker from 'dockerode';
import { execa } from 'execa';
import { printImageProgress } from '../src/cli/image-progress.js';
import { ensureRuntimeImage, referenceProblem, registryBase, runtimeContext, runtimeDependencies, type ImageEvent } from '../src/image/index.js';
import { chooseBase, pull, pullFailure } from '../src/image/base.js';
import { connectDocker, daemonProblem, DockerUnavailable } from '../src/image/docker-client.js';
import { dependencyClosure, type Manifest } from '../src/image/dependencies.js';
import { dockerfileBody, layoutRoot, shipsInImage } from '../src/image/context.js';
import { needsNssModules, nssModules, offlineRootfs, parseLdd } from '../src/image/offline-base.js';
import { eksImageProblem, platformProblem } from '../src/image/platform.js';
import { BuildLog, buildFailure } from '../src/image/progress.js';
import { cortex } from './helpers/cli.js';
import { exampleDir, modelFile, repoRoot } from './helpers/shared.js';
import { dockerTest } from './helpers/docker.js';

const docker = new Docker();
// Tags of this run's own, so that building "for real" never untags an image someone else uses.
const repository = `cortex-test-runtime-${process.pid}`;
test.after.always(async () => {
  for (const image of await docker.listImages({ filters: { reference: [`${repository}:*`] } }).catch(() => [])) {
    for (const tag of image.RepoTags ?? []) if (tag.startsWith(`${repository}:`)) await docker.getImage(tag).remove().catch(() => {});
  }
});

dockerTest('the runtime image builds, and building it again is cached without a build', async (t) => {
  const events: ImageEvent[] = [];
  const built = await ensureRuntimeImage({ repository, onEvent: (e) => events.push(e) });
  t.false(built.cached);
  t.regex(built.tag, new RegExp(`^${repository}:[0-9a-f]{12}$`));
  t.true(built.buildMs > 0);
  t.true(events.some((e) => e.type === 'step' && /^Step \d+\/\d+ : FROM /.test(e.text)));
  t.true(events.some((e) => e.type === 'bytes' && e.what === 'context' && e.done === e.total));
  t.log(`built ${built.tag} in ${built.buildMs} ms, ${(built.sizeBytes / 1e6).toFixed(0)} MB, on ${built.base.reason}`);

  const again: ImageEvent[] = [];
  const cached = await ensureRuntimeImage({ repository, onEvent: (e) => again.push(e) });
  t.true(cached.cached);
  t.is(cached.tag, built.tag);
  t.is(cached.buildMs, 0);
  t.false(again.some((e) => e.type === 'step' || e.type === 'bytes'));
  t.true(cached.checkMs < 5_000);
  t.log(`cached check: ${cached.checkMs} ms`);
  // The product's tag names the same content.
  t.is((await ensureRuntimeImage()).tag, built.tag.replace(repository, 'cortex-runtime'));
});

dockerTest('the image runs as a numeric non-root user, loads the model, and holds no sources or dev dependencies', async (t) => {
  const { tag } = await ensureRuntimeImage();
  const { Config } = await docker.getImage(tag).inspect();
  t.is(Config.User, '1000:1000');
  t.true(Config.Env.includes('HOME=/tmp'));
  const script = [
    "const ort = require('onnxruntime-node'); require('sharp'); const fs = require('fs');",
    "ort.InferenceSession.create('/models/mobilenetv2-12-int8.onnx').then(() =>",
    "console.log(JSON.stringify({ uid: process.getuid(), modules: fs.readdirSync('/app/node_modules'), app: fs.readdirSync('/app') })))",
  ].join(' ');
  const output = new PassThrough();
  let text = '';
  output.on('data', (d) => (text += d));
  const [result] = (await docker.run(tag, [], output, { Entrypoint: ['node', '-e', script], HostConfig: { AutoRemove: true, Binds: [`${modelFile}:/models/mobilenetv2-12-int8.onnx:ro`] } })) as [{ StatusCode: number }];
  t.is(result.StatusCode, 0, text);
  // onnxruntime warns when it cannot keep its telemetry ID in a writable home.
  t.notRegex(text, /Failed to persist telemetry/);
  const listing = JSON.parse(text.trim().split('\n').at(-1)!) as { uid: number; modules: string[]; app: string[] };
  t.is(listing.uid, 1000);
  t.deepEqual(listing.app.sort(), ['dist', 'node_modules', 'package.json']);
  for (const dev of ['ava', 'typescript', 'esbuild', 'ink', 'dockerode']) t.false(listing.modules.includes(dev), dev);
  for (const dep of runtimeDependencies) t.true(listing.modules.includes(dep), dep);
});

dockerTest('without a registry the base is assembled from this machine; --base overrides the choice', async (t) => {
  const registry = await pull(docker, registryBase(), { firstAnswerMs: 20_000, idleMs: 20_000 }, () => {}).then(
    () => 'reachable',
    (err: Error) => `failed: ${err.message}`,
  );
  const image = await ensureRuntimeImage();
  t.log(`registry ${registry}; base: ${image.base.reason}`);
  if (registry.startsWith('failed')) {
    t.is(image.base.kind, 'offline');
    t.regex(image.base.ref, /^cortex-base:[0-9a-f]{12}$/);
    t.regex(image.base.reason, new RegExp(`node ${process.version.replace(/\./g, '\\.')} from this machine, as ${registryBase()} could not be pulled$`));
  } else {
    t.not(image.base.kind, 'override');
  }

  // The same base given explicitly: the same image, still cached.
  const overridden = await ensureRuntimeImage({ base: image.base.ref });
  t.is(overridden.base.kind, 'override');
  t.is(overridden.tag, image.tag);
  t.true(overridden.cached);
});

/** A one-layer image of random bytes (so that the daemon has none of it already), as a registry serves it. */
async function randomImage(): Promise<{ manifest: Buffer; config: Buffer; layer: Buffer }> {
  const dir = await mkdtemp(join(tmpdir(), 'cortex-fake-layer-'));
  // Random, so that gzip cannot shrink it either.
  await writeFile(join(dir, 'data'), randomBytes(1 << 20));
  const tar = Buffer.from((await execa('tar', ['--create', '--file=-', '-C', dir, 'data'], { encoding: 'buffer' })).stdout);
  await rm(dir, { recursive: true, force: true });
  const layer = gzipSync(tar);
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: [sha(tar)] } }));
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
      config: { mediaType: 'application/vnd.docker.container.image.v1+json', size: config.length, digest: sha(config) },
      layers: [{ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', size: layer.length, digest: sha(layer) }],
    }),
  );
  return { manifest, config, layer };
}

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/**
 * A registry on loopback (which Docker trusts over plain HTTP) with three images: "fast", "slow"
 * (its layer in 64 KiB pieces five times a second, about 3 s) and "stall" (a quarter, then silence).
 */
async function fakeRegistry(): Promise<{ host: string; close: () => Promise<void> }> {
  const images = new Map<string, Awaited<ReturnType<typeof randomImage>>>();
  for (const name of ['fast', 'slow', 'stall']) images.set(name, await randomImage());
  const server: Server = createServer((req, res) => {
    res.setHeader('Docker-Distribution-API-Version', 'registry/2.0');
    if (req.url === '/v2/') return void res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    const [, name = '', kind, ref] = /^\/v2\/cortex-test\/([a-z]+)\/(manifests|blobs)\/(.+)$/.exec(req.url ?? '') ?? [];
    const image = images.get(name);
    const body = !image ? undefined : kind === 'manifests' ? image.manifest : [image.config, image.layer].find((b) => sha(b) === ref);
    if (!image || !body) return void res.writeHead(404).end();
    const type = kind === 'manifests' ? 'application/vnd.docker.distribution.manifest.v2+json' : 'application/octet-stream';
    res.writeHead(200, { 'content-type': type, 'content-length': body.length, 'docker-content-digest': sha(body) });
    if (req.method === 'HEAD') return void res.end();
    if (body !== image.layer || name === 'fast') return void res.end(body);
    const chunk = 64 << 10;
    const sendUntil = name === 'stall' ? 4 * chunk : body.length;
    let sent = 0;
    const timer = setInterval(() => {
      if (sent >= sendUntil) return void clearInterval(timer);
      res.write(body.subarray(sent, (sent += chunk)));
      if (sent >= body.length) res.end();
    }, 200);
    res.on('close', () => clearInterval(timer));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    host,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      for (const image of await docker.listImages({ filters: { reference: [`${host}/cortex-test/*`] } })) await docker.getImage(image.Id).remove({ force: true }).catch(() => {});
    },
  };
}

dockerTest('a pull waits on a slow registry while bytes come, and gives up on a stalled one, saying how far it got', async (t) => {
  const registry = await fakeRegistry();
  t.teardown(registry.close);
  const limits = { firstAnswerMs: 1_000, idleMs: 1_000 };

  const events: ImageEvent[] = [];
  const started = Date.now();
  await pull(docker, `${registry.host}/cortex-test/slow:1`, limits, (e) => events.push(e));
  const took = Date.now() - started;
  t.log(`slow pull: ${took} ms`);
  // Longer than either limit: a limit on the whole pull would have failed it.
  t.true(took > 2 * limits.idleMs, `${took} ms`);
  const bytes = events.filter((e) => e.type === 'bytes');
  t.true(bytes.length > 3, JSON.stringify(bytes));
  t.true(bytes.some((e) => e.done > 0 && e.done < e.total), 'progress in between');
  t.like(bytes.at(-1), { what: 'pull', done: bytes.at(-1)!.total });
  t.true(bytes.at(-1)!.total > 1 << 20);

  const error = await t.throwsAsync(pull(docker, `${registry.host}/cortex-test/stall:1`, limits, () => {}));
  t.regex(error!.message, /^the download stalled: nothing for 1 s after 0\.[1-9] MiB of 1\.0 MiB$/);
});

dockerTest('an offline base made earlier does not keep a registry that now answers from being used', async (t) => {
  const registry = await fakeRegistry();
  t.teardown(registry.close);
  const { nativeFiles } = runtimeContext(repoRoot);
  const unreachable = `127.0.0.1:1/cortex-test/node:${process.pid}`;
  // Makes sure an offline base exists (it assembles one if not), and finds it the second time.
  const first = await chooseBase(docker, { nativeFiles, onEvent: () => {}, registry: unreachable });
  t.is(first.kind, 'offline');
  const started = Date.now();
  const offline = await chooseBase(docker, { nativeFiles, onEvent: () => {}, registry: unreachable });
  const took = Date.now() - started;
  t.log(`offline base with the registry refusing: ${took} ms (${offline.reason})`);
  t.is(offline.ref, first.ref);
  t.regex(offline.reason, new RegExp(`^${offline.ref}: node \\S+ from this machine, as ${unreachable} could not be pulled$`));
  t.true(took < 2_000, `${took} ms`);

  const pulled = await chooseBase(docker, { nativeFiles, onEvent: () => {}, registry: `${registry.host}/cortex-test/fast:1` });
  t.like(pulled, { kind: 'registry', ref: `${registry.host}/cortex-test/fast:1`, reason: `${registry.host}/cortex-test/fast:1, pulled` });
});

dockerTest('a base whose node cannot start fails the build at that step, showing its output', async (t) => {
  // The usual base, with a setting that makes every node process refuse to start.
  const { base } = await ensureRuntimeImage();
  const dir = await mkdtemp(join(tmpdir(), 'cortex-broken-base-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'Dockerfile'), `FROM ${base.ref}\nENV NODE_OPTIONS=--no-such-flag\n`);
  const broken = 'cortex-test-broken-base:latest';
  const tar = execa('tar', ['--create', '--file=-', '-C', dir, 'Dockerfile'], { buffer: false });
  const stream = await docker.buildImage(tar.stdout, { t: broken });
  await new Promise((resolve, reject) => docker.modem.followProgress(stream, (err) => (err ? reject(err) : resolve(undefined))));
  t.teardown(() => removeWithChildren(broken));

  const error = await t.throwsAsync(ensureRuntimeImage({ base: broken }));
  t.log(error!.message);
  t.is(error?.name, 'UserError');
  const [summary, ...output] = error!.message.split('\n');
  t.regex(summary!, /^the runtime image build failed at "Step \d+\/\d+ : RUN \["node", "-e", .*\]": .*non-zero code.*; check that cortex-test-broken-base:latest has node ≥ 20 on glibc, or leave out --base$/);
  t.true(output.some((line) => /^ {2}.*--no-such-flag is not allowed in NODE_OPTIONS/.test(line)), error!.message);
});

test('no daemon, or no permission on its socket, is one line that says what to do', async (t) => {
  const error = await t.throwsAsync(connectDocker(new Docker({ socketPath: '/nonexistent/docker.sock' })));
  t.is(error?.name, 'UserError');
  t.is(error?.message, 'Docker is not running (nothing answers at /nonexistent/docker.sock): start it (sudo systemctl start docker / dockerd)');
  const dev = await t.throwsAsync(connectDocker(new Docker({ socketPath: '/nonexistent/docker.sock' }), { otherwise: 'use --backend process' }));
  t.is(dev?.message, 'Docker is not running (nothing answers at /nonexistent/docker.sock): start it (sudo systemctl start docker / dockerd) or use --backend process');
  const denied = new DockerUnavailable(daemonProblem(Object.assign(new Error('connect EACCES'), { code: 'EACCES' }), '/var/run/docker.sock'), 'use --backend process');
  t.is(denied.message, 'permission denied on /var/run/docker.sock: add yourself to the docker group (sudo usermod -aG docker $USER, then log in again) or use --backend process');
});

test('a DOCKER_HOST that answers HTTP but is no daemon says so', async (t) => {
  const server = createServer((_req, res) => res.writeHead(404, { 'content-type': 'text/plain' }).end('404 page not found'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const { port } = server.address() as AddressInfo;
  const error = await t.throwsAsync(connectDocker(new Docker({ host: '127.0.0.1', port })));
  t.is(error?.message, `127.0.0.1:${port} answered a Docker ping with HTTP 404, so it is not a Docker daemon: check DOCKER_HOST`);
});

test('cortex build without a daemon is one line, with no flag build does not have', async (t) => {
  const r = await cortex(['build', exampleDir], { env: { DOCKER_HOST: 'unix:///tmp/cortex-no-such.sock' } });
  t.is(r.exitCode, 2);
  t.is(r.all, 'cortex: Docker is not running (nothing answers at /tmp/cortex-no-such.sock): start it (sudo systemctl start docker / dockerd)');
});

test('an invalid --base is one line and exit code 2, before Docker is asked', async (t) => {
  for (const [base, why] of [
    ['Foo', 'repository names must be lowercase'],
    ['Bad Name', 'it contains whitespace'],
    ['foo@sha256:abc', 'a digest is sha256: and 64 lowercase hex digits'],
  ]) {
    const r = await cortex(['build', exampleDir, '--base', base!], { env: { DOCKER_HOST: 'unix:///tmp/cortex-no-such.sock' } });
    t.is(r.exitCode, 2, base);
    t.is(r.all, `cortex: --base ${base} is not a valid image reference: ${why}`);
  }
});

test("a failed pull's reason, without the request it was part of", (t) => {
  t.is(
    pullFailure('Get "https://registry-1.docker.io/v2/": dial tcp: lookup registry-1.docker.io on 10.255.255.53:53: no such host'),
    'lookup registry-1.docker.io on 10.255.255.53:53: no such host',
  );
  t.is(pullFailure('Get "http://127.0.0.1:1/v2/": dial tcp 127.0.0.1:1: connect: connection refused'), 'dial tcp 127.0.0.1:1: connect: connection refused');
  t.is(pullFailure('manifest for node:99 not found: manifest unknown'), 'manifest for node:99 not found: manifest unknown');
});

test('image references, as Docker reads them', (t) => {
  const digest = 'a'.repeat(64);
  const cases: Array<[string, string | undefined]> = [
    ['node:20-bookworm-slim', undefined],
    ['cortex-base:0123456789ab', undefined],
    ['localhost:5000/team/node:20', undefined],
    ['Registry.Example.com/team/node', undefined],
    ['127.0.0.1:5000/cortex-test/slow:1', undefined],
    [`node@sha256:${digest}`, undefined],
    [`node:20@sha256:${digest}`, undefined],
    ['57804a7e805d', undefined],
    ['Foo', 'repository names must be lowercase'],
    ['team/Node:20', 'repository names must be lowercase'],
    ['registry.example.com/Team/node', 'repository names must be lowercase'],
    ['Bad Name', 'it contains whitespace'],
    ['', 'it is empty'],
    ['foo@sha256:abc', 'a digest is sha256: and 64 lowercase hex digits'],
    ['node:', 'expected [REGISTRY/]NAME[:TAG][@DIGEST], like node:20-bookworm-slim'],
    ['node:-bad', 'expected [REGISTRY/]NAME[:TAG][@DIGEST], like node:20-bookworm-slim'],
    ['a//b', 'expected [REGISTRY/]NAME[:TAG][@DIGEST], like node:20-bookworm-slim'],
  ];
  for (const [ref, problem] of cases) t.is(referenceProblem(ref), problem, ref);
});

test('Docker serves only when its containers can load this machine\'s native modules', (t) => {
  const linux = { platform: 'linux', arch: 'x64', glibc: '2.36' };
  t.is(platformProblem(linux, { Os: 'linux', Arch: 'amd64' }), undefined);
  t.deepEqual(platformProblem({ platform: 'darwin', arch: 'arm64', glibc: undefined }, { Os: 'linux', Arch: 'arm64' }), {
    problem: "Docker runs linux/arm64 containers, which cannot load this machine's darwin-arm64 node_modules",
    fix: 'run cortex on a linux/arm64 machine',
  });
  t.regex(platformProblem(linux, { Os: 'linux', Arch: 'arm64' })!.problem, /^Docker runs linux\/arm64 containers, which cannot load this machine's linux-x64 node_modules$/);
  const musl = { platform: 'linux', arch: 'x64', glibc: undefined };
  t.regex(platformProblem(musl, { Os: 'linux', Arch: 'amd64' })!.problem, /linux-x64 \(musl\), but the runtime image's base is Debian \(glibc\)$/);
  // A base given with --base may be a musl one.
  t.is(platformProblem(musl, { Os: 'linux', Arch: 'amd64' }, { checkLibc: false }), undefined);
});

// deploy --cloud: EKS's nodes are linux/amd64 and the image carries this machine's native modules,
// so only an x86_64 Linux machine builds an image they start; elsewhere one line, before any build.
const eksHosts: Array<[platform: string, arch: string, builds: boolean]> = [
  ['linux', 'x64', true],
  ['linux', 'arm64', false],
  ['darwin', 'arm64', false],
  ['darwin', 'x64', false],
  ['win32', 'x64', false],
];
for (const [platform, arch, builds] of eksHosts) {
  test(`deploy --cloud from a ${platform}-${arch} machine: ${builds ? 'builds' : 'refused in one line'}`, (t) => {
    const problem = eksImageProblem({ platform, arch });
    if (builds) return t.is(problem, undefined);
    t.is(problem, `cortex deploy --cloud builds the runtime image from this machine's node_modules, whose native modules are for ${platform}-${arch}, and EKS's nodes run linux/amd64 (x86_64): run cortex deploy --cloud on an x86_64 Linux machine, such as a CI runner or an EC2 instance`);
  });
}

test('build progress shows bytes as they go, at most once a second, and always the last', (t) => {
  let now = 0;
  let out = '';
  const print = printImageProgress({ write: (s: string) => ((out += s), true) } as NodeJS.WritableStream, () => now);
  const mib = 1024 * 1024;
  for (const [at, done] of [[0, 1], [500, 2], [1000, 3], [1200, 4], [1300, 10]] as const) {
    now = at;
    print({ type: 'bytes', what: 'pull', done: done * mib, total: 10 * mib });
  }
  now = 1400;
  print({ type: 'bytes', what: 'context', done: 5 * mib, total: 5 * mib });
  t.is(out, ['  registry base: downloaded 1.0 of 10.0 MiB (10%)', '  registry base: downloaded 3.0 of 10.0 MiB (30%)', '  registry base: downloaded 10.0 MiB', '  build context: sent 5.0 MiB', ''].join('\n'));
});

/** Removes an image and the intermediate images a build left on top of it. */
async function removeWithChildren(ref: string): Promise<void> {
  const { Id } = await docker.getImage(ref).inspect();
  const all = await docker.listImages({ all: true });
  const remove = async (id: string): Promise<void> => {
    for (const child of all.filter((i) => i.ParentId === id)) await remove(child.Id);
    await docker.getImage(id).remove({ force: true }).catch(() => {});
  };
  await remove(Id);
}

test('the dependency closure follows Node resolution and skips optional packages not installed', (t) => {
  const tree: Record<string, Manifest> = {
    '/r/node_modules/a': { version: '1.0.0', dependencies: { b: '^1', c: '^2' } },
    '/r/node_modules/b': { version: '1.2.0', optionalDependencies: { 'b-linux': '1', 'b-darwin': '1' } },
    '/r/node_modules/b-linux': { version: '1.0.0' },
    '/r/node_modules/a/node_modules/c': { version: '2.0.0', peerDependencies: { b: '*' } },
    '/r/node_modules/c': { version: '1.0.0' },
  };
  const lookup = (from: string, name: string) => {
    for (let dir = from; ; dir = dir.slice(0, dir.lastIndexOf('/')) || '/') {
      const candidate = `${dir === '/' ? '' : dir}/node_modules/${name}`;
      if (tree[candidate]) return { dir: candidate, manifest: tree[candidate] };
      if (dir === '/') return undefined;
    }
  };
  const found = dependencyClosure('/r', ['a'], lookup).map((p) => `${p.dir}@${p.version}`);
  t.deepEqual(found.sort(), ['/r/node_modules/a/node_modules/c@2.0.0', '/r/node_modules/a@1.0.0', '/r/node_modules/b-linux@1.0.0', '/r/node_modules/b@1.2.0']);
  t.throws(() => dependencyClosure('/r', ['missing'], lookup), { name: 'UserError', message: /missing is not installed .*: run npm ci/ });
});

test('files kept in the image', (t) => {
  const cases: Array<[string, boolean]> = [
    ['lib/index.js', true],
    ['index.d.ts', false],
    ['dist/index.js.map', false],
    ['bin/napi-v6/linux/x64/onnxruntime_binding.node', true],
    ['bin/napi-v6/linux/arm64/onnxruntime_binding.node', false],
    ['bin/napi-v6/darwin/arm64/libonnxruntime.1.dylib', false],
    ['bin/napi-v6/win32/x64/onnxruntime.dll', false],
    ['lib/libvips-cpp.so.8.18.7', true],
  ];
  for (const [path, kept] of cases) t.is(shipsInImage(path, 'linux-x64'), kept, path);
});

test('the layout root keeps hoisted packages beside the runtime', (t) => {
  t.is(layoutRoot(['/work/main', '/work/main/node_modules/fastify', '/work/main/node_modules/@img/sharp-linux-x64']), '/work/main');
  t.is(layoutRoot(['/p/node_modules/cortex', '/p/node_modules/fastify', '/p/node_modules/cortex/node_modules/sharp']), '/p');
});

test('the Dockerfile copies dependencies first, checks the native modules, and ends as a numeric non-root user', (t) => {
  const body = dockerfileBody({
    files: [{ path: 'dist/runtime/main.js', source: '', size: 0 }, { path: 'node_modules/sharp/package.json', source: '', size: 0 }],
    generated: [{ path: 'package.json', content: '{}' }],
    workdir: '/app',
    entry: '/app/dist/runtime/main.js',
  });
  const copies = body.split('\n').filter((l) => l.startsWith('COPY'));
  t.deepEqual(copies, ['COPY node_modules /app/node_modules', 'COPY dist /app/dist', 'COPY package.json /app/package.json']);
  t.regex(body, /^RUN \["node", "-e", "require\('onnxruntime-node'\); require\('sharp'\)"\]$/m);
  t.regex(body, /^ENTRYPOINT \["node", "\/app\/dist\/runtime\/main\.js"\]$/m);
  const instructions = body.split('\n').filter((l) => l && !l.startsWith('#'));
  t.true(instructions.indexOf('USER 1000:1000') > instructions.findIndex((l) => l.startsWith('RUN')), 'the check runs as root, the runtime does not');
  t.true(instructions.includes('ENV HOME=/tmp'));
});

test('ldd output becomes library paths; the vDSO and missing libraries are left out', (t) => {
  const output = [
    '/usr/bin/node:',
    '\tlinux-vdso.so.1 (0x00007ffd2c7f2000)',
    '\tlibstdc++.so.6 => /lib/x86_64-linux-gnu/libstdc++.so.6 (0x00007f1e2a200000)',
    '\tlibmissing.so.1 => not found',
    '\t/lib64/ld-linux-x86-64.so.2 (0x00007f1e2a4e6000)',
    '/etc/passwd:',
    '\tnot a dynamic executable',
  ].join('\n');
  t.deepEqual(parseLdd(output), ['/lib/x86_64-linux-gnu/libstdc++.so.6', '/lib64/ld-linux-x86-64.so.2']);
  const plan = offlineRootfs({ node: '/usr/bin/node', libraries: parseLdd(output), caBundle: undefined });
  t.deepEqual(
    plan.entries.map((e) => e.path),
    ['/usr/local/bin/node', '/lib/x86_64-linux-gnu/libstdc++.so.6', '/lib64/ld-linux-x86-64.so.2', '/etc/passwd', '/etc/group', '/etc/nsswitch.conf'],
  );
  t.true(plan.changes.includes('ENV LD_LIBRARY_PATH=/lib/x86_64-linux-gnu:/lib64'));
});

test('an older glibc gets its name service modules, which ldd never names, for its own architecture', (t) => {
  for (const [version, needed] of [['2.31', true], ['2.33', true], ['2.34', false], ['2.36', false], ['1.9', true], [undefined, false]] as const) t.is(needsNssModules(version), needed, String(version));
  const ldconfig = [
    '1234 libs found in cache `/etc/ld.so.cache\'',
    '\tlibnss_files.so.2 (libc6,x86-64, OS ABI: Linux 3.2.0) => /lib/x86_64-linux-gnu/libnss_files.so.2',
    '\tlibnss_files.so.2 (libc6) => /lib/i386-linux-gnu/libnss_files.so.2',
    '\tlibnss_dns.so.2 (libc6) => /lib/i386-linux-gnu/libnss_dns.so.2',
    '\tlibnss_dns.so.2 (libc6,x86-64, OS ABI: Linux 3.2.0) => /lib/x86_64-linux-gnu/libnss_dns.so.2',
    '\tlibnss_compat.so.2 (libc6,x86-64) => /lib/x86_64-linux-gnu/libnss_compat.so.2',
    '\tlibc.so.6 (libc6) => /lib/i386-linux-gnu/libc.so.6',
    '\tlibc.so.6 (libc6,x86-64, OS ABI: Linux 3.2.0) => /lib/x86_64-linux-gnu/libc.so.6',
  ].join('\n');
  t.deepEqual(nssModules(ldconfig, '/lib/x86_64-linux-gnu/libc.so.6'), ['/lib/x86_64-linux-gnu/libnss_files.so.2', '/lib/x86_64-linux-gnu/libnss_dns.so.2']);
  t.deepEqual(nssModules(ldconfig, '/lib/i386-linux-gnu/libc.so.6'), ['/lib/i386-linux-gnu/libnss_files.so.2', '/lib/i386-linux-gnu/libnss_dns.so.2']);
  // A libc the cache does not know: no guessing at an architecture.
  t.deepEqual(nssModules(ldconfig, '/opt/glibc/lib/libc.so.6'), []);
  t.deepEqual(nssModules('', '/lib/x86_64-linux-gnu/libc.so.6'), []);
});

test('a failed build names the step and shows its last output, not the builder bookkeeping', (t) => {
  const log = new BuildLog(() => {});
  for (const stream of ['Step 1/3 : FROM x\n', ' ---> abc\n', 'Step 2/3 : RUN ["node"]\n', ' ---> Running in 123\n', 'Error: cannot ', 'load sharp\n']) log.take({ stream });
  log.take({ errorDetail: { message: 'The command returned a non-zero code: 1' }, error: 'x' });
  log.end();
  t.is(buildFailure(log, 'do this'), 'the runtime image build failed at "Step 2/3 : RUN ["node"]": The command returned a non-zero code: 1; do this\n  Error: cannot load sharp');
});

test('the image ships the cluster entry points and what they import, and nothing of the CLI', (t) => {
  const context = runtimeContext(repoRoot);
  const shipped = context.files.map((f) => f.path).filter((p) => p.includes('/dist/src/') || p.startsWith('dist/src/'));
  t.true(shipped.some((p) => p.endsWith('dist/src/cluster/gateway.js')), shipped.join(' '));
  t.true(shipped.some((p) => p.endsWith('dist/src/gateway/gateway.js')));
  for (const file of ['cluster/autoscaler.js', 'scaling/loop.js', 'scaling/collector.js', 'kube/scale-plan.js']) t.true(shipped.some((p) => p.endsWith(`dist/src/${file}`)), file);
  for (const p of shipped) t.notRegex(p, /\/(tui|cli)\/|bundler|session|backends\//, p);
  const modules = new Set(context.files.map((f) => /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(f.path)?.[1]).filter(Boolean));
  for (const dev of ['ink', 'esbuild', 'chokidar', 'dockerode', 'react', 'commander']) t.false(modules.has(dev), dev);
  t.true(modules.has('@kubernetes/client-node'));
});

test('every package the compiled runtime imports is a runtime dependency of the image', async (t) => {
  const dir = join(repoRoot, 'dist/runtime');
  const bare = new Set<string>();
  for (const file of (await readdir(dir, { recursive: true })).filter((f) => f.endsWith('.js'))) {
    for (const line of (await readFile(join(dir, file), 'utf8')).split('\n')) {
      if (line.trimStart().startsWith('//') || line.trimStart().startsWith('*')) continue;
      for (const m of line.matchAll(/(?:from\s+|import\(\s*)['"]([a-z0-9@][^'"]*)['"]/gi)) if (!m[1]!.startsWith('node:')) bare.add(m[1]!.split('/').slice(0, m[1]!.startsWith('@') ? 2 : 1).join('/'));
    }
  }
  t.deepEqual([...bare].sort(), [...runtimeDependencies].sort());
});

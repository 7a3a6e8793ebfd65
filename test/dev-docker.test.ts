// `cortex dev --backend docker` for real: replicas are containers of the runtime image, and
// the dev loop works on them exactly as on processes.
import { readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import test from 'ava';
import Docker from 'dockerode';
import { labels } from '../src/backends/docker.js';
import { autoBackend, probeDocker, requestedBackend } from '../src/backends/select.js';
import { tmpdir } from 'node:os';
import { cortex } from './helpers/cli.js';
import { copyProject, startDev, until } from './helpers/dev.js';
import { post } from './helpers/http.js';
import { startLoad, type Load } from './helpers/load.js';
import { exampleDir, fixtures, photoFiles } from './helpers/shared.js';
import { dockerTest } from './helpers/docker.js';

const docker = new Docker();

const containersOf = (sessionPid: number) => docker.listContainers({ all: true, filters: { label: [`${labels.session}=${sessionPid}`] } });

dockerTest('the example on Docker: "hot dog" through the gateway, a hot reload with no failed request, no container left', async (t) => {
  const dir = await copyProject(exampleDir);
  const dev = await startDev(dir, ['--backend', 'docker']);
  const endpoint = `${dev.url}/image/classifier`;
  try {
    t.regex(dev.output(), /docker backend: replicas are containers of cortex-runtime:\w+/);
    t.is((await containersOf(dev.pid)).length, 1);
    const hotdog = await readFile(photoFiles['hotdog.jpg']);
    t.is((await post(endpoint, hotdog, 'image/jpeg')).text, '"hot dog"');

    const predictor = join(dir, 'predictor.ts');
    const original = await readFile(predictor, 'utf8');
    const load = startLoad(endpoint, [hotdog], 'image/jpeg', 8);
    await new Promise((r) => setTimeout(r, 500));
    await writeFile(predictor, original.replace('return labels[best!.index];', 'return `docker: ${labels[best!.index]}`;'));
    await until('the new answer', async () => ((await post(endpoint, hotdog, 'image/jpeg')).text === '"docker: hot dog"' ? true : undefined));
    const result = await load.stop();
    t.deepEqual(result.failed, []);
    t.true(result.ok > 0);
  } finally {
    t.is(await dev.quit(), 0, dev.output());
  }
  t.deepEqual(await containersOf(dev.pid), [], 'no container outlives the session');
});

dockerTest('a load step on Docker scales to more containers and back to one', async (t) => {
  const dev = await startDev(await copyProject(join(fixtures, 'projects/slow')), ['--backend', 'docker']);
  let load: Load | undefined;
  try {
    load = startLoad(`${dev.url}/test/slow`, ['{}'], 'application/json', 12, { niced: false });
    await until('two ready containers', async () => ((await dev.get('slow')).available >= 2 ? true : undefined), 90_000);
    t.true((await containersOf(dev.pid)).length >= 2);
    t.deepEqual((await load.stop()).failed, []);
    await until('one replica', async () => ((await dev.get('slow')).replicas.length === 1 ? true : undefined), 90_000);
    await until('one container', async () => ((await containersOf(dev.pid)).length === 1 ? true : undefined));
  } finally {
    await load?.stop();
    await dev.quit();
  }
  t.deepEqual(await containersOf(dev.pid), []);
});

dockerTest('without --backend, dev picks Docker when the daemon answers and says so', async (t) => {
  // Where kind is installed and the cortex cluster is up, the auto choice is kind (tested below):
  // this case is a machine without kind, so the session gets a PATH without it.
  const withoutKind = (process.env.PATH ?? '').split(delimiter).filter((dir) => dir && !existsSync(join(dir, 'kind'))).join(delimiter);
  const dev = await startDev(await copyProject(exampleDir), [], { PATH: withoutKind });
  try {
    t.regex(dev.output(), /docker backend: .*\(a Docker daemon answers\)/);
    t.is((await dev.get()).backend.name, 'docker');
  } finally {
    await dev.quit();
  }
});

test('--backend docker without a daemon is one line naming the socket and the way out, exit code 2', async (t) => {
  const r = await cortex(['dev', exampleDir, '--backend', 'docker', '--no-tui'], { env: { DOCKER_HOST: 'unix:///tmp/cortex-no-such.sock', CORTEX_HOME: tmpdir() } });
  t.is(r.exitCode, 2);
  t.is(r.all, 'cortex: Docker is not running (nothing answers at /tmp/cortex-no-such.sock): start it (sudo systemctl start docker / dockerd) or use --backend process');
});

test('a cortex.yaml mistake is said before any backend starts: no Docker, image build or cluster first', async (t) => {
  const dir = await copyProject(exampleDir);
  await writeFile(join(dir, 'cortex.yaml'), (await readFile(join(dir, 'cortex.yaml'), 'utf8')).replace('min_replicas: 1', 'min_replicas: one'));
  const r = await cortex(['dev', dir, '--backend', 'docker', '--no-tui'], { env: { DOCKER_HOST: 'unix:///tmp/cortex-no-such.sock', CORTEX_HOME: tmpdir() } });
  t.is(r.exitCode, 2);
  t.is(r.all, `cortex: ${join(dir, 'cortex.yaml')}:16: api "classifier": autoscaling.min_replicas must be an integer ≥ 1, got "one"`);
});

test('without --backend: the cortex kind cluster when it is up, Docker where it can run this machine\'s replicas, otherwise processes, saying why', (t) => {
  t.deepEqual(autoBackend({ docker: { usable: true }, kindCluster: false }), { backend: 'docker', why: 'a Docker daemon answers' });
  t.deepEqual(autoBackend({ docker: { usable: true }, kindCluster: true }), { backend: 'kind', why: 'the kind cluster "cortex" is up' });
  const mac = "Docker unusable: Docker runs linux/arm64 containers, which cannot load this machine's darwin-arm64 node_modules";
  t.deepEqual(autoBackend({ docker: { usable: false, why: mac }, kindCluster: false }), { backend: 'process', why: mac });
  t.is(requestedBackend(undefined), undefined);
  t.is(requestedBackend('docker'), 'docker');
  t.is(requestedBackend('kind'), 'kind');
  t.throws(() => requestedBackend('eks'), { name: 'UserError', message: '--backend eks is not available for cortex dev; choose one of: process, docker, kind' });
});

test('the probe names the socket nobody answers on, whole', async (t) => {
  t.deepEqual(await probeDocker(new Docker({ socketPath: '/tmp/cortex-no-such.sock' })), {
    usable: false,
    why: 'Docker unavailable: Docker is not running (nothing answers at /tmp/cortex-no-such.sock)',
  });
});

dockerTest('the probe finds this daemon usable: it runs containers of this machine\'s platform', async (t) => {
  t.deepEqual(await probeDocker(docker), { usable: true });
});

// `cortex cluster up|down|info` for the local kind cluster: kind's config is a pure function;
// info and the reuse path run against the real cluster test/cluster/up.sh made (its node
// publishes :8888 and mounts the mirror, as cortex's own config does).
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import test from 'ava';
import { execa } from 'execa';
import { parse } from 'yaml';
import { kindConfig } from '../src/kube/kind.js';
import { cortex } from './helpers/cli.js';
import { clusterDir, clusterName, kindPath, kindTest } from './helpers/kind.js';
import { closedPort } from './helpers/http.js';
import { exampleDir, writeModelMirror } from './helpers/shared.js';

test("kind's config: the gateway's NodePort on the host port, the cache shared, the mirror read-only", (t) => {
  const config = parse(kindConfig({ name: 'cortex', hostPort: 9999, cacheDir: '/home/me/.cache/cortex', mirrorDir: '/data/models' }));
  t.deepEqual(config.nodes, [
    {
      role: 'control-plane',
      extraPortMappings: [{ containerPort: 30888, hostPort: 9999, listenAddress: '127.0.0.1' }],
      extraMounts: [
        { hostPath: '/home/me/.cache/cortex', containerPath: '/cortex/cache' },
        { hostPath: '/data/models', containerPath: '/cortex/models', readOnly: true },
      ],
    },
  ]);
  // Without a mirror, pods download into the shared cache.
  t.deepEqual(parse(kindConfig({ name: 'c', hostPort: 8888, cacheDir: '/c' })).nodes[0].extraMounts, [{ hostPath: '/c', containerPath: '/cortex/cache' }]);
});

test('without kind on PATH, cluster up, info, down and dev --backend kind say what to install, in one line, exit code 2', async (t) => {
  for (const command of [['cluster', 'up'], ['cluster', 'info'], ['cluster', 'down'], ['dev', exampleDir, '--backend', 'kind', '--no-tui']]) {
    const r = await cortex(command, { env: { PATH: dirname(process.execPath), CORTEX_HOME: await mkdtemp(join(tmpdir(), 'cortex-home-')) } });
    t.is(r.exitCode, 2, command.join(' '));
    t.regex(r.stderr, /^cortex: kind is not installed: install kind \(https:\/\/kind\.sigs\.k8s\.io\/\S+, or go install sigs\.k8s\.io\/kind@v\d+\.\d+\.\d+\) and make sure it is on PATH$/);
  }
});

// kind without Docker: not installed (no docker on PATH), or no daemon where DOCKER_HOST points.
// Neither reaches a cluster; the kind binary is the harness's.
kindTest('with kind but no Docker, or no daemon answering, cluster up, info and dev --backend kind say what to do, in one line, exit code 2', async (t) => {
  const { stdout: kind } = await execa(join(clusterDir, 'build-kind.sh'));
  const cases: Array<[env: Record<string, string>, says: RegExp]> = [
    [{ PATH: dirname(kind.trim()) }, /^cortex: kind runs its cluster in Docker, and there is no docker command on PATH: install Docker \(https:\/\/docs\.docker\.com\/engine\/install\/\), start it, then run this again$/],
    [
      { PATH: await kindPath(), DOCKER_HOST: 'unix:///nonexistent/docker.sock' },
      /^cortex: kind runs its cluster in Docker, and no Docker daemon answers at unix:\/\/\/nonexistent\/docker\.sock \(DOCKER_HOST\): start it \(sudo systemctl start docker, or open Docker Desktop\), or point DOCKER_HOST at one that runs, then run this again$/,
    ],
  ];
  for (const [env, says] of cases) {
    for (const command of [['cluster', 'up'], ['cluster', 'info'], ['dev', exampleDir, '--backend', 'kind', '--no-tui']]) {
      const r = await cortex(command, { env: { ...env, CORTEX_HOME: await mkdtemp(join(tmpdir(), 'cortex-home-')) } });
      const what = `${command.join(' ')} with ${JSON.stringify(env)}`;
      t.is(r.exitCode, 2, what);
      t.regex(r.stderr.trim(), says, what);
      t.is(r.stderr.trim().split('\n').length, 1, what);
    }
  }
});

test('cluster up --cloud --dry-run prints the EKS plan and the eksctl config, with no credentials', async (t) => {
  const r = await cortex(['cluster', 'up', '--cloud', '--dry-run'], { env: { AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '', AWS_PROFILE: 'cortex-none' } });
  t.is(r.exitCode, 0, r.all);
  t.regex(r.stdout, /^EKS cluster "\S+" in \S+, Kubernetes \d+\.\d+/m);
  t.regex(r.stdout, /^apiVersion: eksctl\.io\/v1alpha5$/m);
});

test('a cluster.yaml without --cloud is one line saying to add it', async (t) => {
  const r = await cortex(['cluster', 'up', 'cluster.yaml']);
  t.is(r.exitCode, 2);
  t.is(r.stderr.trim(), 'cortex: cluster.yaml: a cluster.yaml describes an EKS cluster; add --cloud (without it, cortex cluster manages a local kind cluster)');
});

kindTest('cluster info shows the node, the version and the gateway of the real cluster', async (t) => {
  const r = await cortex(['cluster', 'info', '--name', clusterName], { env: { PATH: await kindPath() } });
  t.is(r.exitCode, 0, r.all);
  t.regex(r.stdout, new RegExp(`^kind cluster "${clusterName}": Kubernetes v1\\.34\\.\\d+, API server https://127\\.0\\.0\\.1:\\d+$`, 'm'));
  t.regex(r.stdout, /^gateway: http:\/\/localhost:8888$/m);
  t.regex(r.stdout, new RegExp(`^node ${clusterName}-control-plane: Ready, kubelet v1\\.34\\.\\d+$`, 'm'));
});

kindTest('cluster up reuses a cluster that publishes the gateway, and says so', async (t) => {
  const started = Date.now();
  const r = await cortex(['cluster', 'up', '--name', clusterName], { env: { PATH: await kindPath() } });
  t.is(r.exitCode, 0, r.all);
  t.is(r.stdout.trim(), `kind cluster "${clusterName}" is up (reused); the gateway answers on http://localhost:8888`);
  t.log(`reuse checked in ${Date.now() - started} ms`);
});

kindTest('cluster down of a cluster that does not exist deletes nothing and says so', async (t) => {
  const r = await cortex(['cluster', 'down', '--name', 'cortex-never-made'], { env: { PATH: await kindPath() } });
  t.is(r.exitCode, 0, r.all);
  t.is(r.stdout.trim(), 'no kind cluster named "cortex-never-made"; nothing to delete');
});

kindTest('cluster up creates a cluster from the offline node image, with the gateway port and the mirror and cache mounted; info shows it; down deletes it', async (t) => {
  // A second cluster beside the harness's on a shared 2-core machine: a minute or two.
  t.timeout(8 * 60_000);
  const { stdout: image } = await execa(join(clusterDir, 'build-node-image.sh'));
  const name = `cortex-create-test-${process.pid}`;
  const port = await closedPort();
  const env = { PATH: await kindPath(), CORTEX_CACHE_DIR: await mkdtemp(join(tmpdir(), 'cortex-cache-')), CORTEX_MODEL_MIRROR: await writeModelMirror(await mkdtemp(join(tmpdir(), 'cortex-mirror-'))) };
  t.teardown(async () => void (await cortex(['cluster', 'down', '--name', name], { env })));
  const up = await cortex(['cluster', 'up', '--name', name, '--port', String(port), '--image', image.trim()], { env });
  t.is(up.exitCode, 0, up.all);
  t.regex(up.stdout, new RegExp(`^kind cluster "${name}" created in [\\d.]+ s; the gateway will answer on http://localhost:${port}$`, 'm'));
  const info = await cortex(['cluster', 'info', '--name', name], { env });
  t.is(info.exitCode, 0, info.all);
  t.regex(info.stdout, new RegExp(`^gateway: http://localhost:${port}$`, 'm'));
  t.regex(info.stdout, new RegExp(`^node ${name}-control-plane: Ready, kubelet v1\\.34\\.\\d+$`, 'm'));
  // The folders the kind profile mounts into pods are on the node.
  await execa('docker', ['exec', `${name}-control-plane`, 'test', '-f', '/cortex/models/mobilenetv2-12-int8.onnx']);
  await execa('docker', ['exec', `${name}-control-plane`, 'test', '-d', '/cortex/cache']);
  const down = await cortex(['cluster', 'down', '--name', name], { env });
  t.is(down.stdout.trim(), `kind cluster "${name}" deleted`);
});

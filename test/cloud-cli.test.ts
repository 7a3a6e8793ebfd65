// What `cortex cluster up|info --cloud` and `cortex cloud token` do, called as functions: the
// dry run's plan and eksctl file, the one line when eksctl is missing, the exec credential,
// `cluster info --cloud` against moto (AWS_ENDPOINT_URL, as a user would point the SDK elsewhere),
// and `cluster up --cloud` against moto with a stub eksctl on PATH: a cluster that is there is not
// created again, so a run that failed after eksctl can be resumed.
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DescribeRepositoriesCommand, ECRClient } from '@aws-sdk/client-ecr';
import { CreateClusterCommand, EKSClient } from '@aws-sdk/client-eks';
import test from 'ava';
import { parse } from 'yaml';
import { cloudClusterDown, cloudClusterInfo, cloudClusterUp, creationStep, eksctlFilePath, execCredential, resolveClusterConfig, type Clock, type CloudIo } from '../src/cli/commands/cloud.js';
import { decodeEksToken } from '../src/cloud/eks-token.js';
import { parseClusterConfig } from '../src/cloud/cluster-config.js';
import { renderEksctlConfig } from '../src/cloud/eksctl-config.js';
import { UserError } from '../src/user-error.js';
import { MOTO_CREDENTIALS, motoTest, startMoto } from './helpers/moto.js';

function capture(env: NodeJS.ProcessEnv = {}): CloudIo & { lines: string[] } {
  const lines: string[] = [];
  return { lines, print: (line) => lines.push(line), env: { PATH: '/usr/bin:/bin', HOME: '/nonexistent', ...env } };
}

test('cluster up --cloud --dry-run prints the plan and the eksctl file, and needs neither eksctl nor AWS', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'cortex-cloud-cli-'));
  try {
    const file = path.join(dir, 'cluster.yaml');
    await writeFile(file, 'cluster_name: vision\nregion: us-west-2\ngpu_instance_type: g4dn.xlarge\n');
    const io = capture({ CORTEX_STATE_DIR: dir });
    await cloudClusterUp(file, { dryRun: true }, io);
    t.is(io.lines[0], `EKS cluster "vision" in us-west-2, Kubernetes 1.32 (from ${file})`);
    t.deepEqual(io.lines.slice(1, 4), [
      '  node group system: 1–2 × t3.medium, gateway, autoscaler',
      '  node group cpu: 1–5 × m5.large, CPU apis',
      '  node group gpu: 0–5 × g4dn.xlarge, GPU apis',
    ]);
    t.deepEqual(io.lines.slice(4, 6), [
      "  ECR repository vision/cortex-runtime; the cluster autoscaler's IAM role through OIDC; the NVIDIA device plugin on the GPU nodes",
      '  cluster autoscaler registry.k8s.io/autoscaling/cluster-autoscaler:v1.32.5, applied after eksctl: ClusterRole/cluster-autoscaler, Role/cluster-autoscaler, ClusterRoleBinding/cluster-autoscaler, RoleBinding/cluster-autoscaler, Deployment/cluster-autoscaler',
    ]);
    const start = io.lines.indexOf(`# eksctl create cluster -f ${path.join(dir, 'eks', 'vision.us-west-2.eksctl.yaml')} would create:`);
    t.true(start > 0, io.lines.join('\n'));
    t.deepEqual(parse(io.lines.slice(start + 1).join('\n')), renderEksctlConfig(parseClusterConfig('cluster_name: vision\nregion: us-west-2\ngpu_instance_type: g4dn.xlarge\n', file)));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('cluster up --cloud --dry-run of a CPU-only cluster plans no NVIDIA device plugin; with spot backups the autoscaler\'s priority expander is among its objects', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'cortex-cloud-cli-'));
  try {
    const file = path.join(dir, 'cluster.yaml');
    await writeFile(file, 'cluster_name: shop\nspot: true\n');
    const io = capture({ CORTEX_STATE_DIR: dir });
    await cloudClusterUp(file, { dryRun: true }, io);
    const plan = io.lines.slice(0, io.lines.indexOf(''));
    t.false(plan.some((l) => /NVIDIA|device plugin/i.test(l)), plan.join('\n'));
    t.is(plan.at(-2), "  ECR repository shop/cortex-runtime; the cluster autoscaler's IAM role through OIDC");
    t.is(plan.at(-1), '  cluster autoscaler registry.k8s.io/autoscaling/cluster-autoscaler:v1.32.5, applied after eksctl: ClusterRole/cluster-autoscaler, Role/cluster-autoscaler, ClusterRoleBinding/cluster-autoscaler, RoleBinding/cluster-autoscaler, ConfigMap/cluster-autoscaler-priority-expander, Deployment/cluster-autoscaler');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('cluster up --cloud without eksctl says how to install it, in one line, before any AWS call', async (t) => {
  const io = capture({ AWS_ACCESS_KEY_ID: 'none', AWS_SECRET_ACCESS_KEY: 'none', AWS_ENDPOINT_URL: 'http://127.0.0.1:9' });
  const error = await t.throwsAsync(cloudClusterUp(undefined, {}, { ...io, env: { ...io.env, PATH: '/nonexistent' } }), { instanceOf: UserError });
  t.regex(error.message, /^eksctl is not installed: see https:\/\/eksctl\.io\/installation/);
  t.false(error.message.includes('\n'));
});

test('without a file, ./cluster.yaml is used when there is one, else the defaults', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'cortex-cloud-cli-'));
  try {
    t.is((await resolveClusterConfig(undefined, dir)).clusterName, 'cortex');
    await writeFile(path.join(dir, 'cluster.yaml'), 'cluster_name: here\n');
    t.is((await resolveClusterConfig(undefined, dir)).clusterName, 'here');
    t.is(eksctlFilePath({ clusterName: 'here', region: 'us-east-1' }, { HOME: '/home/u' }), '/home/u/.cortex/eks/here.us-east-1.eksctl.yaml');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('cortex cloud token prints a v1beta1 ExecCredential with an EKS token for the cluster', async (t) => {
  const saved = { ...process.env };
  Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY: 'secret', AWS_PROFILE: '' });
  delete process.env.AWS_PROFILE;
  try {
    const credential = JSON.parse(await execCredential('vision', 'us-west-2')) as { kind: string; apiVersion: string; status: { token: string; expirationTimestamp: string } };
    t.is(credential.kind, 'ExecCredential');
    t.is(credential.apiVersion, 'client.authentication.k8s.io/v1beta1');
    t.regex(credential.status.expirationTimestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const url = decodeEksToken(credential.status.token);
    t.is(url.host, 'sts.us-west-2.amazonaws.com');
    t.regex(url.searchParams.get('X-Amz-Credential') ?? '', /^AKIDEXAMPLE\//);
  } finally {
    process.env = saved;
  }
});

motoTest('cluster info --cloud describes the EKS cluster (moto, through AWS_ENDPOINT_URL)', async (t) => {
  const moto = await startMoto();
  const saved = { ...process.env };
  Object.assign(process.env, { AWS_ACCESS_KEY_ID: MOTO_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: MOTO_CREDENTIALS.secretAccessKey, AWS_ENDPOINT_URL: moto.endpoint });
  const dir = await mkdtemp(path.join(tmpdir(), 'cortex-cloud-cli-'));
  try {
    const eks = new EKSClient({ region: 'eu-west-1', endpoint: moto.endpoint, credentials: MOTO_CREDENTIALS });
    await eks.send(new CreateClusterCommand({ name: 'shop', roleArn: 'arn:aws:iam::123456789012:role/eks', resourcesVpcConfig: { subnetIds: [] } }));
    eks.destroy();
    const file = path.join(dir, 'cluster.yaml');
    await writeFile(file, 'cluster_name: shop\nregion: eu-west-1\n');
    const io = capture();
    await cloudClusterInfo(file, io);
    t.regex(io.lines[0] ?? '', /^EKS cluster "shop" in eu-west-1: ACTIVE, Kubernetes /);
    t.regex(io.lines[1] ?? '', /^API server: https:\/\//);
    t.is(io.lines[2], 'AWS account 123456789012 as arn:aws:sts::123456789012:user/moto');
    const missing = await t.throwsAsync(cloudClusterInfo(path.join(dir, 'nope.yaml'), io), { instanceOf: UserError });
    t.regex(missing.message, /nope\.yaml: no such file/);
  } finally {
    process.env = saved;
    await rm(dir, { recursive: true, force: true });
    await moto.stop();
  }
});

// What cluster up does with a cluster of that name already there, by its EKS status.
const steps: Array<[status: string | undefined, step: 'create' | 'exists' | RegExp]> = [
  [undefined, 'create'],
  ['ACTIVE', 'exists'],
  ['UPDATING', 'exists'],
  ['CREATING', /^EKS cluster "shop" in eu-west-1 is CREATING: it is still being created \(by an earlier cluster up, or eksctl\); wait until cortex cluster info --cloud says ACTIVE .*then run cortex cluster up --cloud again for the rest$/],
  ['PENDING', /is PENDING: it is still being created/],
  ['DELETING', /is DELETING: wait until it is gone .*then run cortex cluster up --cloud again$/],
  ['FAILED', /is FAILED: EKS cannot use it; delete it \(cortex cluster down --cloud\), then run cortex cluster up --cloud again$/],
];
for (const [status, step] of steps) {
  test(`cluster up --cloud on a cluster that is ${status ?? 'not there'}: ${typeof step === 'string' ? step : 'stops with one line saying what to wait for or do'}`, (t) => {
    const where = { clusterName: 'shop', region: 'eu-west-1' };
    if (typeof step === 'string') return t.is(creationStep(where, status), step);
    const error = t.throws(() => creationStep(where, status), { instanceOf: UserError });
    t.regex(error.message, step);
    t.false(error.message.includes('\n'));
  });
}

/** An eksctl on PATH that records its arguments and exits with `code`, and moto as AWS (the SDK reads AWS_ENDPOINT_URL from the process's environment). */
async function upEnvironment(moto: { endpoint: string }, code: number) {
  const dir = await mkdtemp(path.join(tmpdir(), 'cortex-cloud-up-'));
  const calls = path.join(dir, 'eksctl-calls');
  await writeFile(path.join(dir, 'eksctl'), `#!/bin/sh\necho "$@" >> '${calls}'\necho "creating cluster (stub eksctl)"\nexit ${code}\n`);
  await chmod(path.join(dir, 'eksctl'), 0o755);
  const saved = { ...process.env };
  Object.assign(process.env, { AWS_ACCESS_KEY_ID: MOTO_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: MOTO_CREDENTIALS.secretAccessKey, AWS_ENDPOINT_URL: moto.endpoint });
  delete process.env.AWS_PROFILE;
  const file = path.join(dir, 'cluster.yaml');
  await writeFile(file, 'cluster_name: shop\nregion: eu-west-1\n');
  return {
    dir,
    file,
    io: capture({ PATH: `${dir}:/usr/bin:/bin`, CORTEX_STATE_DIR: dir }),
    calls: async () => (await readFile(calls, 'utf8').catch(() => '')).split('\n').filter(Boolean),
    async restore() {
      process.env = saved;
      await rm(dir, { recursive: true, force: true });
    },
  };
}

motoTest('cluster up --cloud again on a cluster that is there (ACTIVE in moto): no eksctl, then the ECR repository and the cluster autoscaler', async (t) => {
  const moto = await startMoto();
  const env = await upEnvironment(moto, 0);
  try {
    const eks = new EKSClient({ region: 'eu-west-1', endpoint: moto.endpoint, credentials: MOTO_CREDENTIALS });
    await eks.send(new CreateClusterCommand({ name: 'shop', roleArn: 'arn:aws:iam::123456789012:role/eks', resourcesVpcConfig: { subnetIds: [] } }));
    eks.destroy();
    // moto's cluster has an API server address that nothing answers on: the run goes as far as applying the autoscaler to it.
    const error = await t.throwsAsync(cloudClusterUp(env.file, {}, env.io));
    t.log(error.message.split('\n')[0]);
    t.deepEqual(await env.calls(), [], 'eksctl was not run');
    t.true(env.io.lines.includes('EKS cluster "shop" is there already (ACTIVE): not created again (no eksctl); the ECR repository and the cluster autoscaler next'), env.io.lines.join('\n'));
    t.true(env.io.lines.some((l) => /^ECR repository \d+\.dkr\.ecr\.eu-west-1\.amazonaws\.com\/shop\/cortex-runtime created$/.test(l)), env.io.lines.join('\n'));
    t.true(env.io.lines.some((l) => /^cluster "shop" is ACTIVE: https:\/\//.test(l)), env.io.lines.join('\n'));
    t.regex(error.message, /^applying ClusterRole cluster-autoscaler: /, 'it went on to the cluster autoscaler');
    const ecr = new ECRClient({ region: 'eu-west-1', endpoint: moto.endpoint, credentials: MOTO_CREDENTIALS });
    const { repositories } = await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ['shop/cortex-runtime'] }));
    ecr.destroy();
    t.is(repositories?.length, 1);
  } finally {
    await env.restore();
    await moto.stop();
  }
});

motoTest('cluster up --cloud on a cluster that is not there runs eksctl create cluster with the rendered file, and stops where eksctl failed', async (t) => {
  const moto = await startMoto();
  const env = await upEnvironment(moto, 1);
  try {
    const error = await t.throwsAsync(cloudClusterUp(env.file, {}, env.io), { instanceOf: UserError });
    const eksctlFile = path.join(env.dir, 'eks', 'shop.eu-west-1.eksctl.yaml');
    t.deepEqual(await env.calls(), [`create cluster -f ${eksctlFile}`]);
    t.is(error.message, 'eksctl create cluster failed (exit code 1); its output is above');
    t.true(env.io.lines.some((l) => /^ {2}\[0m0\ds\] creating cluster \(stub eksctl\)$/.test(l)), env.io.lines.join('\n'));
    t.false(env.io.lines.some((l) => l.startsWith('ECR repository')), 'nothing after eksctl ran');
  } finally {
    await env.restore();
    await moto.stop();
  }
});

/** A clock that moves only when the test says, running the interval's tick each time. */
function testClock() {
  let now = 1_750_000_000_000;
  const ticks = new Set<() => void>();
  const clock: Clock = {
    now: () => now,
    every: (_ms, tick) => {
      ticks.add(tick);
      return () => ticks.delete(tick);
    },
  };
  return { clock, ticking: () => ticks.size, advance: (ms: number) => ((now += ms), ticks.forEach((tick) => tick())) };
}

test('eksctl quiet for 30 s: a heartbeat line with the time so far, again after every 30 quiet seconds, none once it speaks or ends', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'cortex-cloud-quiet-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  // An eksctl that says one line, then sleeps until the test lets it go, as CloudFormation keeps it waiting.
  const release = path.join(dir, 'release');
  await writeFile(path.join(dir, 'eksctl'), `#!/bin/sh\necho "deleting stack"\nwhile [ ! -e '${release}' ]; do sleep 0.05; done\necho "cluster deleted"\n`);
  await chmod(path.join(dir, 'eksctl'), 0o755);
  const time = testClock();
  const io = { ...capture({ PATH: `${dir}:/usr/bin:/bin`, CORTEX_STATE_DIR: dir }), clock: time.clock };
  const down = cloudClusterDown(undefined, {}, io);
  for (const deadline = Date.now() + 30_000; !io.lines.includes('  [0m00s] deleting stack'); await new Promise((r) => setTimeout(r, 20))) {
    if (Date.now() > deadline) return t.fail(`eksctl said nothing: ${io.lines.join('\n')}`);
  }
  time.advance(29_000);
  time.advance(1_000);
  time.advance(29_999);
  time.advance(1);
  time.advance(4 * 60_000 + 12_000);
  await writeFile(release, '');
  await down;
  t.deepEqual(io.lines.slice(1, -1), [
    '  [0m00s] deleting stack',
    '  [0m30s] still deleting…',
    '  [1m00s] still deleting…',
    '  [5m12s] still deleting…',
    '  [5m12s] cluster deleted',
  ]);
  t.is(time.ticking(), 0, 'the heartbeat stops with eksctl');
});

// eksctl itself checks the ClusterConfig that src/cloud renders: `eksctl create cluster -f
// <rendered> --dry-run` loads it, applies its defaults and runs its validation (node groups, GPU
// AMI family, IAM, VPC), then prints the config it would create, without creating anything. The
// AWS calls a dry run makes (STS identity, EC2 zones and instance offerings) go to moto.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import test from 'ava';
import { execa } from 'execa';
import { parse, stringify } from 'yaml';
import { parseClusterConfig } from '../src/cloud/cluster-config.js';
import { eksctlConfigYaml, renderEksctlConfig, type EksctlClusterConfig } from '../src/cloud/eksctl-config.js';
import { eksctlAvailable, eksctlBinary, eksctlTest, startEksStub, type EksStub } from './helpers/eksctl.js';
import { MOTO_CREDENTIALS, startMoto, type Moto } from './helpers/moto.js';

let moto: Moto | undefined;
let stub: EksStub | undefined;
let home: string | undefined;

if (eksctlAvailable) {
  test.before(async () => {
    [moto, stub, home] = await Promise.all([
      startMoto(),
      startEksStub({ default: '1.32', supported: ['1.30', '1.31', '1.32', '1.33'] }),
      mkdtemp(path.join(tmpdir(), 'cortex-eksctl-')),
    ]);
  });
  test.after.always(async () => {
    await Promise.all([moto?.stop(), stub?.stop()]);
    if (home) await rm(home, { recursive: true, force: true });
  });
}

interface DryRun {
  exitCode: number;
  stdout: string;
  stderr: string;
  ms: number;
}

async function dryRun(configYaml: string, region: string): Promise<DryRun> {
  const file = path.join(home!, `cluster-${Date.now()}.yaml`);
  await writeFile(file, configYaml);
  const started = performance.now();
  const result = await execa(eksctlBinary!, ['create', 'cluster', '-f', file, '--dry-run'], {
    reject: false,
    timeout: 120_000,
    extendEnv: false,
    env: {
      PATH: process.env.PATH,
      HOME: home,
      AWS_ACCESS_KEY_ID: MOTO_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: MOTO_CREDENTIALS.secretAccessKey,
      AWS_REGION: region,
      AWS_ENDPOINT_URL: moto!.endpoint,
      AWS_ENDPOINT_URL_EKS: stub!.endpoint,
      AWS_EC2_METADATA_DISABLED: 'true',
    },
  });
  return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr), ms: Math.round(performance.now() - started) };
}

interface Case {
  name: string;
  yaml: string[];
  check(t: Parameters<Parameters<typeof eksctlTest>[1]>[0], out: EksctlClusterConfig, rendered: EksctlClusterConfig): void;
}

const cases: Case[] = [
  {
    name: 'CPU-only',
    yaml: ['cluster_name: shop', 'region: us-east-1'],
    check(t, out) {
      t.deepEqual(out.managedNodeGroups.map((g) => g.name), ['system', 'cpu']);
    },
  },
  {
    name: 'GPU, with zones',
    yaml: ['cluster_name: vision', 'region: us-west-2', 'availability_zones: [us-west-2a, us-west-2b]', 'gpu_instance_type: g4dn.xlarge', 'gpu_max_instances: 2'],
    check(t, out) {
      t.deepEqual(out.availabilityZones, ['us-west-2a', 'us-west-2b']);
      const gpu = out.managedNodeGroups.find((g) => g.name === 'gpu');
      t.like(gpu, { instanceType: 'g4dn.xlarge', minSize: 0, maxSize: 2, desiredCapacity: 0, amiFamily: 'AmazonLinux2023', labels: { 'nvidia.com/gpu': 'true' } });
      t.deepEqual(gpu?.taints, [{ key: 'nvidia.com/gpu', value: 'true', effect: 'NoSchedule' }]);
    },
  },
  {
    name: 'GPU and CPU on spot with on-demand backups, private subnets, Kubernetes 1.33',
    yaml: ['cluster_name: spotty', 'region: eu-west-1', 'kubernetes_version: "1.33"', 'spot: true', 'spot_config: { instance_distribution: [m5a.large], gpu_instance_distribution: [g5.xlarge] }',
      'gpu_instance_type: g4dn.xlarge', 'subnet_visibility: private', 'instance_volume_type: io1', 'instance_volume_iops: 3000'],
    check(t, out) {
      t.is(out.metadata.version, '1.33');
      t.deepEqual(out.managedNodeGroups.map((g) => g.name), ['system', 'cpu', 'cpu-on-demand', 'gpu', 'gpu-on-demand']);
      t.like(out.managedNodeGroups.find((g) => g.name === 'gpu'), { spot: true, instanceTypes: ['g4dn.xlarge', 'g5.xlarge'], privateNetworking: true });
      t.is(out.vpc.nat.gateway, 'Single');
    },
  },
];

for (const c of cases) {
  eksctlTest(`eksctl create cluster --dry-run accepts the ${c.name} config`, async (t) => {
    const config = parseClusterConfig(`${c.yaml.join('\n')}\n`, 'cluster.yaml');
    const run = await dryRun(eksctlConfigYaml(config), config.region);
    t.log(`eksctl dry run: ${run.ms} ms`);
    t.is(run.exitCode, 0, `${run.stderr}\n${run.stdout}`);
    const out = parse(run.stdout) as EksctlClusterConfig;
    const rendered = renderEksctlConfig(config);
    t.is(out.metadata.name, rendered.metadata.name);
    t.is(out.metadata.region, rendered.metadata.region);
    t.true(out.iam.withOIDC);
    t.like(out.iam.serviceAccounts[0], { metadata: { name: 'cluster-autoscaler', namespace: 'kube-system' }, wellKnownPolicies: { autoScaler: true } });
    // What eksctl kept of each group: everything we set, next to the defaults it added.
    for (const ours of rendered.managedNodeGroups) {
      const theirs = out.managedNodeGroups.find((g) => g.name === ours.name);
      t.truthy(theirs, `eksctl kept node group ${ours.name}`);
      t.like(theirs, { minSize: ours.minSize, maxSize: ours.maxSize, labels: ours.labels, tags: ours.tags, propagateASGTags: true });
    }
    c.check(t, out, rendered);
    t.deepEqual(stub!.unanswered, [], 'eksctl asked EKS nothing the stub does not know');
  });
}

eksctlTest('eksctl refuses a config it cannot create, so the dry runs above do validate', async (t) => {
  const config = parseClusterConfig('gpu_instance_type: g4dn.xlarge\n', 'cluster.yaml');
  const rendered = renderEksctlConfig(config);
  // Both one instance type and a list: eksctl's managed node group validation says no.
  const broken = { ...rendered, managedNodeGroups: rendered.managedNodeGroups.map((g) => (g.name === 'gpu' ? { ...g, instanceTypes: ['g5.xlarge'] } : g)) };
  const run = await dryRun(stringify(broken), config.region);
  t.not(run.exitCode, 0);
  t.regex(run.stderr, /instanceType.*instanceTypes|instanceTypes.*instanceType/i, run.stderr);
});

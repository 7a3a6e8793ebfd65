// cluster.yaml → ClusterConfig → eksctl ClusterConfig: defaults, the one-line errors, and the
// node groups a CPU-only and a GPU cluster get. eksctl itself checks the output in cloud-eksctl.test.ts.
import test from 'ava';
import { parse } from 'yaml';
import { defaultClusterConfig, parseClusterConfig, type ClusterConfig } from '../src/cloud/cluster-config.js';
import { describeNodeGroups, eksctlConfigYaml, gatewayServiceAnnotations, renderEksctlConfig, type EksctlManagedNodeGroup } from '../src/cloud/eksctl-config.js';
import type { V1Deployment, V1PodSpec } from '@kubernetes/client-node';
import { renderClusterAutoscaler } from '../src/cloud/cluster-autoscaler.js';
import { profiles, render } from '../src/kube/render.js';
import { parseSpec, SpecError } from '../src/spec/index.js';

const FILE = 'clusters/cluster.yaml';
const lines = (...rows: string[]): string => `${rows.join('\n')}\n`;
const config = (...rows: string[]): ClusterConfig => parseClusterConfig(lines(...rows), FILE);
const group = (c: ClusterConfig, name: string): EksctlManagedNodeGroup => {
  const found = renderEksctlConfig(c).managedNodeGroups.find((g) => g.name === name);
  if (!found) throw new Error(`no node group ${name}`);
  return found;
};

test('an empty cluster.yaml is the defaults: a CPU-only cluster "cortex" in us-east-1', (t) => {
  const parsed = parseClusterConfig('', FILE);
  t.like(parsed, {
    clusterName: 'cortex',
    region: 'us-east-1',
    kubernetesVersion: '1.32',
    system: { instanceType: 't3.medium' },
    cpu: { instanceType: 'm5.large', min: 1, max: 5 },
    gpu: undefined,
    volume: { size: 50, type: 'gp3', iops: undefined },
    spot: false,
    subnetVisibility: 'public',
    natGateway: 'none',
    vpcCidr: '192.168.0.0/16',
    apiLoadBalancerScheme: 'internet-facing',
  });
  t.deepEqual({ ...defaultClusterConfig(), file: parsed.file }, parsed);
});

test('a Cortex v0.20-style GPU cluster.yaml reads as written', (t) => {
  const parsed = config(
    'cluster_name: vision',
    'region: us-west-2',
    'kubernetes_version: "1.33"',
    'availability_zones: [us-west-2a, us-west-2b]',
    'instance_type: c5.xlarge',
    'min_instances: 0',
    'max_instances: 3',
    'gpu_instance_type: g4dn.xlarge',
    'gpu_max_instances: 2',
    'instance_volume_size: 100',
    'instance_volume_type: io1',
    'instance_volume_iops: 4000',
    'spot: true',
    'spot_config:',
    '  instance_distribution: [c5a.xlarge, c6i.xlarge]',
    '  gpu_instance_distribution: [g5.xlarge]',
    '  on_demand_backup: false',
    'subnet_visibility: private',
    'api_load_balancer_scheme: internal',
    'tags: { team: ml, cost-center: 42 }',
  );
  t.like(parsed, {
    clusterName: 'vision',
    region: 'us-west-2',
    kubernetesVersion: '1.33',
    availabilityZones: ['us-west-2a', 'us-west-2b'],
    cpu: { instanceType: 'c5.xlarge', min: 0, max: 3 },
    gpu: { instanceType: 'g4dn.xlarge', min: 0, max: 2 },
    volume: { size: 100, type: 'io1', iops: 4000 },
    spot: true,
    spotConfig: { instanceDistribution: ['c5a.xlarge', 'c6i.xlarge'], gpuInstanceDistribution: ['g5.xlarge'], onDemandBackup: false },
    subnetVisibility: 'private',
    natGateway: 'single',
    apiLoadBalancerScheme: 'internal',
    tags: { team: 'ml', 'cost-center': '42' },
  });
});

// Every bad cluster.yaml gets one line: file:line: what is wrong and what to do.
const errors: Array<[string, string[], string]> = [
  ['a list', ['- cluster_name: x'], `${FILE}: must be a mapping of settings such as "cluster_name: cortex" and "region: us-east-1", got a list`],
  ['bad YAML', ['region: [us-east-1'], `${FILE}:2: YAML syntax error:`],
  ['unknown field', ['region: us-east-1', 'instance_typ: m5.large'], `${FILE}:2: unknown field "instance_typ"; did you mean "instance_type"?`],
  ['uppercase name', ['cluster_name: Vision'], `${FILE}:1: cluster_name must be lowercase letters, digits and "-", starting with a letter, at most 63 characters, got "Vision"`],
  ['bad region', ['region: virginia'], `${FILE}:1: region must be an AWS region such as us-east-1, got "virginia"`],
  ['unquoted version', ['kubernetes_version: 1.30'], `${FILE}:1: kubernetes_version must be quoted, such as "1.32": YAML reads 1.3 as a number, so "1.30" would become 1.3`],
  ['negative min', ['min_instances: -1'], `${FILE}:1: min_instances must be an integer ≥ 0, got -1`],
  ['min above max', ['min_instances: 4', 'max_instances: 2'], `${FILE}:1: min_instances (4) must be ≤ max_instances (2)`],
  ['bad volume type', ['instance_volume_type: ssd'], `${FILE}:1: instance_volume_type must be one of: gp2, gp3, io1, io2, sc1, st1, got "ssd"`],
  ['iops on gp2', ['instance_volume_type: gp2', 'instance_volume_iops: 3000'], `${FILE}:2: instance_volume_iops applies only to io1, io2 and gp3 volumes, and instance_volume_type is gp2; remove it or change the type`],
  ['AMD GPU', ['gpu_instance_type: g4ad.xlarge'], `${FILE}:1: gpu_instance_type must be an NVIDIA GPU instance type (g4dn, g5, g6, g6e, p4d, p5 …), got "g4ad.xlarge"`],
  ['CPU type as GPU', ['gpu_instance_type: m5.large'], `${FILE}:1: gpu_instance_type must be an NVIDIA GPU instance type`],
  // Every node runs the one x86_64 runtime image: Graviton nodes could start none of cortex's pods.
  ['Graviton CPU nodes', ['instance_type: m6g.large'], `${FILE}:1: instance_type must be an x86_64 instance type (such as m5.large, m6i.large, c6a.large, t3.medium), got "m6g.large": Graviton (arm64) nodes cannot start the runtime image, which is built for x86_64`],
  ['Graviton system node', ['system_instance_type: t4g.medium'], `${FILE}:1: system_instance_type must be an x86_64 instance type (such as m5.large, m6i.large, c6a.large, t3.medium), got "t4g.medium"`],
  ['first-generation Graviton', ['instance_type: a1.large'], `${FILE}:1: instance_type must be an x86_64 instance type`],
  ['Graviton among spot types', ['spot: true', 'spot_config: { instance_distribution: [m5a.large, c7gn.large] }'], `${FILE}:2: spot_config.instance_distribution must list x86_64 instance types, got "c7gn.large": Graviton (arm64) nodes`],
  // CUDA 13 (the CUDA image's onnxruntime) builds no kernels for Volta and older: their GPUs would serve on the CPU.
  ['Volta GPU', ['gpu_instance_type: p3.2xlarge'], `${FILE}:1: gpu_instance_type must be an NVIDIA GPU instance type (g4dn, g5, g6, g6e, p4d, p5 …), got "p3.2xlarge"; the CUDA runtime is a CUDA 13 build, which needs an NVIDIA GPU of Turing (T4) or newer on x86_64 (not p3's V100, p2's K80 or g3's M60)`],
  ['Kepler GPU', ['gpu_instance_type: p2.xlarge'], `${FILE}:1: gpu_instance_type must be an NVIDIA GPU instance type`],
  ['Maxwell GPU', ['gpu_instance_type: g3s.xlarge'], `${FILE}:1: gpu_instance_type must be an NVIDIA GPU instance type`],
  ['Volta among GPU spot types', ['gpu_instance_type: g5.xlarge', 'spot: true', 'spot_config: { gpu_instance_distribution: [p3dn.24xlarge] }'], `${FILE}:3: spot_config.gpu_instance_distribution must list NVIDIA GPU instance types of Turing or newer (g4dn, g5, g6 …), got "p3dn.24xlarge"`],
  ['gpu max without type', ['gpu_max_instances: 3'], `${FILE}:1: gpu_max_instances is set but gpu_instance_type is not; add gpu_instance_type: g4dn.xlarge`],
  ['gpu min above max', ['gpu_instance_type: g5.xlarge', 'gpu_min_instances: 3', 'gpu_max_instances: 1'], `${FILE}:2: gpu_min_instances (3) must be ≤ gpu_max_instances (1)`],
  ['spot_config without spot', ['spot_config:', '  instance_distribution: [m5a.large]'], `${FILE}:1: spot_config is set but spot is false; add spot: true, or remove spot_config`],
  ['spot_config typo', ['spot: true', 'spot_config:', '  instance_distributions: [m5a.large]'], `${FILE}:3: unknown field "spot_config.instance_distributions"; did you mean "spot_config.instance_distribution"?`],
  ['CPU type among GPU spot types', ['gpu_instance_type: g5.xlarge', 'spot: true', 'spot_config: { gpu_instance_distribution: [m5.large] }'], `${FILE}:3: spot_config.gpu_instance_distribution must list NVIDIA GPU instance types of Turing or newer (g4dn, g5, g6 …), got "m5.large"`],
  ['private without NAT', ['subnet_visibility: private', 'nat_gateway: none'], `${FILE}:2: nat_gateway is none but subnet_visibility is private: nodes in private subnets need a NAT gateway`],
  ['zone in another region', ['region: us-east-1', 'availability_zones: [us-east-1a, eu-west-1b]'], `${FILE}:2: availability_zones: "eu-west-1b" is not in region us-east-1`],
  ['one zone', ['availability_zones: [us-east-1a]'], `${FILE}:1: availability_zones must name at least 2 different zones (EKS needs two), got us-east-1a`],
  ['retired bucket', ['bucket: my-bucket'], `${FILE}:1: bucket is a Cortex v0.20 setting that cortex does not use: cortex keeps no state in S3 (bundles travel in ConfigMaps); remove it`],
  ['retired image_', ['image_operator: quay.io/cortexlabs/operator:0.20.0'], `${FILE}:1: image_operator is a Cortex v0.20 setting that cortex does not use: cortex builds its own runtime image`],
  ['retired spot field', ['spot: true', 'spot_config:', '  on_demand_base_capacity: 0'], `${FILE}:3: spot_config.on_demand_base_capacity is a Cortex v0.20 setting that cortex does not use: managed node groups`],
  ['aws: tag', ['tags: { "aws:owner": me }'], `${FILE}:1: tags has an invalid key "aws:owner"; keys must be AWS tag keys`],
];

for (const [name, rows, expected] of errors) {
  test(`cluster.yaml error: ${name}`, (t) => {
    const error = t.throws(() => config(...rows), { instanceOf: SpecError });
    t.true(error.message.startsWith(expected), error.message);
    t.false(error.message.includes('\n'), 'one line');
  });
}

test('CPU-only: a system group and a CPU group, both on AL2023, found by the autoscaler', (t) => {
  const rendered = renderEksctlConfig(config('cluster_name: shop', 'region: eu-west-1'));
  t.like(rendered, {
    apiVersion: 'eksctl.io/v1alpha5',
    kind: 'ClusterConfig',
    metadata: { name: 'shop', region: 'eu-west-1', version: '1.32', tags: { 'cortex.dev/cluster': 'shop' } },
    vpc: { cidr: '192.168.0.0/16', nat: { gateway: 'Disable' } },
  });
  t.false('availabilityZones' in rendered, 'eksctl picks zones when cluster.yaml does not');
  t.deepEqual(rendered.iam, {
    withOIDC: true,
    serviceAccounts: [{
      metadata: { name: 'cluster-autoscaler', namespace: 'kube-system', labels: { 'app.kubernetes.io/managed-by': 'cortex' } },
      wellKnownPolicies: { autoScaler: true },
    }],
  });
  t.deepEqual(rendered.managedNodeGroups.map((g) => g.name), ['system', 'cpu']);
  t.deepEqual(group(config('cluster_name: shop'), 'cpu'), {
    name: 'cpu',
    amiFamily: 'AmazonLinux2023',
    instanceType: 'm5.large',
    minSize: 1,
    maxSize: 5,
    desiredCapacity: 1,
    volumeSize: 50,
    volumeType: 'gp3',
    privateNetworking: false,
    labels: { 'cortex.dev/node-role': 'api', 'cortex.dev/node-group': 'cpu', 'cortex.dev/cpu-apis': 'true' },
    tags: {
      'k8s.io/cluster-autoscaler/enabled': 'true',
      'k8s.io/cluster-autoscaler/shop': 'owned',
      'k8s.io/cluster-autoscaler/node-template/label/cortex.dev/node-role': 'api',
      'k8s.io/cluster-autoscaler/node-template/label/cortex.dev/node-group': 'cpu',
      'k8s.io/cluster-autoscaler/node-template/label/cortex.dev/cpu-apis': 'true',
    },
    propagateASGTags: true,
  });
  t.like(group(config(), 'system'), { instanceType: 't3.medium', minSize: 1, maxSize: 2, labels: { 'cortex.dev/node-role': 'system', 'cortex.dev/system-pods': 'true' } });
});

test('GPU: a group that starts at zero, labelled and tainted nvidia.com/gpu, with the tags to scale it up from zero', (t) => {
  const gpu = group(config('gpu_instance_type: g4dn.xlarge', 'gpu_max_instances: 3'), 'gpu');
  t.deepEqual(gpu, {
    name: 'gpu',
    amiFamily: 'AmazonLinux2023',
    instanceType: 'g4dn.xlarge',
    minSize: 0,
    maxSize: 3,
    desiredCapacity: 0,
    volumeSize: 50,
    volumeType: 'gp3',
    privateNetworking: false,
    labels: { 'cortex.dev/node-role': 'api', 'cortex.dev/node-group': 'gpu', 'nvidia.com/gpu': 'true', 'k8s.amazonaws.com/accelerator': 'nvidia-tesla-t4' },
    taints: [{ key: 'nvidia.com/gpu', value: 'true', effect: 'NoSchedule' }],
    tags: {
      'k8s.io/cluster-autoscaler/enabled': 'true',
      'k8s.io/cluster-autoscaler/cortex': 'owned',
      'k8s.io/cluster-autoscaler/node-template/label/cortex.dev/node-role': 'api',
      'k8s.io/cluster-autoscaler/node-template/label/cortex.dev/node-group': 'gpu',
      'k8s.io/cluster-autoscaler/node-template/label/nvidia.com/gpu': 'true',
      'k8s.io/cluster-autoscaler/node-template/label/k8s.amazonaws.com/accelerator': 'nvidia-tesla-t4',
      'k8s.io/cluster-autoscaler/node-template/taint/nvidia.com/gpu': 'true:NoSchedule',
      'k8s.io/cluster-autoscaler/node-template/resources/nvidia.com/gpu': '1',
    },
    propagateASGTags: true,
  });
  // An instance type outside the table: the autoscaler's own instance list knows its GPU count.
  t.false('k8s.io/cluster-autoscaler/node-template/resources/nvidia.com/gpu' in group(config('gpu_instance_type: g6e.xlarge'), 'gpu').tags);
  t.is(group(config('gpu_instance_type: g5.12xlarge'), 'gpu').tags['k8s.io/cluster-autoscaler/node-template/resources/nvidia.com/gpu'], '4');
});

// The GPU each family has, as the cluster autoscaler's AWS provider names it: on the GPU group's
// nodes and, for a group at zero nodes, as its node-template tag. Every family cluster.yaml takes.
const accelerators: Array<[instanceType: string, accelerator: string]> = [
  ['g4dn.xlarge', 'nvidia-tesla-t4'],
  ['g4dn.12xlarge', 'nvidia-tesla-t4'],
  ['g5.2xlarge', 'nvidia-a10g'],
  ['g6.xlarge', 'nvidia-l4'],
  ['gr6.4xlarge', 'nvidia-l4'],
  ['g6e.xlarge', 'nvidia-l40s'],
  ['p4d.24xlarge', 'nvidia-tesla-a100'],
  ['p4de.24xlarge', 'nvidia-tesla-a100'],
  ['p5.48xlarge', 'nvidia-h100'],
  ['p5e.48xlarge', 'nvidia-h200'],
  ['p5en.48xlarge', 'nvidia-h200'],
  ['p6-b200.48xlarge', 'nvidia-b200'],
];
for (const [instanceType, accelerator] of accelerators) {
  test(`GPU group on ${instanceType}: k8s.amazonaws.com/accelerator=${accelerator}, as a label and a node-template tag`, (t) => {
    const c = config(`gpu_instance_type: ${instanceType}`, 'spot: true');
    for (const name of ['gpu', 'gpu-on-demand']) {
      const gpu = group(c, name);
      t.is(gpu.labels['k8s.amazonaws.com/accelerator'], accelerator, name);
      t.is(gpu.tags['k8s.io/cluster-autoscaler/node-template/label/k8s.amazonaws.com/accelerator'], accelerator, name);
    }
    for (const name of ['system', 'cpu', 'cpu-on-demand']) {
      const other = group(c, name);
      t.false('k8s.amazonaws.com/accelerator' in other.labels, name);
      t.false(Object.keys(other.tags).some((key) => key.endsWith('/k8s.amazonaws.com/accelerator')), name);
    }
  });
}

test('a spot GPU group of several GPU types is labelled with the GPU of its own instance type', (t) => {
  const gpu = group(config('gpu_instance_type: g5.xlarge', 'spot: true', 'spot_config: { gpu_instance_distribution: [g4dn.xlarge, g6.xlarge] }'), 'gpu');
  t.deepEqual(gpu.instanceTypes, ['g5.xlarge', 'g4dn.xlarge', 'g6.xlarge']);
  t.is(gpu.labels['k8s.amazonaws.com/accelerator'], 'nvidia-a10g');
});

// The eks profile's pods against the groups eksctl creates: each kind of pod fits the groups meant
// for it and no other (its node selector matches the group's labels, and it tolerates the group's
// taints), the cluster autoscaler among the system pods.
test('each pod the eks profile renders fits only the node groups meant for it', (t) => {
  const c = config('gpu_instance_type: g4dn.xlarge', 'spot: true');
  const groups = renderEksctlConfig(c).managedNodeGroups;
  const spec = parseSpec('- kind: deployment\n  name: shop\n- kind: api\n  name: cpu-api\n  predictor: { path: p.ts }\n- kind: api\n  name: gpu-api\n  predictor: { path: p.ts }\n  compute: { gpu: 1 }\n', '/p/cortex.yaml');
  const bundle = { code: '', config: {}, version: 'v' };
  const objects = render({ spec, image: 'r:1', gpuImage: 'c:1', bundles: new Map([['cpu-api', bundle], ['gpu-api', bundle]]), profile: profiles.eks(), adminToken: 't' });
  const pods = [...objects, ...renderClusterAutoscaler(c)].filter((o) => o.kind === 'Deployment').map((o) => [o.metadata!.name!, (o as V1Deployment).spec!.template.spec!] as const);
  const fits = (pod: V1PodSpec, g: EksctlManagedNodeGroup) =>
    Object.entries(pod.nodeSelector ?? {}).every(([k, v]) => g.labels[k] === v) &&
    (g.taints ?? []).every((taint) => pod.tolerations?.some((tol) => tol.key === taint.key && tol.effect === taint.effect && (tol.operator === 'Exists' || tol.value === taint.value)));
  t.deepEqual(Object.fromEntries(pods.map(([name, pod]) => [name, groups.filter((g) => fits(pod, g)).map((g) => g.name)])), {
    'cortex-gateway': ['system'],
    'cortex-autoscaler': ['system'],
    'cluster-autoscaler': ['system'],
    'shop-cpu-api': ['cpu', 'cpu-on-demand'],
    'shop-gpu-api': ['gpu', 'gpu-on-demand'],
  });
});

const layouts: Array<[string, string[], string[]]> = [
  ['on-demand CPU', [], ['system: 1–2 × t3.medium, gateway, autoscaler', 'cpu: 1–5 × m5.large, CPU apis']],
  ['on-demand CPU and GPU', ['gpu_instance_type: g5.xlarge'], ['system: 1–2 × t3.medium, gateway, autoscaler', 'cpu: 1–5 × m5.large, CPU apis', 'gpu: 0–5 × g5.xlarge, GPU apis']],
  ['spot with on-demand backup', ['spot: true', 'spot_config: { instance_distribution: [m5a.large], gpu_instance_distribution: [g5.xlarge] }', 'gpu_instance_type: g4dn.xlarge'], [
    'system: 1–2 × t3.medium, gateway, autoscaler',
    'cpu: 1–5 × m5.large|m5a.large (spot), CPU apis',
    'cpu-on-demand: 0–5 × m5.large, CPU apis',
    'gpu: 0–5 × g4dn.xlarge|g5.xlarge (spot), GPU apis',
    'gpu-on-demand: 0–5 × g4dn.xlarge, GPU apis',
  ]],
  ['spot without backup', ['spot: true', 'spot_config: { on_demand_backup: false }'], ['system: 1–2 × t3.medium, gateway, autoscaler', 'cpu: 1–5 × m5.large (spot), CPU apis']],
];
for (const [name, rows, expected] of layouts) {
  test(`node groups: ${name}`, (t) => {
    t.deepEqual(describeNodeGroups(config(...rows)), expected);
  });
}

test('x86_64 instance types are taken, GPU ones among them (no family is mistaken for Graviton)', (t) => {
  for (const type of ['m5.large', 'm5a.large', 'm6i.xlarge', 'm7i-flex.large', 'c6a.large', 'c5n.2xlarge', 'r6id.large', 'inf2.xlarge', 't3.medium', 'z1d.large']) {
    t.is(config(`instance_type: ${type}`).cpu.instanceType, type);
  }
  for (const type of ['g4dn.xlarge', 'g5.xlarge', 'g6e.xlarge', 'gr6.4xlarge', 'p5en.48xlarge']) t.is(config(`gpu_instance_type: ${type}`).gpu?.instanceType, type);
});

test('spot groups list instance types instead of one type, as eksctl requires', (t) => {
  const cpu = group(config('spot: true', 'spot_config: { instance_distribution: [m5a.large, m5.large] }'), 'cpu');
  t.deepEqual(cpu.instanceTypes, ['m5.large', 'm5a.large']);
  t.true(cpu.spot);
  t.false('instanceType' in cpu);
});

test('private subnets: nodes in private networking behind a NAT gateway', (t) => {
  const rendered = renderEksctlConfig(config('subnet_visibility: private', 'nat_gateway: highly_available'));
  t.is(rendered.vpc.nat.gateway, 'HighlyAvailable');
  t.true(rendered.managedNodeGroups.every((g) => g.privateNetworking));
});

test('the YAML file eksctl reads round-trips to the rendered object', (t) => {
  const c = config('gpu_instance_type: g4dn.xlarge', 'availability_zones: [us-east-1a, us-east-1b]');
  const text = eksctlConfigYaml(c);
  t.true(text.startsWith('# Rendered by cortex from '));
  t.deepEqual(parse(text), renderEksctlConfig(c));
});

test('the gateway Service gets an NLB, internal when api_load_balancer_scheme says so', (t) => {
  t.deepEqual(gatewayServiceAnnotations(config()), { 'service.beta.kubernetes.io/aws-load-balancer-type': 'nlb' });
  t.deepEqual(gatewayServiceAnnotations(config('api_load_balancer_scheme: internal')), {
    'service.beta.kubernetes.io/aws-load-balancer-type': 'nlb',
    'service.beta.kubernetes.io/aws-load-balancer-internal': 'true',
  });
});

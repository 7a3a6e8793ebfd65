// cluster.yaml → ClusterConfig: Cortex's cluster config (v0.20 field names where they still make
// sense), validated like cortex.yaml: one line naming the file, the line, the field and the fix.
// Stages as in src/spec/parse.ts: YAML syntax, a mapping, retired Cortex fields, each field's
// rule, then rules across fields; a stage runs only when the one before found nothing.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { SpecError, describeValue, lineOf, problemsFromIssue, readYaml, type Problem, type YamlPath } from '../spec/errors.js';

export type VolumeType = 'gp2' | 'gp3' | 'io1' | 'io2' | 'sc1' | 'st1';
export type NatGateway = 'none' | 'single' | 'highly_available';

export interface NodeGroupSize {
  instanceType: string;
  min: number;
  max: number;
}

/** A validated cluster.yaml, defaults applied. */
export interface ClusterConfig {
  file: string | undefined;
  clusterName: string;
  region: string;
  kubernetesVersion: string;
  availabilityZones: string[] | undefined;
  /** The node group the gateway and the autoscaler run on (Cortex's "operator instance"). */
  system: { instanceType: string };
  /** CPU apis. */
  cpu: NodeGroupSize;
  /** GPU apis; absent when cluster.yaml names no gpu_instance_type. */
  gpu: NodeGroupSize | undefined;
  volume: { size: number; type: VolumeType; iops: number | undefined };
  spot: boolean;
  /** instanceDistribution: other types for the CPU group; gpuInstanceDistribution: for the GPU group. */
  spotConfig: { instanceDistribution: string[]; gpuInstanceDistribution: string[]; onDemandBackup: boolean };
  subnetVisibility: 'public' | 'private';
  natGateway: NatGateway;
  vpcCidr: string;
  apiLoadBalancerScheme: 'internet-facing' | 'internal';
  tags: Record<string, string>;
}

export const CLUSTER_CONFIG_NAMES = ['cluster.yaml', 'cluster.yml'];
/** eksctl v0.215's default; EKS dropped the Amazon Linux 2 AMIs from 1.33 on, so nodes run AL2023. */
export const DEFAULT_KUBERNETES_VERSION = '1.32';

const rule = (what: string) => ({ error: what });

function integer(min: number, max = Infinity) {
  const e = rule(max === Infinity ? `an integer ≥ ${min}` : `an integer from ${min} to ${max}`);
  return z.number(e).int(e).min(min, e).max(max, e);
}

function text(what: string, pattern: RegExp) {
  return z.string(rule(what)).regex(pattern, rule(what));
}

function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  return z.enum(values, rule(`one of: ${values.join(', ')}`));
}

/** Unknown keys are errors; a typo must not silently mean "the default". */
function mapping<Shape extends z.ZodRawShape>(shape: Shape) {
  const allowed = Object.keys(shape).join(', ');
  return z.strictObject(shape, {
    error: (issue) => (issue.code === 'unrecognized_keys' ? allowed : `a mapping with fields ${allowed}`),
  });
}

// Also a Kubernetes label value and the prefix of ECR repository names, which must be lowercase.
const NAME_RULE = 'lowercase letters, digits and "-", starting with a letter, at most 63 characters';
const REGION_RULE = 'an AWS region such as us-east-1';
const INSTANCE_RULE = 'an EC2 instance type such as m5.large';
const VERSION_RULE = 'a Kubernetes minor version in quotes, such as "1.32"';
const CIDR_RULE = 'an IPv4 CIDR block such as 192.168.0.0/16';

const instanceType = text(INSTANCE_RULE, /^[a-z][a-z0-9-]*\.[a-z0-9-]+$/);
const zone = text('availability zone names such as us-east-1a', /^[a-z]{2}(-[a-z]+)+-\d[a-z]$/);
const tags = z.record(
  z.string().regex(/^(?!aws:)[\w .:/=+\-@]{1,128}$/, rule('AWS tag keys (up to 128 letters, digits, spaces and _.:/=+-@, not starting with "aws:")')),
  z.union([z.string(), z.number(), z.boolean()], rule('a string')).transform(String),
  rule('a mapping of tag keys to values'),
);

const schema = mapping({
  cluster_name: text(NAME_RULE, /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/).default('cortex'),
  region: text(REGION_RULE, /^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$/).default('us-east-1'),
  // A bare 1.30 in YAML is the number 1.3: the rule asks for quotes, and a number gets its own hint below.
  kubernetes_version: text(VERSION_RULE, /^1\.\d{2}$/).default(DEFAULT_KUBERNETES_VERSION),
  availability_zones: z.array(zone, rule('a list of availability zone names such as [us-east-1a, us-east-1b]')).optional(),
  system_instance_type: instanceType.default('t3.medium'),
  instance_type: instanceType.default('m5.large'),
  min_instances: integer(0).default(1),
  max_instances: integer(1).default(5),
  gpu_instance_type: instanceType.optional(),
  gpu_min_instances: integer(0).default(0),
  gpu_max_instances: integer(1).default(5),
  instance_volume_size: integer(20, 16384).default(50),
  instance_volume_type: oneOf(['gp2', 'gp3', 'io1', 'io2', 'sc1', 'st1']).default('gp3'),
  instance_volume_iops: integer(100, 256000).optional(),
  spot: z.boolean(rule('true or false')).default(false),
  spot_config: z.preprocess(
    (value) => value ?? {},
    mapping({
      instance_distribution: z.array(instanceType, rule('a list of EC2 instance types such as [m5a.large, m6i.large]')).default([]),
      gpu_instance_distribution: z.array(instanceType, rule('a list of NVIDIA GPU instance types such as [g5.xlarge, g6.xlarge]')).default([]),
      on_demand_backup: z.boolean(rule('true or false')).default(true),
    }),
  ).optional(),
  subnet_visibility: oneOf(['public', 'private']).default('public'),
  nat_gateway: oneOf(['none', 'single', 'highly_available']).optional(),
  vpc_cidr: text(CIDR_RULE, /^(\d{1,3}\.){3}\d{1,3}\/(1[6-9]|2[0-8])$/).default('192.168.0.0/16'),
  api_load_balancer_scheme: oneOf(['internet-facing', 'internal']).default('internet-facing'),
  tags: z.preprocess((value) => value ?? {}, tags),
});

type Fields = z.output<typeof schema>;

/**
 * Cortex v0.20 settings that mean nothing here, each with why; said instead of "unknown field",
 * so a cluster.yaml carried over from Cortex is told what to do.
 */
const RETIRED: Record<string, string> = {
  bucket: 'cortex keeps no state in S3 (bundles travel in ConfigMaps)',
  log_group: 'logs are read from the pods (cortex logs), not CloudWatch',
  api_gateway: 'the gateway is cortex\'s own, behind a load balancer',
  operator_load_balancer_scheme: 'there is no operator; the CLI talks to the Kubernetes API',
  operator_load_balancer_cidr_white_list: 'there is no operator; the CLI talks to the Kubernetes API',
  ssl_certificate_arn: 'not supported yet; put an API Gateway or CloudFront in front for HTTPS',
  telemetry: 'cortex sends no telemetry',
  instance_volume_throughput: 'gp3 volumes get their baseline throughput',
  'spot_config.on_demand_base_capacity': 'managed node groups choose spot capacity themselves; spot_config.on_demand_backup adds an on-demand group',
  'spot_config.on_demand_percentage_above_base_capacity': 'managed node groups choose spot capacity themselves; spot_config.on_demand_backup adds an on-demand group',
  'spot_config.max_price': 'managed node groups bid up to the on-demand price',
  'spot_config.instance_pools': 'managed node groups use the capacity-optimized strategy over spot_config.instance_distribution',
};

/**
 * The instance families GPU apis can run on, each with its GPU as the cluster autoscaler's AWS
 * provider names it (the k8s.amazonaws.com/accelerator label). NVIDIA on x86_64 only: AMD (g4ad),
 * Graviton (g5g) and Inferentia/Trainium instances have no CUDA for the runtime's amd64 CUDA image.
 * And Turing (T4) or newer: the CUDA image's onnxruntime is a CUDA 13 build, and CUDA 13 compiles
 * no kernels for Volta and older, so p3's V100, p2's K80 and g3's M60 would serve on the CPU.
 */
const NVIDIA_ACCELERATORS = new Map<string, string>([
  ['g4dn', 'nvidia-tesla-t4'],
  ['g5', 'nvidia-a10g'],
  ['g6', 'nvidia-l4'],
  ['gr6', 'nvidia-l4'],
  ['g6e', 'nvidia-l40s'],
  ['p4d', 'nvidia-tesla-a100'],
  ['p4de', 'nvidia-tesla-a100'],
  ['p5', 'nvidia-h100'],
  ['p5e', 'nvidia-h200'],
  ['p5en', 'nvidia-h200'],
  ['p6-b200', 'nvidia-b200'],
]);

/**
 * Graviton (arm64) families: a1, and a digit then "g" (m6g, c7gn, r8gd, t4g, im4gn, hpc7g …). Every
 * node runs the one runtime image `cortex deploy --cloud` builds for x86_64 (it builds nowhere else:
 * src/image/platform.ts eksImageProblem), so an arm64 node could start none of cortex's pods.
 */
const ARM64_FAMILY = /^(?:a1|[a-z]+\d+g[a-z]*)\./;

/** The GPU of an instance type cortex runs GPU apis on ("g5.xlarge" → "nvidia-a10g"), or undefined for any other type. */
export function gpuAccelerator(instanceType: string): string | undefined {
  return NVIDIA_ACCELERATORS.get(instanceType.slice(0, instanceType.indexOf('.')));
}

/** GPUs per instance for the types people use; the autoscaler needs it to scale a GPU group from zero. */
export const GPUS_PER_INSTANCE: Record<string, number> = {
  'g4dn.xlarge': 1, 'g4dn.2xlarge': 1, 'g4dn.4xlarge': 1, 'g4dn.8xlarge': 1, 'g4dn.16xlarge': 1, 'g4dn.12xlarge': 4, 'g4dn.metal': 8,
  'g5.xlarge': 1, 'g5.2xlarge': 1, 'g5.4xlarge': 1, 'g5.8xlarge': 1, 'g5.16xlarge': 1, 'g5.12xlarge': 4, 'g5.24xlarge': 4, 'g5.48xlarge': 8,
  'g6.xlarge': 1, 'g6.2xlarge': 1, 'g6.4xlarge': 1, 'g6.8xlarge': 1, 'g6.16xlarge': 1, 'g6.12xlarge': 4, 'g6.24xlarge': 4, 'g6.48xlarge': 8,
  'p4d.24xlarge': 8, 'p5.48xlarge': 8,
};

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function retiredProblems(data: Record<string, unknown>): Problem[] {
  const problems: Problem[] = [];
  const check = (fields: string[], key: string) => {
    const reason = RETIRED[key] ?? (/^image_/.test(key) ? 'cortex builds its own runtime image (and its CUDA variant) and pushes it to ECR' : undefined);
    if (reason) problems.push({ path: fields, text: `${key} is a Cortex v0.20 setting that cortex does not use: ${reason}; remove it` });
  };
  for (const key of Object.keys(data)) check([key], key);
  const spotConfig = data.spot_config;
  if (isRecord(spotConfig)) for (const key of Object.keys(spotConfig)) check(['spot_config', key], `spot_config.${key}`);
  return problems;
}

function fieldHints(data: Record<string, unknown>): Problem[] {
  const version = data.kubernetes_version;
  if (typeof version === 'number') {
    return [{ path: ['kubernetes_version'], text: `kubernetes_version must be quoted, such as "1.32": YAML reads ${version} as a number, so "1.30" would become 1.3` }];
  }
  return [];
}

function crossProblems(fields: Fields, data: Record<string, unknown>): Problem[] {
  const problems: Problem[] = [];
  const add = (at: YamlPath, problem: string) => problems.push({ path: at, text: problem });
  if (fields.min_instances > fields.max_instances) {
    add(['min_instances'], `min_instances (${fields.min_instances}) must be ≤ max_instances (${fields.max_instances})`);
  }
  if (fields.gpu_instance_type === undefined) {
    for (const key of ['gpu_min_instances', 'gpu_max_instances'] as const) {
      if (key in data) add([key], `${key} is set but gpu_instance_type is not; add gpu_instance_type: g4dn.xlarge (or another NVIDIA GPU type), or remove ${key}`);
    }
  } else {
    if (gpuAccelerator(fields.gpu_instance_type) === undefined) {
      add(['gpu_instance_type'], `gpu_instance_type must be an NVIDIA GPU instance type (g4dn, g5, g6, g6e, p4d, p5 …), got "${fields.gpu_instance_type}"; the CUDA runtime is a CUDA 13 build, which needs an NVIDIA GPU of Turing (T4) or newer on x86_64 (not p3's V100, p2's K80 or g3's M60)`);
    }
    const notGpu = fields.spot_config?.gpu_instance_distribution.find((type) => gpuAccelerator(type) === undefined);
    if (notGpu !== undefined) {
      add(['spot_config', 'gpu_instance_distribution'], `spot_config.gpu_instance_distribution must list NVIDIA GPU instance types of Turing or newer (g4dn, g5, g6 …), got "${notGpu}"`);
    }
    if (fields.gpu_min_instances > fields.gpu_max_instances) {
      add(['gpu_min_instances'], `gpu_min_instances (${fields.gpu_min_instances}) must be ≤ gpu_max_instances (${fields.gpu_max_instances})`);
    }
  }
  const arm64 = (type: string) => ARM64_FAMILY.test(type);
  const x86Only = 'Graviton (arm64) nodes cannot start the runtime image, which is built for x86_64';
  for (const key of ['instance_type', 'system_instance_type'] as const) {
    if (arm64(fields[key])) add([key], `${key} must be an x86_64 instance type (such as m5.large, m6i.large, c6a.large, t3.medium), got "${fields[key]}": ${x86Only}`);
  }
  const arm64Spot = fields.spot_config?.instance_distribution.find(arm64);
  if (arm64Spot !== undefined) add(['spot_config', 'instance_distribution'], `spot_config.instance_distribution must list x86_64 instance types, got "${arm64Spot}": ${x86Only}`);
  if (fields.instance_volume_iops !== undefined && !['io1', 'io2', 'gp3'].includes(fields.instance_volume_type)) {
    add(['instance_volume_iops'], `instance_volume_iops applies only to io1, io2 and gp3 volumes, and instance_volume_type is ${fields.instance_volume_type}; remove it or change the type`);
  }
  if (fields.spot_config !== undefined && !fields.spot) {
    add(['spot_config'], 'spot_config is set but spot is false; add spot: true, or remove spot_config');
  }
  const nat = fields.nat_gateway ?? (fields.subnet_visibility === 'private' ? 'single' : 'none');
  if (fields.subnet_visibility === 'private' && nat === 'none') {
    add(['nat_gateway'], 'nat_gateway is none but subnet_visibility is private: nodes in private subnets need a NAT gateway to pull images; use single or highly_available');
  }
  const zones = fields.availability_zones;
  if (zones !== undefined) {
    const foreign = zones.find((name) => !name.startsWith(fields.region));
    if (foreign !== undefined) add(['availability_zones'], `availability_zones: "${foreign}" is not in region ${fields.region}; list zones of ${fields.region}, such as ${fields.region}a`);
    else if (new Set(zones).size < 2) add(['availability_zones'], `availability_zones must name at least 2 different zones (EKS needs two), got ${zones.length === 0 ? 'none' : zones.join(', ')}`);
  }
  return problems;
}

function toConfig(fields: Fields, file: string | undefined): ClusterConfig {
  return {
    file,
    clusterName: fields.cluster_name,
    region: fields.region,
    kubernetesVersion: fields.kubernetes_version,
    availabilityZones: fields.availability_zones === undefined ? undefined : [...new Set(fields.availability_zones)],
    system: { instanceType: fields.system_instance_type },
    cpu: { instanceType: fields.instance_type, min: fields.min_instances, max: fields.max_instances },
    gpu: fields.gpu_instance_type === undefined
      ? undefined
      : { instanceType: fields.gpu_instance_type, min: fields.gpu_min_instances, max: fields.gpu_max_instances },
    volume: { size: fields.instance_volume_size, type: fields.instance_volume_type, iops: fields.instance_volume_iops },
    spot: fields.spot,
    spotConfig: {
      instanceDistribution: fields.spot_config?.instance_distribution ?? [],
      gpuInstanceDistribution: fields.spot_config?.gpu_instance_distribution ?? [],
      onDemandBackup: fields.spot_config?.on_demand_backup ?? true,
    },
    subnetVisibility: fields.subnet_visibility,
    natGateway: fields.nat_gateway ?? (fields.subnet_visibility === 'private' ? 'single' : 'none'),
    vpcCidr: fields.vpc_cidr,
    apiLoadBalancerScheme: fields.api_load_balancer_scheme,
    tags: fields.tags,
  };
}

/**
 * Parses and validates cluster.yaml text; `file` names it in errors. An empty file is all
 * defaults (a CPU-only cluster "cortex" in us-east-1), as `cortex cluster up` with no file is.
 */
export function parseClusterConfig(text: string, file: string): ClusterConfig {
  const yaml = readYaml(text, file);
  const { absolute, doc, counter } = yaml;
  const data: unknown = yaml.data ?? {};
  if (!isRecord(data)) {
    throw new SpecError({ file: absolute, problem: `must be a mapping of settings such as "cluster_name: cortex" and "region: us-east-1", got ${describeValue(data)}` });
  }
  const throwFirst = (problems: Problem[]): void => {
    const errors = problems
      .map((problem) => new SpecError({
        file: absolute,
        line: lineOf(doc, counter, problem.path),
        field: problem.path.join('.'),
        problem: problem.text,
      }))
      .sort((a, b) => (a.line ?? Infinity) - (b.line ?? Infinity));
    if (errors[0]) throw errors[0];
  };
  throwFirst(retiredProblems(data));
  throwFirst(fieldHints(data));
  const result = schema.safeParse(data);
  throwFirst((result.error?.issues ?? []).flatMap((issue) => problemsFromIssue(issue, data, [])));
  const fields = result.data!;
  throwFirst(crossProblems(fields, data));
  return toConfig(fields, absolute);
}

/** The defaults alone: what `cortex cluster up --cloud` means without a cluster.yaml. */
export function defaultClusterConfig(): ClusterConfig {
  return toConfig(schema.parse({}), undefined);
}

/** Reads and validates a cluster.yaml; a folder means its cluster.yaml (or cluster.yml). */
export async function loadClusterConfig(fileOrDir: string): Promise<ClusterConfig> {
  const target = path.resolve(fileOrDir);
  const candidates = [target, ...CLUSTER_CONFIG_NAMES.map((name) => path.join(target, name))];
  for (const candidate of candidates) {
    let text: string;
    try {
      text = await readFile(candidate, 'utf8');
    } catch (error) {
      const { code } = error as NodeJS.ErrnoException;
      if (code === 'EISDIR' || code === 'ENOENT' || code === 'ENOTDIR') continue;
      throw new SpecError({ file: candidate, problem: `cannot be read (${code ?? String(error)})` });
    }
    return parseClusterConfig(text, candidate);
  }
  throw new SpecError({ file: target, problem: `no such file, and no ${CLUSTER_CONFIG_NAMES.join(' or ')} in it; pass a cluster config file such as cluster.yaml` });
}

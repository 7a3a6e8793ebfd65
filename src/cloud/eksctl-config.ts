// ClusterConfig → eksctl's ClusterConfig (eksctl.io/v1alpha5): a pure function, so the file that
// `eksctl create cluster -f` gets is what the tests check, byte for byte.
//
// Three kinds of EKS managed node group: "system" for the gateway and the autoscaler, "cpu" for
// CPU apis, "gpu" for apis with compute.gpu > 0 (the EKS-optimized accelerated AL2023 AMI, which
// eksctl picks for NVIDIA instance types; labelled and tainted nvidia.com/gpu, so only pods that
// tolerate it, which src/kube/render.ts gives GPU apis, land there; and labelled with their GPU's
// name under k8s.amazonaws.com/accelerator, see below). The cluster autoscaler finds
// the groups by their k8s.io/cluster-autoscaler tags and gets its AWS permissions through OIDC
// (IRSA); propagateASGTags copies the labels, taints and node-template tags to the Auto Scaling
// groups, which is what lets it scale a group up from zero nodes.
import { stringify } from 'yaml';
import { nodeSelectors } from '../kube/names.js';
import { GPUS_PER_INSTANCE, gpuAccelerator, type ClusterConfig, type NodeGroupSize } from './cluster-config.js';

export const GPU_RESOURCE = 'nvidia.com/gpu';
/**
 * The label the cluster autoscaler's AWS provider knows GPU nodes by: a node that has it but no
 * allocatable nvidia.com/gpu yet (its device plugin still starting) counts as a GPU node not yet
 * ready, instead of a node without GPUs, so the pending GPU pod does not set off another scale-up.
 * Its value names the GPU; the autoscaler reads it only for --gpu-total limits, which cortex sets none of.
 */
export const ACCELERATOR_LABEL = 'k8s.amazonaws.com/accelerator';
export const NODE_ROLE_LABEL = 'cortex.dev/node-role';
export const CLUSTER_AUTOSCALER_SERVICE_ACCOUNT = { name: 'cluster-autoscaler', namespace: 'kube-system' } as const;
const AMI_FAMILY = 'AmazonLinux2023';
const NODE_TEMPLATE = 'k8s.io/cluster-autoscaler/node-template';

export interface EksctlTaint {
  key: string;
  value: string;
  effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
}

export interface EksctlManagedNodeGroup {
  name: string;
  amiFamily: string;
  instanceType?: string;
  instanceTypes?: string[];
  spot?: boolean;
  minSize: number;
  maxSize: number;
  desiredCapacity: number;
  volumeSize: number;
  volumeType: string;
  volumeIOPS?: number;
  privateNetworking: boolean;
  labels: Record<string, string>;
  taints?: EksctlTaint[];
  tags: Record<string, string>;
  propagateASGTags: boolean;
}

export interface EksctlClusterConfig {
  apiVersion: 'eksctl.io/v1alpha5';
  kind: 'ClusterConfig';
  metadata: { name: string; region: string; version: string; tags: Record<string, string> };
  availabilityZones?: string[];
  vpc: { cidr: string; nat: { gateway: 'Disable' | 'Single' | 'HighlyAvailable' } };
  iam: {
    withOIDC: true;
    serviceAccounts: Array<{
      metadata: { name: string; namespace: string; labels: Record<string, string> };
      wellKnownPolicies: { autoScaler: true };
    }>;
  };
  managedNodeGroups: EksctlManagedNodeGroup[];
}

const NAT = { none: 'Disable', single: 'Single', highly_available: 'HighlyAvailable' } as const;

interface GroupPlan {
  name: string;
  role: 'system' | 'api';
  size: NodeGroupSize;
  spot: boolean;
  gpu: boolean;
}

function nodeGroup(config: ClusterConfig, plan: GroupPlan): EksctlManagedNodeGroup {
  // Each group carries the label the eks profile selects its pods by (src/kube/names.ts).
  const forPods = plan.role === 'system' ? nodeSelectors.system : plan.gpu ? nodeSelectors.gpuApi : nodeSelectors.cpuApi;
  const labels: Record<string, string> = { [NODE_ROLE_LABEL]: plan.role, 'cortex.dev/node-group': plan.name, ...forPods };
  const taints: EksctlTaint[] = [];
  if (plan.gpu) {
    // A spot group may mix GPU types (spot_config.gpu_instance_distribution): one label for the
    // group names the GPU of its own instance type, the one the autoscaler models it by.
    const accelerator = gpuAccelerator(plan.size.instanceType);
    if (accelerator) labels[ACCELERATOR_LABEL] = accelerator;
    taints.push({ key: GPU_RESOURCE, value: 'true', effect: 'NoSchedule' });
  }
  const tags: Record<string, string> = {
    'k8s.io/cluster-autoscaler/enabled': 'true',
    [`k8s.io/cluster-autoscaler/${config.clusterName}`]: 'owned',
  };
  // What a node of this group would look like, for the autoscaler to simulate one while there are none.
  for (const [key, value] of Object.entries(labels)) tags[`${NODE_TEMPLATE}/label/${key}`] = value;
  for (const taint of taints) tags[`${NODE_TEMPLATE}/taint/${taint.key}`] = `${taint.value}:${taint.effect}`;
  const gpus = plan.gpu ? GPUS_PER_INSTANCE[plan.size.instanceType] : undefined;
  if (gpus !== undefined) tags[`${NODE_TEMPLATE}/resources/${GPU_RESOURCE}`] = String(gpus);

  const others = plan.gpu ? config.spotConfig.gpuInstanceDistribution : config.spotConfig.instanceDistribution;
  const types = plan.spot ? [plan.size.instanceType, ...others.filter((t) => t !== plan.size.instanceType)] : [];
  return {
    name: plan.name,
    amiFamily: AMI_FAMILY,
    ...(plan.spot ? { instanceTypes: types, spot: true } : { instanceType: plan.size.instanceType }),
    minSize: plan.size.min,
    maxSize: plan.size.max,
    desiredCapacity: plan.size.min,
    volumeSize: config.volume.size,
    volumeType: config.volume.type,
    ...(config.volume.iops === undefined ? {} : { volumeIOPS: config.volume.iops }),
    privateNetworking: config.subnetVisibility === 'private',
    labels,
    ...(taints.length > 0 ? { taints } : {}),
    tags,
    propagateASGTags: true,
  };
}

/** The node groups in creation order: system, cpu (and its on-demand backup), gpu (and its backup). */
function groupPlans(config: ClusterConfig): GroupPlan[] {
  const plans: GroupPlan[] = [
    { name: 'system', role: 'system', size: { instanceType: config.system.instanceType, min: 1, max: 2 }, spot: false, gpu: false },
  ];
  const api = (name: string, size: NodeGroupSize, gpu: boolean) => {
    plans.push({ name, role: 'api', size, spot: config.spot, gpu });
    // Spot capacity can vanish; an on-demand group that starts empty is there for the autoscaler to fall back on.
    if (config.spot && config.spotConfig.onDemandBackup) plans.push({ name: `${name}-on-demand`, role: 'api', size: { ...size, min: 0 }, spot: false, gpu });
  };
  api('cpu', config.cpu, false);
  if (config.gpu) api('gpu', config.gpu, true);
  return plans;
}

export function renderEksctlConfig(config: ClusterConfig): EksctlClusterConfig {
  return {
    apiVersion: 'eksctl.io/v1alpha5',
    kind: 'ClusterConfig',
    metadata: {
      name: config.clusterName,
      region: config.region,
      version: config.kubernetesVersion,
      tags: { ...config.tags, 'cortex.dev/cluster': config.clusterName },
    },
    ...(config.availabilityZones ? { availabilityZones: config.availabilityZones } : {}),
    vpc: { cidr: config.vpcCidr, nat: { gateway: NAT[config.natGateway] } },
    iam: {
      withOIDC: true,
      serviceAccounts: [{
        metadata: { ...CLUSTER_AUTOSCALER_SERVICE_ACCOUNT, labels: { 'app.kubernetes.io/managed-by': 'cortex' } },
        wellKnownPolicies: { autoScaler: true },
      }],
    },
    managedNodeGroups: groupPlans(config).map((plan) => nodeGroup(config, plan)),
  };
}

/** The file `eksctl create cluster -f` reads. */
export function eksctlConfigYaml(config: ClusterConfig): string {
  const source = config.file ? ` from ${config.file}` : '';
  return `# Rendered by cortex${source}; eksctl create cluster -f <this file>\n${stringify(renderEksctlConfig(config), { lineWidth: 0 })}`;
}

/**
 * Annotations for the gateway's LoadBalancer Service on EKS: a network load balancer, internal
 * when cluster.yaml says api_load_balancer_scheme: internal.
 */
export function gatewayServiceAnnotations(config: Pick<ClusterConfig, 'apiLoadBalancerScheme'>): Record<string, string> {
  return {
    'service.beta.kubernetes.io/aws-load-balancer-type': 'nlb',
    ...(config.apiLoadBalancerScheme === 'internal' ? { 'service.beta.kubernetes.io/aws-load-balancer-internal': 'true' } : {}),
  };
}

/** One line per node group, for `cluster up --dry-run` and the confirmation before creating. */
export function describeNodeGroups(config: ClusterConfig): string[] {
  return renderEksctlConfig(config).managedNodeGroups.map((group) => {
    const types = group.instanceTypes ? group.instanceTypes.join('|') : group.instanceType;
    const purpose = group.name === 'system' ? 'gateway, autoscaler' : group.labels[GPU_RESOURCE] ? 'GPU apis' : 'CPU apis';
    return `${group.name}: ${group.minSize}–${group.maxSize} × ${types}${group.spot ? ' (spot)' : ''}, ${purpose}`;
  });
}

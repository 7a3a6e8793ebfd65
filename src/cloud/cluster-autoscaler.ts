// The Kubernetes cluster autoscaler for an EKS cluster from cluster.yaml: it adds nodes when
// pods are pending (a GPU api's first replica on a GPU group at zero) and removes idle ones. It
// finds the node groups by the k8s.io/cluster-autoscaler tags eksctl-config.ts puts on them, and
// calls AWS as the IAM role eksctl binds to its ServiceAccount through OIDC (so the
// ServiceAccount is eksctl's, not rendered here). With spot and on-demand backups, the priority
// expander prefers the spot groups and falls back on the on-demand ones when spot cannot be had.
import type { KubeConfig } from '@kubernetes/client-node';
import { ClusterClient } from '../kube/apply.js';
import { nodeSelectors } from '../kube/names.js';
import type { KubeObject as RenderedObject } from '../kube/render.js';
import type { ClusterConfig } from './cluster-config.js';
import { CLUSTER_AUTOSCALER_SERVICE_ACCOUNT } from './eksctl-config.js';

export type KubeObject = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> } } & Record<string, unknown>;

const NAME = 'cluster-autoscaler';
const NAMESPACE = CLUSTER_AUTOSCALER_SERVICE_ACCOUNT.namespace;
const LABELS = { 'app.kubernetes.io/name': NAME, 'app.kubernetes.io/managed-by': 'cortex' };

/**
 * The autoscaler release for each Kubernetes minor (they are released together and must match):
 * the newest patch known when this was written; another minor gets its .0, which always exists.
 */
export const CLUSTER_AUTOSCALER_VERSIONS: Record<string, string> = {
  '1.32': 'v1.32.5',
  '1.33': 'v1.33.5',
  '1.34': 'v1.34.4',
  '1.35': 'v1.35.1',
};

export function clusterAutoscalerImage(kubernetesVersion: string): string {
  const tag = CLUSTER_AUTOSCALER_VERSIONS[kubernetesVersion] ?? `v${kubernetesVersion}.0`;
  return `registry.k8s.io/autoscaling/cluster-autoscaler:${tag}`;
}

/** Priority expander rules: EKS names a managed group's Auto Scaling group eks-<group>-<uuid>. */
export function expanderPriorities(config: Pick<ClusterConfig, 'spot' | 'spotConfig'>): Record<number, string[]> | undefined {
  if (!config.spot || !config.spotConfig.onDemandBackup) return undefined;
  return {
    // Spot groups (a uuid right after the name) first, the on-demand backups next, anything else last.
    50: ['^eks-(cpu|gpu)-[0-9a-f]{8}-'],
    10: ['^eks-(cpu|gpu)-on-demand-'],
    1: ['.*'],
  };
}

function rbac(): KubeObject[] {
  const subject = [{ kind: 'ServiceAccount', name: CLUSTER_AUTOSCALER_SERVICE_ACCOUNT.name, namespace: NAMESPACE }];
  const read = ['get', 'list', 'watch'];
  return [
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: NAME, labels: LABELS },
      rules: [
        { apiGroups: [''], resources: ['events', 'endpoints'], verbs: ['create', 'patch'] },
        { apiGroups: [''], resources: ['pods/eviction'], verbs: ['create'] },
        { apiGroups: [''], resources: ['pods/status'], verbs: ['update'] },
        { apiGroups: [''], resources: ['endpoints'], resourceNames: [NAME], verbs: ['get', 'update'] },
        { apiGroups: [''], resources: ['nodes'], verbs: [...read, 'update'] },
        { apiGroups: [''], resources: ['namespaces', 'pods', 'services', 'replicationcontrollers', 'persistentvolumeclaims', 'persistentvolumes'], verbs: read },
        { apiGroups: ['extensions'], resources: ['replicasets', 'daemonsets'], verbs: read },
        { apiGroups: ['policy'], resources: ['poddisruptionbudgets'], verbs: ['watch', 'list'] },
        { apiGroups: ['apps'], resources: ['statefulsets', 'replicasets', 'daemonsets'], verbs: read },
        { apiGroups: ['storage.k8s.io'], resources: ['storageclasses', 'csinodes', 'csidrivers', 'csistoragecapacities', 'volumeattachments'], verbs: read },
        { apiGroups: ['batch', 'extensions'], resources: ['jobs'], verbs: [...read, 'patch'] },
        { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
        { apiGroups: ['coordination.k8s.io'], resources: ['leases'], resourceNames: [NAME], verbs: ['get', 'update'] },
        { apiGroups: ['resource.k8s.io'], resources: ['resourceclaims', 'resourceslices', 'deviceclasses'], verbs: read },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: NAME, namespace: NAMESPACE, labels: LABELS },
      rules: [
        { apiGroups: [''], resources: ['configmaps'], verbs: ['create', 'list', 'watch'] },
        { apiGroups: [''], resources: ['configmaps'], resourceNames: ['cluster-autoscaler-status', 'cluster-autoscaler-priority-expander'], verbs: ['delete', 'get', 'update', 'watch'] },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: NAME, labels: LABELS },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: NAME },
      subjects: subject,
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: NAME, namespace: NAMESPACE, labels: LABELS },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: NAME },
      subjects: subject,
    },
  ];
}

export function renderClusterAutoscaler(config: ClusterConfig, options: { image?: string } = {}): KubeObject[] {
  const priorities = expanderPriorities(config);
  const args = [
    '--cloud-provider=aws',
    `--node-group-auto-discovery=asg:tag=k8s.io/cluster-autoscaler/enabled,k8s.io/cluster-autoscaler/${config.clusterName}`,
    `--expander=${priorities ? 'priority,least-waste' : 'least-waste'}`,
    // Spot groups of several instance types are "similar"; spread over them rather than fill one.
    '--balance-similar-node-groups',
    '--skip-nodes-with-local-storage=false',
    '--skip-nodes-with-system-pods=false',
    // A GPU node is expensive: give it back after ten idle minutes (the default too, said here on purpose).
    '--scale-down-unneeded-time=10m',
    '--v=2',
  ];
  const objects: KubeObject[] = [...rbac()];
  if (priorities) {
    const text = Object.entries(priorities)
      .sort(([a], [b]) => Number(b) - Number(a))
      .map(([priority, patterns]) => `${priority}:\n${patterns.map((p) => `  - ${JSON.stringify(p)}`).join('\n')}`)
      .join('\n');
    objects.push({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'cluster-autoscaler-priority-expander', namespace: NAMESPACE, labels: LABELS },
      data: { priorities: `${text}\n` },
    });
  }
  objects.push({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: NAME, namespace: NAMESPACE, labels: LABELS },
    spec: {
      replicas: 1,
      selector: { matchLabels: { 'app.kubernetes.io/name': NAME } },
      template: {
        metadata: { labels: LABELS, annotations: { 'cluster-autoscaler.kubernetes.io/safe-to-evict': 'false' } },
        spec: {
          serviceAccountName: CLUSTER_AUTOSCALER_SERVICE_ACCOUNT.name,
          priorityClassName: 'system-cluster-critical',
          nodeSelector: { ...nodeSelectors.system },
          securityContext: { runAsNonRoot: true, runAsUser: 65534, fsGroup: 65534, seccompProfile: { type: 'RuntimeDefault' } },
          containers: [{
            name: NAME,
            image: options.image ?? clusterAutoscalerImage(config.kubernetesVersion),
            command: ['./cluster-autoscaler', ...args],
            env: [{ name: 'AWS_REGION', value: config.region }],
            resources: { requests: { cpu: '100m', memory: '300Mi' }, limits: { memory: '600Mi' } },
            securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
          }],
        },
      },
    },
  });
  return objects;
}

/** Objects as kind/name, as `cluster up --cloud` names what it applies (and its plan, what it would). */
export function objectNames(objects: readonly KubeObject[]): string[] {
  return objects.map((o) => `${o.kind}/${o.metadata.name}`);
}

/**
 * Applies the autoscaler's objects to the cluster (server-side, as cortex applies everything), after
 * `eksctl create cluster` has made its ServiceAccount; returns them as kind/name.
 */
export async function installClusterAutoscaler(kc: KubeConfig, config: ClusterConfig, options: { dryRun?: boolean } = {}): Promise<string[]> {
  const objects = renderClusterAutoscaler(config);
  await new ClusterClient(kc).apply(objects as unknown as RenderedObject[], options);
  return objectNames(objects);
}

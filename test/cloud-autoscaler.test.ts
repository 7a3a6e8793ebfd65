// The cluster autoscaler's objects for EKS: auto-discovery by the tags the node groups carry, the
// priority expander when spot has on-demand backups, the image of the cluster's Kubernetes minor;
// and the real kind cluster's API server accepts every object (a server-side dry run: nothing is created).
import test from 'ava';
import { parseClusterConfig } from '../src/cloud/cluster-config.js';
import { clusterAutoscalerImage, expanderPriorities, installClusterAutoscaler, renderClusterAutoscaler, type KubeObject } from '../src/cloud/cluster-autoscaler.js';
import { kindTest, kubeConfig } from './helpers/kind.js';

const config = (...rows: string[]) => parseClusterConfig(`${rows.join('\n')}\n`, 'cluster.yaml');
type Container = { image: string; command: string[]; env: Array<{ name: string; value: string }> };
const deployment = (objects: KubeObject[]) => objects.find((o) => o.kind === 'Deployment') as KubeObject & { spec: { template: { spec: { containers: Container[]; serviceAccountName: string; nodeSelector: Record<string, string> } } } };

test('the autoscaler finds the node groups by their tags and runs on the system group as eksctl\'s IRSA ServiceAccount', (t) => {
  const objects = renderClusterAutoscaler(config('cluster_name: vision', 'region: eu-west-1', 'gpu_instance_type: g4dn.xlarge'));
  t.deepEqual(objects.map((o) => `${o.kind}/${o.metadata.name}`), [
    'ClusterRole/cluster-autoscaler', 'Role/cluster-autoscaler', 'ClusterRoleBinding/cluster-autoscaler', 'RoleBinding/cluster-autoscaler', 'Deployment/cluster-autoscaler',
  ]);
  t.false(objects.some((o) => o.kind === 'ServiceAccount'), 'eksctl creates it, annotated with the IAM role');
  const pod = deployment(objects).spec.template.spec;
  t.is(pod.serviceAccountName, 'cluster-autoscaler');
  t.deepEqual(pod.nodeSelector, { 'cortex.dev/system-pods': 'true' });
  const [container] = pod.containers;
  t.is(container?.image, 'registry.k8s.io/autoscaling/cluster-autoscaler:v1.32.5');
  t.true(container?.command.includes('--node-group-auto-discovery=asg:tag=k8s.io/cluster-autoscaler/enabled,k8s.io/cluster-autoscaler/vision'));
  t.true(container?.command.includes('--expander=least-waste'));
  t.deepEqual(container?.env, [{ name: 'AWS_REGION', value: 'eu-west-1' }]);
});

const expanders: Array<[string, string[], Record<number, string[]> | undefined]> = [
  ['on-demand only', [], undefined],
  ['spot without backups', ['spot: true', 'spot_config: { on_demand_backup: false }'], undefined],
  ['spot with backups', ['spot: true'], { 50: ['^eks-(cpu|gpu)-[0-9a-f]{8}-'], 10: ['^eks-(cpu|gpu)-on-demand-'], 1: ['.*'] }],
];
for (const [name, rows, expected] of expanders) {
  test(`expander priorities: ${name}`, (t) => {
    t.deepEqual(expanderPriorities(config(...rows)), expected);
  });
}

test('spot with on-demand backups: the priority expander prefers the spot groups', (t) => {
  const objects = renderClusterAutoscaler(config('spot: true'));
  const priorities = objects.find((o) => o.kind === 'ConfigMap') as KubeObject & { data: { priorities: string } };
  t.is(priorities.metadata.name, 'cluster-autoscaler-priority-expander');
  t.is(priorities.data.priorities, '50:\n  - "^eks-(cpu|gpu)-[0-9a-f]{8}-"\n10:\n  - "^eks-(cpu|gpu)-on-demand-"\n1:\n  - ".*"\n');
  t.true(deployment(objects).spec.template.spec.containers[0]?.command.includes('--expander=priority,least-waste'));
  // The patterns tell EKS's Auto Scaling group names apart.
  const spot = new RegExp(expanderPriorities(config('spot: true'))![50]![0]!);
  const backup = new RegExp(expanderPriorities(config('spot: true'))![10]![0]!);
  t.true(spot.test('eks-gpu-6ac5e3b2-91f0-4f11-8d0e-6f6a0c0c2a11'));
  t.false(spot.test('eks-gpu-on-demand-0cc5e3b2-91f0-4f11-8d0e-6f6a0c0c2a11'));
  t.true(backup.test('eks-gpu-on-demand-0cc5e3b2-91f0-4f11-8d0e-6f6a0c0c2a11'));
});

test('the autoscaler image follows the Kubernetes minor', (t) => {
  t.is(clusterAutoscalerImage('1.33'), 'registry.k8s.io/autoscaling/cluster-autoscaler:v1.33.5');
  t.is(clusterAutoscalerImage('1.31'), 'registry.k8s.io/autoscaling/cluster-autoscaler:v1.31.0');
});

kindTest('the API server accepts every autoscaler object as cluster up --cloud applies them (server-side apply, dry run, on the kind cluster)', async (t) => {
  const applied = await installClusterAutoscaler(kubeConfig(), config('spot: true', 'gpu_instance_type: g4dn.xlarge'), { dryRun: true });
  t.deepEqual(applied, renderClusterAutoscaler(config('spot: true', 'gpu_instance_type: g4dn.xlarge')).map((o) => `${o.kind}/${o.metadata.name}`));
  t.true(applied.includes('Deployment/cluster-autoscaler'), applied.join(', '));
});

// Where a rollout stands and what a deploy does to an api, from objects alone: table tests of the
// pure parts of `cortex deploy --cloud` (src/kube/rollout.ts, deploy.ts's apiAction) and of the
// status model read from a cluster (src/kube/cluster-status.ts).
import test from 'ava';
import type { V1ConfigMap, V1Deployment, V1Pod, V1PodStatus, V1Service } from '@kubernetes/client-node';
import { apiFactsOf, gatewayUrl, loadBalancerAddress, pendingGateway } from '../src/kube/cluster-status.js';
import { apiAction, canonicalJson, type ActionFacts } from '../src/kube/deploy.js';
import { describeRollouts, podProblem, rolloutOf, rolloutTimeout } from '../src/kube/rollout.js';
import { buildSnapshot } from '../src/model/snapshot.js';

const apiLabels = { 'app.kubernetes.io/managed-by': 'cortex', 'cortex.dev/component': 'api', 'cortex.dev/deployment': 'image', 'cortex.dev/api': 'classifier' };
const autoscaling = JSON.stringify({ minReplicas: 1, maxReplicas: 4, initReplicas: 2, targetReplicaConcurrency: 2, maxReplicaConcurrency: 1024, windowMs: 60000, downscaleStabilizationMs: 300000, upscaleStabilizationMs: 60000, maxDownscaleFactor: 0.75, maxUpscaleFactor: 1.5, downscaleTolerance: 0.05, upscaleTolerance: 0.05 });

function deployment(o: { replicas?: number; decided?: boolean; generation?: number; observed?: number; updated?: number; total?: number; available?: number } = {}): V1Deployment {
  return {
    metadata: {
      name: 'image-classifier',
      namespace: 'cortex',
      generation: o.generation ?? 1,
      labels: apiLabels,
      annotations: {
        'cortex.dev/endpoint': '/image/classifier',
        'cortex.dev/autoscaling': autoscaling,
        ...(o.decided === false ? {} : { 'cortex.dev/autoscaler-decision': JSON.stringify({ decision: 'init_replicas 2', at: '2025-01-01T00:00:00.000Z' }) }),
      },
      creationTimestamp: new Date('2025-01-01T00:00:00Z'),
    },
    spec: { replicas: o.replicas ?? 2, selector: { matchLabels: apiLabels }, template: { metadata: { labels: apiLabels }, spec: { containers: [{ name: 'api', image: 'x' }] } } },
    status: { observedGeneration: o.observed ?? o.generation ?? 1, updatedReplicas: o.updated ?? 2, replicas: o.total ?? o.updated ?? 2, availableReplicas: o.available ?? 2, readyReplicas: o.available ?? 2 },
  };
}

const ready: V1PodStatus = { conditions: [{ type: 'PodScheduled', status: 'True' }, { type: 'Ready', status: 'True' }], containerStatuses: [{ name: 'api', image: 'x', imageID: '', ready: true, restartCount: 0, state: { running: {} } }], podIP: '10.0.0.5', startTime: new Date('2025-01-01T00:01:00Z') };

function pod(name: string, status: V1PodStatus = ready, deleting = false): V1Pod {
  return { metadata: { name, namespace: 'cortex', labels: apiLabels, ...(deleting ? { deletionTimestamp: new Date() } : {}) }, status };
}

const waiting = (reason: string, message?: string, extra: Partial<NonNullable<V1PodStatus['containerStatuses']>[number]> = {}): V1PodStatus => ({
  conditions: [{ type: 'PodScheduled', status: 'True' }, { type: 'Ready', status: 'False' }],
  containerStatuses: [{ name: 'api', image: 'x', imageID: '', ready: false, restartCount: 0, state: { waiting: { reason, ...(message ? { message } : {}) } }, ...extra }],
});

const problems: Array<[string, V1PodStatus, ReturnType<typeof podProblem>]> = [
  ['a ready pod has none', ready, undefined],
  ['a pod still creating its container has none', waiting('ContainerCreating'), undefined],
  [
    'unschedulable, in the scheduler\'s words',
    { conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/1 nodes are available: 1 Insufficient nvidia.com/gpu.' }] },
    { pod: 'p', reason: 'Unschedulable', message: '0/1 nodes are available: 1 Insufficient nvidia.com/gpu.' },
  ],
  ['an image that cannot be pulled', waiting('ImagePullBackOff', 'Back-off pulling image "x"'), { pod: 'p', reason: 'ImagePullBackOff', message: 'Back-off pulling image "x"' }],
  [
    'a crash loop says how the last run ended',
    waiting('CrashLoopBackOff', 'back-off 10s', { restartCount: 3, lastState: { terminated: { exitCode: 137, reason: 'OOMKilled' } } }),
    { pod: 'p', reason: 'CrashLoopBackOff', message: 'last exit 137 (OOMKilled)' },
  ],
  ['a missing Secret', waiting('CreateContainerConfigError', 'secret "cortex-admin" not found'), { pod: 'p', reason: 'CreateContainerConfigError', message: 'secret "cortex-admin" not found' }],
  [
    'running again after restarts, not ready yet',
    { conditions: [{ type: 'Ready', status: 'False' }], containerStatuses: [{ name: 'api', image: 'x', imageID: '', ready: false, restartCount: 2, state: { running: {} }, lastState: { terminated: { exitCode: 1, reason: 'Error' } } }] },
    { pod: 'p', reason: 'Restarting', message: '2 restarts, last Error' },
  ],
  ['running for the first time, not ready yet: the pod itself says why (readyz), not the cluster', { conditions: [{ type: 'Ready', status: 'False' }], containerStatuses: [{ name: 'api', image: 'x', imageID: '', ready: false, restartCount: 0, state: { running: {} } }] }, undefined],
];
for (const [title, status, want] of problems) test(`podProblem: ${title}`, (t) => t.deepEqual(podProblem(pod('p', status)), want));

test('podProblem: a terminating pod is on its way out, not a problem', (t) => {
  t.is(podProblem(pod('p', waiting('ImagePullBackOff'), true)), undefined);
});

const rollouts: Array<[string, V1Deployment, V1Pod[], number | undefined, { done: boolean; requested: number; ready: number; old?: number; awaitingAutoscaler?: boolean }]> = [
  ['done: every pod of the new template ready', deployment(), [pod('a'), pod('b')], 2, { done: true, requested: 2, ready: 2 }],
  ['not done: the API server has not seen the new generation yet', deployment({ generation: 2, observed: 1 }), [pod('a'), pod('b')], 2, { done: false, requested: 2, ready: 2 }],
  ['not done: one of two new pods ready', deployment({ updated: 2, total: 2, available: 1 }), [pod('a'), pod('b', waiting('ContainerCreating'))], 2, { done: false, requested: 2, ready: 1 }],
  ['not done: one new pod of two, an old one still serving', deployment({ updated: 1, total: 2, available: 1 }), [pod('old'), pod('b', waiting('ContainerCreating'))], 2, { done: false, requested: 2, ready: 1, old: 1 }],
  ['not done: an old pod still runs', deployment({ updated: 2, total: 3, available: 2 }), [pod('a'), pod('b'), pod('old')], 2, { done: false, requested: 2, ready: 3, old: 1 }],
  [
    'not done: a new api the autoscaler has not set yet asks for init_replicas',
    deployment({ replicas: 1, decided: false, updated: 1, total: 1, available: 1 }),
    [pod('a')],
    2,
    { done: false, requested: 2, ready: 1, awaitingAutoscaler: true },
  ],
  ['done: the autoscaler scaled it to 3', deployment({ replicas: 3, updated: 3, total: 3, available: 3 }), [pod('a'), pod('b'), pod('c')], 2, { done: true, requested: 3, ready: 3 }],
  ['a component asks for its own replicas (no autoscaler)', { ...deployment({ replicas: 1, decided: false, updated: 1, total: 1, available: 1 }), metadata: { name: 'cortex-gateway', generation: 1, labels: { 'cortex.dev/component': 'gateway' } } }, [pod('g')], undefined, { done: true, requested: 1, ready: 1 }],
  ['a terminating pod is not counted ready', deployment({ updated: 2, total: 2, available: 1 }), [pod('a'), pod('b', ready, true)], 2, { done: false, requested: 2, ready: 1 }],
];
for (const [title, d, pods, init, want] of rollouts) {
  test(`rolloutOf: ${title}`, (t) => {
    const r = rolloutOf(d, pods, init);
    t.like(r, { done: want.done, requested: want.requested, ready: want.ready, old: want.old ?? 0, awaitingAutoscaler: want.awaitingAutoscaler ?? false });
  });
}

test('describeRollouts: counts per api, then each pod that holds it up', (t) => {
  const stuck = pod('image-classifier-7d9-x', { conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/3 nodes are available: 3 Insufficient nvidia.com/gpu.' }] });
  const r = rolloutOf(deployment({ updated: 2, total: 2, available: 1 }), [pod('image-classifier-7d9-a'), stuck], 2);
  const g = rolloutOf({ ...deployment({ replicas: 1, updated: 1, total: 1, available: 1 }), metadata: { name: 'cortex-gateway', labels: { 'cortex.dev/component': 'gateway' } } }, [pod('g')]);
  t.is(describeRollouts([g, r]), 'gateway 1/1 ready, classifier 1/2 ready; pod image-classifier-7d9-x: Unschedulable: 0/3 nodes are available: 3 Insufficient nvidia.com/gpu.');
  t.is(
    rolloutTimeout([g, r], 600),
    'the rollout did not finish within 600 s: classifier 1/2 ready (image-classifier-7d9-x: Unschedulable: 0/3 nodes are available: 3 Insufficient nvidia.com/gpu.)',
  );
});

test('rolloutTimeout: a pod the cluster names no problem for is named with its own word from /readyz; a new api waits for the autoscaler', (t) => {
  const r = rolloutOf(deployment({ replicas: 1, decided: false, updated: 1, total: 1, available: 0 }), [pod('image-classifier-5-a', { conditions: [{ type: 'Ready', status: 'False' }], containerStatuses: [{ name: 'api', image: 'x', imageID: '', ready: false, restartCount: 0, state: { running: {} } }] })], 1);
  t.is(
    rolloutTimeout([r], 60, new Map([['image-classifier-5-a', 'not ready: init failed: Error: no model at https://…/m.onnx'], ['other-api-1-b', 'not ready: elsewhere']])),
    'the rollout did not finish within 60 s: classifier 0/1 ready, its replicas not yet set by the autoscaler (see the cortex-autoscaler pod) (image-classifier-5-a: not ready: init failed: Error: no model at https://…/m.onnx)',
  );
});

const actions: Array<[string, ActionFacts, ReturnType<typeof apiAction>]> = [
  ['a new api is created', { exists: false, templateChanged: false, liveVersion: undefined, version: 'v2' }, 'create'],
  ['a changed pod template (compute, image, env) rolls out new pods', { exists: true, templateChanged: true, liveVersion: 'v1', version: 'v2' }, 'rollout'],
  ['the template changed and the predictor did not: still a rollout', { exists: true, templateChanged: true, liveVersion: 'v2', version: 'v2' }, 'rollout'],
  ['only the predictor changed: a hot swap into the running pods', { exists: true, templateChanged: false, liveVersion: 'v1', version: 'v2' }, 'hot-swap'],
  ['no ConfigMap version to compare: a hot swap puts it back', { exists: true, templateChanged: false, liveVersion: undefined, version: 'v2' }, 'hot-swap'],
  ['nothing changed', { exists: true, templateChanged: false, liveVersion: 'v2', version: 'v2' }, 'unchanged'],
];
for (const [title, facts, want] of actions) test(`apiAction: ${title}`, (t) => t.is(apiAction(facts), want));

test('canonicalJson: key order and undefined do not make two decodings of one template differ', (t) => {
  t.is(canonicalJson({ b: 1, a: { d: undefined, c: [2, { y: 1, x: 2 }] } }), canonicalJson({ a: { c: [2, { x: 2, y: 1 }] }, b: 1 }));
  t.not(canonicalJson({ a: [1, 2] }), canonicalJson({ a: [2, 1] }));
});

test('the gateway URL: the load balancer\'s hostname or IP, a placeholder until it has one', (t) => {
  const service = (ingress: Array<{ hostname?: string; ip?: string }> | undefined, port = 80): V1Service => ({ spec: { ports: [{ port }] }, status: { loadBalancer: { ...(ingress ? { ingress } : {}) } } });
  t.is(gatewayUrl(service([{ hostname: 'a1b2-123.elb.us-east-1.amazonaws.com' }])), 'http://a1b2-123.elb.us-east-1.amazonaws.com');
  t.is(gatewayUrl(service([{ ip: '203.0.113.7' }], 8888)), 'http://203.0.113.7:8888');
  t.is(loadBalancerAddress(service(undefined)), undefined);
  t.is(gatewayUrl(service(undefined)), pendingGateway);
  t.is(gatewayUrl(undefined), pendingGateway);
});

test('apiFactsOf: pods are replicas, the Deployment\'s replicas what was requested, the decision the autoscaler\'s, the ConfigMap the version', (t) => {
  const configMap: V1ConfigMap = {
    metadata: { name: 'image-classifier-bundle', annotations: { 'cortex.dev/predictor-version': 'v2' }, managedFields: [{ manager: 'cortex', time: new Date('2025-01-02T00:00:00Z') }, { manager: 'kubectl', time: new Date('2025-01-03T00:00:00Z') }] },
  };
  const crashing = pod('image-classifier-1-c', waiting('CrashLoopBackOff', undefined, { restartCount: 4 }));
  const facts = apiFactsOf({ deployment: deployment({ replicas: 3 }), pods: [pod('image-classifier-1-a'), pod('image-classifier-1-b'), crashing], configMap }, new Map([['image-classifier-1-a', 'v2'], ['image-classifier-1-b', 'v1']]));
  t.deepEqual(facts.spec, { name: 'classifier', deployment: 'image', networking: { endpoint: '/image/classifier' }, autoscaling: { minReplicas: 1 } });
  t.is(facts.version, 'v2');
  t.is(facts.requested, 3);
  t.deepEqual(facts.autoscaler, { decision: 'init_replicas 2', at: '2025-01-01T00:00:00.000Z' });
  t.deepEqual(facts.updatedAt, new Date('2025-01-02T00:00:00Z'), "cortex's own last write");
  t.deepEqual(facts.replicas.map((r) => [r.id, r.status, r.version]), [['image-classifier-1-a', 'ready', 'v2'], ['image-classifier-1-b', 'ready', 'v1'], ['image-classifier-1-c', 'error', undefined]]);

  const snapshot = buildSnapshot({
    pid: 0,
    dir: '',
    backend: { name: 'eks', description: 'EKS cluster "cortex" in us-east-1' },
    gateway: 'http://lb.example',
    startedAt: new Date(0),
    specError: null,
    apis: [facts],
    figures: () => ({ inFlight: 0, requests: 0, p50Ms: null }),
  });
  const api = snapshot.apis[0]!;
  t.like(api, { name: 'classifier', endpoint: 'http://lb.example/image/classifier', requested: 3, available: 2, upToDate: 1, status: 'error' });

  // A new api the autoscaler has not set: init_replicas is what was asked for, not the API server's default of 1.
  const fresh = apiFactsOf({ deployment: deployment({ replicas: 1, decided: false }), pods: [], configMap: undefined }, new Map());
  t.is(fresh.requested, 2);
  t.is(fresh.autoscaler, null);
  t.is(fresh.version, '');
});

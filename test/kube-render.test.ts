// The Kubernetes renderer is a pure function of the spec: tested with tables, no cluster.
import { gunzipSync } from 'node:zlib';
import type { V1ConfigMap, V1Deployment, V1Service } from '@kubernetes/client-node';
import test from 'ava';
import type { PredictorBundle } from '../src/model/backend.js';
import { apiObjectName, bundleConfigMapName } from '../src/kube/names.js';
import { profiles, render, RenderError, type KubeObject, type Profile } from '../src/kube/render.js';
import { parseSpec, type Spec } from '../src/spec/index.js';

const yaml = (api: string) => `- kind: deployment\n  name: image\n- kind: api\n  name: classifier\n  predictor:\n    path: predictor.ts\n    config: { model: m.onnx }\n${api}`;
const spec = (api = '') => parseSpec(yaml(api), '/project/cortex.yaml');
const withEnv = (env: string) => parseSpec(yaml('').replace('config: { model: m.onnx }', `config: { model: m.onnx }\n    env: { ${env} }`), '/project/cortex.yaml');
const bundle: PredictorBundle = { code: 'export function predict() { return "hot dog"; }', config: { model: 'm.onnx' }, version: 'abc123' };
const bundles = new Map([['classifier', bundle]]);

function find<T extends KubeObject>(objects: KubeObject[], kind: string, name: string): T {
  const found = objects.find((o) => o.kind === kind && o.metadata?.name === name);
  if (!found) throw new Error(`no ${kind} ${name} in ${objects.map((o) => `${o.kind}/${o.metadata?.name}`).join(', ')}`);
  return found as T;
}

function rendered(s: Spec, profile: Profile, gpuImage?: string) {
  const objects = render({ spec: s, image: 'cortex-runtime:1', ...(gpuImage ? { gpuImage } : {}), bundles, profile, adminToken: 't0ken' });
  const deployment = find<V1Deployment>(objects, 'Deployment', 'image-classifier');
  const container = deployment.spec!.template.spec!.containers[0]!;
  const env = Object.fromEntries(container.env!.map((e) => [e.name, e.value ?? e.valueFrom]));
  return { objects, deployment, container, env, pod: deployment.spec!.template.spec! };
}

test('every object is labelled, namespaced in cortex, and the set is what DESIGN.md lists', (t) => {
  const { objects } = rendered(spec(), profiles.kind());
  t.deepEqual(
    objects.map((o) => `${o.kind}/${o.metadata!.name}`),
    [
      'Namespace/cortex',
      'Secret/cortex-admin',
      'ServiceAccount/cortex-gateway',
      'Role/cortex-gateway',
      'RoleBinding/cortex-gateway',
      'ServiceAccount/cortex-autoscaler',
      'Role/cortex-autoscaler',
      'RoleBinding/cortex-autoscaler',
      'Deployment/cortex-gateway',
      'Service/cortex-gateway',
      'Deployment/cortex-autoscaler',
      'ConfigMap/image-classifier-bundle',
      'Deployment/image-classifier',
      'Service/image-classifier',
    ],
  );
  for (const o of objects) {
    t.is(o.metadata!.labels!['app.kubernetes.io/managed-by'], 'cortex', `${o.kind}/${o.metadata!.name}`);
    if (o.kind !== 'Namespace') t.is(o.metadata!.namespace, 'cortex');
  }
  for (const o of objects.slice(-3)) t.like(o.metadata!.labels, { 'cortex.dev/deployment': 'image', 'cortex.dev/api': 'classifier' });
});

// EKS reserves compute.cpu on a node, as Cortex does; kind shares the machine's cores as the
// docker backend does: the cpu is a limit, a tenth of it requested.
const computeCases: Array<[title: string, api: string, profile: 'kind' | 'eks', requests: Record<string, string>, limits: Record<string, string> | undefined]> = [
  ['Cortex defaults', '', 'eks', { cpu: '200m' }, undefined],
  ['cpu and mem', '  compute: { cpu: 1, mem: 1Gi }\n', 'eks', { cpu: '1000m', memory: String(2 ** 30) }, { memory: String(2 ** 30) }],
  ['millicores', '  compute: { cpu: 250m, mem: 200Mi }\n', 'eks', { cpu: '250m', memory: String(200 * 2 ** 20) }, { memory: String(200 * 2 ** 20) }],
  ['Cortex defaults', '', 'kind', { cpu: '20m' }, { cpu: '200m' }],
  ['cpu and mem', '  compute: { cpu: 1, mem: 1Gi }\n', 'kind', { cpu: '100m', memory: String(2 ** 30) }, { cpu: '1000m', memory: String(2 ** 30) }],
  ['a sliver of a core', '  compute: { cpu: 5m }\n', 'kind', { cpu: '1m' }, { cpu: '5m' }],
];
for (const [title, api, profile, requests, limits] of computeCases) {
  test(`compute → requests and limits on ${profile}: ${title}`, (t) => {
    const { container } = rendered(spec(api), profiles[profile]());
    t.deepEqual(container.resources, { requests, ...(limits ? { limits } : {}) });
  });
}

test('the api Deployment: probes, drain, rolling update, no replicas (the autoscaler writes those)', (t) => {
  const { deployment, container, pod } = rendered(spec('  update_strategy: { max_surge: 1, max_unavailable: 0 }\n'), profiles.kind());
  t.is(deployment.spec!.replicas, undefined);
  t.deepEqual(deployment.spec!.strategy, { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } });
  t.like(container.readinessProbe, { httpGet: { path: '/readyz', port: 'http' } });
  t.like(container.livenessProbe, { httpGet: { path: '/healthz', port: 'http' } });
  t.deepEqual(pod.securityContext, { runAsNonRoot: true });
  t.is(container.image, 'cortex-runtime:1');
});

// The grace is the runtime's drain deadline (CORTEX_DRAIN_TIMEOUT_MS in predictor.env, else 30 s)
// and 5 s to exit after it, so the kubelet's SIGKILL never cuts a drain short.
const graceCases: Array<[drain: string | undefined, grace: number]> = [
  [undefined, 35],
  ['30000', 35],
  ['120000', 125],
  ['2500', 8],
  ['1', 6],
];
for (const [drain, grace] of graceCases) {
  test(`termination grace for CORTEX_DRAIN_TIMEOUT_MS=${drain ?? '(unset)'}: ${grace} s, on both profiles`, (t) => {
    const s = drain === undefined ? spec() : withEnv(`CORTEX_DRAIN_TIMEOUT_MS: "${drain}"`);
    for (const profile of [profiles.kind(), profiles.eks()]) {
      const { pod, env } = rendered(s, profile);
      t.is(pod.terminationGracePeriodSeconds, grace, profile.name);
      t.is(env.CORTEX_DRAIN_TIMEOUT_MS, drain, 'the pod drains for what its grace allows');
    }
  });
}

test('a CORTEX_DRAIN_TIMEOUT_MS the runtime would refuse is an error naming the api, not a pod that crashes', (t) => {
  t.throws(() => rendered(withEnv('CORTEX_DRAIN_TIMEOUT_MS: "30s"'), profiles.kind()), { instanceOf: RenderError, message: 'api "classifier": predictor.env: CORTEX_DRAIN_TIMEOUT_MS must be an integer ≥ 1, got "30s"' });
});

test('autoscaling and the endpoint travel as annotations for the in-cluster autoscaler and gateway', (t) => {
  const s = spec('  autoscaling: { min_replicas: 2, max_replicas: 5, target_replica_concurrency: 3, window: 30s }\n');
  const { deployment } = rendered(s, profiles.kind());
  t.deepEqual(JSON.parse(deployment.metadata!.annotations!['cortex.dev/autoscaling']!), s.apis[0]!.autoscaling);
  t.is(deployment.metadata!.annotations!['cortex.dev/endpoint'], '/image/classifier');
});

test('the runtime settings: bundle file from the ConfigMap, token from the Secret, predictor.env, max concurrency', (t) => {
  const { env, objects } = rendered(spec('  autoscaling: { max_replica_concurrency: 64 }\n'), profiles.kind());
  t.like(env, { CORTEX_API: 'classifier', CORTEX_DEPLOYMENT: 'image', CORTEX_MAX_CONCURRENCY: '64', PORT: '8080', CORTEX_PREDICTOR_BUNDLE: '/cortex/bundle/bundle.json.gz', CORTEX_CACHE_DIR: '/cortex/cache' });
  t.deepEqual(env.CORTEX_ADMIN_TOKEN, { secretKeyRef: { name: 'cortex-admin', key: 'token' } });
  t.false('CORTEX_PREDICTOR_CONFIG' in env, 'the config travels in the bundle file');
  t.false('CORTEX_EXECUTION_PROVIDERS' in env);
  t.false('CORTEX_FETCH_ADDRESSES' in env, 'pods keep the runtime\'s safe default: public addresses only');
  t.deepEqual((find(objects, 'Secret', 'cortex-admin') as { stringData?: object }).stringData, { token: 't0ken' });
  const map = find<V1ConfigMap>(objects, 'ConfigMap', 'image-classifier-bundle');
  t.is(map.metadata!.annotations!['cortex.dev/predictor-version'], 'abc123');
  t.deepEqual(JSON.parse(gunzipSync(Buffer.from(map.binaryData!['bundle.json.gz']!, 'base64')).toString()), { code: bundle.code, config: bundle.config });
});

test('predictor.env reaches the pod, a fetch policy the api sets included', (t) => {
  const s = withEnv('LOG_STYLE: short, CORTEX_FETCH_ADDRESSES: any');
  t.like(rendered(s, profiles.kind()).env, { LOG_STYLE: 'short', CORTEX_FETCH_ADDRESSES: 'any' });
});

test('kind: the gateway is the NodePort the cluster maps to :8888; mirror and cache are node folders', (t) => {
  const { objects, env, pod } = rendered(spec(), profiles.kind({ mirrorPath: '/cortex/models', cachePath: '/cortex/cache' }));
  const gateway = find<V1Service>(objects, 'Service', 'cortex-gateway');
  t.like(gateway.spec, { type: 'NodePort', ports: [{ port: 8888, nodePort: 30888 }] });
  t.is(env.CORTEX_MODEL_MIRROR, '/cortex/mirror');
  t.deepEqual(
    pod.volumes!.map((v) => [v.name, v.hostPath?.path ?? v.configMap?.name ?? 'emptyDir']),
    [
      ['bundle', 'image-classifier-bundle'],
      ['mirror', '/cortex/models'],
      ['cache', '/cortex/cache'],
    ],
  );
});

test('eks: a LoadBalancer gateway, and a GPU api gets its GPU, toleration, node selector, CUDA image and providers', (t) => {
  const { objects, container, pod, env } = rendered(spec('  compute: { cpu: 1, mem: 2Gi, gpu: 1 }\n'), profiles.eks(), 'cortex-runtime-cuda:1');
  t.like(find<V1Service>(objects, 'Service', 'cortex-gateway').spec, { type: 'LoadBalancer', ports: [{ port: 80 }] });
  t.is(container.resources!.limits!['nvidia.com/gpu'], '1');
  t.is(container.image, 'cortex-runtime-cuda:1');
  t.deepEqual(pod.tolerations, [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }]);
  t.deepEqual(pod.nodeSelector, { 'nvidia.com/gpu': 'true' });
  t.is(env.CORTEX_EXECUTION_PROVIDERS, 'cuda,cpu');
  t.deepEqual(pod.volumes!.find((v) => v.name === 'cache'), { name: 'cache', emptyDir: {} });
});

// Where pods may run: on EKS each kind of pod is pinned to its node group by that group's label
// (src/kube/names.ts nodeSelectors, which src/cloud/eksctl-config.ts puts on the groups); kind has
// one node, so nothing is pinned there, a GPU api included (kind asks for no GPU).
const placements: Array<[profile: 'kind' | 'eks', object: string, api: string, nodeSelector: Record<string, string> | undefined]> = [
  ['eks', 'Deployment/cortex-gateway', '', { 'cortex.dev/system-pods': 'true' }],
  ['eks', 'Deployment/cortex-autoscaler', '', { 'cortex.dev/system-pods': 'true' }],
  ['eks', 'Deployment/image-classifier', '', { 'cortex.dev/cpu-apis': 'true' }],
  ['eks', 'Deployment/image-classifier', '  compute: { gpu: 1 }\n', { 'nvidia.com/gpu': 'true' }],
  ['kind', 'Deployment/cortex-gateway', '', undefined],
  ['kind', 'Deployment/cortex-autoscaler', '', undefined],
  ['kind', 'Deployment/image-classifier', '', undefined],
  ['kind', 'Deployment/image-classifier', '  compute: { gpu: 1 }\n', undefined],
];
for (const [profile, object, api, nodeSelector] of placements) {
  test(`${profile}: ${object}${api ? ` (${api.trim()})` : ''} runs on ${nodeSelector ? JSON.stringify(nodeSelector) : 'any node'}`, (t) => {
    const { objects } = rendered(spec(api), profiles[profile](), 'cortex-runtime-cuda:1');
    const pod = find<V1Deployment>(objects, 'Deployment', object.split('/')[1]!).spec!.template.spec!;
    t.deepEqual(pod.nodeSelector, nodeSelector);
    t.is(pod.tolerations === undefined, !(api && profile === 'eks'), 'only a GPU api on eks tolerates the GPU taint');
  });
}

test("eks: the gateway Service carries cluster.yaml's load balancer annotations; kind's has none", (t) => {
  const nlb = { 'service.beta.kubernetes.io/aws-load-balancer-type': 'nlb', 'service.beta.kubernetes.io/aws-load-balancer-internal': 'true' };
  t.deepEqual(find<V1Service>(rendered(spec(), profiles.eks({ gatewayAnnotations: nlb })).objects, 'Service', 'cortex-gateway').metadata!.annotations, nlb);
  t.is(find<V1Service>(rendered(spec(), profiles.eks()).objects, 'Service', 'cortex-gateway').metadata!.annotations, undefined);
  t.is(find<V1Service>(rendered(spec(), profiles.kind()).objects, 'Service', 'cortex-gateway').metadata!.annotations, undefined);
});

test('kind leaves compute.gpu out, as the docker backend does', (t) => {
  const { container, pod } = rendered(spec('  compute: { gpu: 1 }\n'), profiles.kind());
  t.deepEqual(container.resources!.limits, { cpu: '200m' });
  t.is(pod.tolerations, undefined);
});

test('mistakes are errors that name the api and the fix', (t) => {
  t.throws(() => rendered(spec('  compute: { gpu: 1 }\n'), profiles.eks()), { instanceOf: RenderError, message: /api "classifier": compute\.gpu is 1, but no CUDA image/ });
  // Random text barely compresses: past a ConfigMap's 1 MiB the bundle is refused with its size.
  const huge = { ...bundle, code: Array.from({ length: 200_000 }, () => Math.random().toString(36)).join('') };
  t.throws(() => render({ spec: spec(), image: 'i', bundles: new Map([['classifier', huge]]), profile: profiles.kind(), adminToken: 't' }), {
    instanceOf: RenderError,
    message: /api "classifier": the predictor bundle is \d+ KiB compressed, over the 1024 KiB a ConfigMap holds/,
  });
});

test('names stay DNS labels of at most 63 characters, and distinct', (t) => {
  const cases: Array<[string, string]> = [
    ['image', 'classifier'],
    ['a'.repeat(40), 'b'.repeat(40)],
    ['a'.repeat(40), 'b'.repeat(39) + 'c'],
    ['d'.repeat(63), 'e'.repeat(63)],
  ];
  const names = new Set<string>();
  for (const [deployment, api] of cases) {
    for (const name of [apiObjectName(deployment, api), bundleConfigMapName(deployment, api)]) {
      t.true(name.length <= 63, name);
      t.regex(name, /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
      t.false(names.has(name), name);
      names.add(name);
    }
  }
  t.is(apiObjectName('image', 'classifier'), 'image-classifier');
});

test('server_side_batching reaches the pod as the runtime settings, and only when the spec has it', (t) => {
  const { env } = rendered(parseSpec(yaml('').replace('config: { model: m.onnx }', 'config: { model: m.onnx }\n    server_side_batching: { max_batch_size: 32, batch_interval: 10ms }'), '/project/cortex.yaml'), profiles.eks());
  t.like(env, { CORTEX_MAX_BATCH_SIZE: '32', CORTEX_BATCH_INTERVAL_MS: '10' });
  const without = rendered(spec(), profiles.kind()).env;
  t.false('CORTEX_MAX_BATCH_SIZE' in without);
  t.false('CORTEX_BATCH_INTERVAL_MS' in without);
});

// The in-cluster autoscaler on the real kind cluster, running from the real runtime image in its own
// namespace (only its objects: the gateway's NodePort is cluster-wide and others use it): a new api
// goes to init_replicas, a re-apply by the CLI keeps replicas and the decision, a raised
// min_replicas is clamped at once, and load scales an api up, the annotation and the log saying why.
import { AppsV1Api, CoreV1Api, PatchStrategy, setHeaderOptions, type V1Deployment } from '@kubernetes/client-node';
import { bundleVersion } from '../runtime/predictor-slot.js';
import type { PredictorBundle } from '../src/model/backend.js';
import { bundleOnce } from '../src/dev/bundler.js';
import { ensureRuntimeImage } from '../src/image/index.js';
import { ClusterClient } from '../src/kube/apply.js';
import { annotations, fieldManager } from '../src/kube/names.js';
import { decisionOf } from '../src/kube/observed.js';
import { profiles, renderApi, renderCluster, type RenderInput } from '../src/kube/render.js';
import { loadSpec, type ApiSpec, type Spec } from '../src/spec/index.js';
import { join } from 'node:path';
import { kindTest, kubeConfig, loadImage, nodeModelsDir, podProxy, until } from './helpers/kind.js';
import { exampleDir, fixtures } from './helpers/shared.js';

const namespace = `cortex-scaler-test-${process.pid}`;


async function bundleOf(api: ApiSpec): Promise<PredictorBundle> {
  const { code } = await bundleOnce(api.predictor.path);
  return { code, config: api.predictor.config, version: bundleVersion({ code, config: api.predictor.config }) };
}

kindTest('the in-cluster autoscaler: init_replicas, a re-apply keeps replicas, min_replicas raised is clamped at once, load scales up', async (t) => {
  // An image build and load, and pods starting on a shared 2-core machine.
  t.timeout(8 * 60_000);
  const started = Date.now();
  const kc = kubeConfig();
  const client = new ClusterClient(kc);
  const core = kc.makeApiClient(CoreV1Api);
  const apps = kc.makeApiClient(AppsV1Api);
  t.teardown(async () => {
    // Not waited for: nothing in this namespace holds anything cluster-wide.
    await core.deleteNamespace({ name: namespace }).catch(() => undefined);
  });

  const { tag: image } = await ensureRuntimeImage();
  const { items: nodes } = await core.listNode();
  const onNode = nodes.every((n) => n.status?.images?.some((i) => i.names?.some((name) => name.endsWith(`/${image}`) || name === image)));
  if (!onNode) await loadImage(image);
  t.log(`image ${image} ${onNode ? 'already on the node' : 'loaded'} after ${Math.round((Date.now() - started) / 1000)} s`);

  // The example classifier, started at 2 replicas; and a slow api of another cortex deployment, with
  // periods short enough to scale within seconds. Tiny CPU requests: the node's 2 cores are shared.
  const example = await loadSpec(exampleDir);
  const classifier: ApiSpec = { ...example.apis[0]!, compute: { ...example.apis[0]!.compute, cpu: 0.05 }, autoscaling: { ...example.apis[0]!.autoscaling, initReplicas: 2 } };
  const slowBase = (await loadSpec(join(fixtures, 'projects/slow'))).apis[0]!;
  const slow: ApiSpec = {
    ...slowBase,
    predictor: { ...slowBase.predictor, config: { ms: 3000 } },
    compute: { ...slowBase.compute, cpu: 0.05 },
    autoscaling: { ...slowBase.autoscaling, targetReplicaConcurrency: 1, windowMs: 4000, upscaleStabilizationMs: 0, downscaleStabilizationMs: 300_000 },
  };
  const spec: Spec = { ...example, apis: [classifier, slow] };
  const input: RenderInput = {
    spec,
    image,
    bundles: new Map([['classifier', await bundleOf(classifier)], ['slow', await bundleOf(slow)]]),
    profile: profiles.kind({ mirrorPath: nodeModelsDir }),
    namespace,
    adminToken: 'scaler-test-token',
  };
  const apiObjects = (s: Spec) => s.apis.flatMap((api) => renderApi({ ...input, spec: s }, api));
  const read = (name: string) => apps.readNamespacedDeployment({ name, namespace });

  // Only the autoscaler's objects (and the namespace and token), not the gateway's.
  const cluster = renderCluster(input).filter((o) => o.kind === 'Namespace' || o.kind === 'Secret' || o.metadata?.name === 'cortex-autoscaler');
  t.deepEqual(cluster.map((o) => o.kind), ['Namespace', 'Secret', 'ServiceAccount', 'Role', 'RoleBinding', 'Deployment']);
  await client.apply(cluster);
  await client.apply(apiObjects(spec));

  // (1) A new api goes to init_replicas and the decision is recorded. (Written through the scale
  // subresource, which this API server records in no managedFields entry: replicas have no owner.)
  const initialized = await until('image-classifier at init_replicas 2 with a decision', 120_000, async () => {
    const d = await read('image-classifier');
    return d.spec?.replicas === 2 && decisionOf(d) ? d : undefined;
  });
  t.is(decisionOf(initialized)?.decision, 'init_replicas 2');
  const managers = initialized.metadata?.managedFields ?? [];
  t.false(managers.some((f) => f.manager === fieldManager && JSON.stringify(f.fieldsV1).includes('"f:replicas"')), 'the CLI does not own replicas');
  t.log(`init_replicas after ${Math.round((Date.now() - started) / 1000)} s`);

  // (2) The CLI applying the same objects again removes neither replicas nor the decision.
  await client.apply(apiObjects(spec));
  const reapplied = await read('image-classifier');
  t.is(reapplied.spec?.replicas, 2, 'a re-apply keeps replicas');
  // The decision is there still (the loop may have recorded a newer one meanwhile, once the pods were ready).
  t.truthy(decisionOf(reapplied), 'a re-apply keeps the decision');
  t.true(
    reapplied.metadata?.managedFields?.some((f) => f.manager === 'cortex-autoscaler' && JSON.stringify(f.fieldsV1).includes(`"f:${annotations.decision}"`)),
    'the decision annotation is the autoscaler\'s field',
  );

  // min_replicas raised above current: clamped at once, not at the next 10 s decision.
  const raised: Spec = { ...spec, apis: [{ ...classifier, autoscaling: { ...classifier.autoscaling, minReplicas: 3, initReplicas: 3 } }, slow] };
  const appliedAt = Date.now();
  await client.apply(apiObjects(raised));
  // (The loop alone would not: its upscale stabilization holds for a minute from its start.)
  // Replicas go through the scale subresource and the decision through the Deployment: two writes,
  // so a read between them sees 3 replicas under the old decision. Wait for both.
  const clamped = await until('image-classifier clamped to 3, with its decision', 30_000, async () => {
    const d = await read('image-classifier');
    return d.spec?.replicas === 3 && decisionOf(d)?.decision !== 'init_replicas 2' ? d : undefined;
  });
  const clampMs = Date.now() - appliedAt;
  t.true(clampMs < 5000, `clamped ${clampMs} ms after the apply`);
  t.log(`clamped ${clampMs} ms after the apply`);
  // Recorded as a clamp, unless a decision of the loop's came right after it (the log below says so either way).
  const clampDecision = decisionOf(clamped)?.decision ?? '';
  if (!clampDecision.startsWith('avg in-flight')) t.is(clampDecision, 'clamped to min_replicas 3 (was 2)');

  // (3) Load: 6 requests always in flight on the slow api's one replica, target 1 → it scales up.
  const pod = await until('a Ready pod of test-slow', 180_000, async () => {
    const { items } = await core.listNamespacedPod({ namespace, labelSelector: 'cortex.dev/api=slow' });
    return items.find((p) => !p.metadata?.deletionTimestamp && p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
  });
  t.is((await read('test-slow')).spec?.replicas, 1);
  t.log(`test-slow ready after ${Math.round((Date.now() - started) / 1000)} s; loading it`);
  let loading = true;
  const body = Buffer.from('{}');
  const workers = Array.from({ length: 6 }, async () => {
    while (loading) await podProxy(kc, namespace, pod.metadata!.name!, 8080, '/', { method: 'POST', body, contentType: 'application/json' }).catch(() => undefined);
  });
  let scaledUp: V1Deployment;
  try {
    scaledUp = await until('test-slow scaled up under load', 60_000, async () => {
      const d = await read('test-slow');
      return (d.spec?.replicas ?? 1) >= 2 && /avg in-flight/.test(decisionOf(d)?.decision ?? '') ? d : undefined;
    });
  } finally {
    loading = false;
    await Promise.all(workers);
  }
  t.regex(decisionOf(scaledUp)!.decision, /^avg in-flight [\d.]+ \/ target 1 → \d+/);
  t.log(`test-slow: ${scaledUp.spec?.replicas} replicas: ${decisionOf(scaledUp)!.decision}`);

  // An unreadable annotation is logged and skipped; the autoscaler keeps running.
  await apps.patchNamespacedDeployment(
    { name: 'test-slow', namespace, body: { metadata: { annotations: { [annotations.autoscaling]: '{not json' } } } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
  const autoscalerPod = (await core.listNamespacedPod({ namespace, labelSelector: 'cortex.dev/component=autoscaler' })).items[0]!;
  const logs = await until('the unreadable annotation in the log', 30_000, async () => {
    const log = await core.readNamespacedPodLog({ name: autoscalerPod.metadata!.name!, namespace });
    return log.includes('test-slow: annotation cortex.dev/autoscaling is not JSON') ? log : undefined;
  });
  // `kubectl logs` says why each scaling happened.
  t.regex(logs, /image-classifier: scaled 1 → 2: init_replicas 2/);
  t.regex(logs, /image-classifier: scaled 2 → 3: clamped to min_replicas 3 \(was 2\)/);
  t.regex(logs, /test-slow: scaled 1 → \d+: avg in-flight/);
  t.log(logs);
  const after = await core.readNamespacedPod({ name: autoscalerPod.metadata!.name!, namespace });
  t.is(after.status?.containerStatuses?.[0]?.restartCount, 0, 'never crashed');

  // SIGTERM: it exits at once, long before its grace period (35 s) ends.
  const deletedAt = Date.now();
  await core.deleteNamespacedPod({ name: autoscalerPod.metadata!.name!, namespace });
  await until('the autoscaler pod gone', 30_000, async () => (await core.readNamespacedPod({ name: autoscalerPod.metadata!.name!, namespace }).then(() => undefined, () => true)));
  const goneMs = Date.now() - deletedAt;
  t.true(goneMs < 15_000, `gone ${goneMs} ms after the delete`);
  t.log(`the autoscaler pod gone ${goneMs} ms after its delete`);
  t.log(`done after ${Math.round((Date.now() - started) / 1000)} s`);
});

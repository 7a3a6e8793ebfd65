// The renderer's objects on the real kind cluster: every object of both profiles passes the API
// server's own checks (dryRun=All), and the kind profile's api objects, applied for real, run the
// example: a pod starts from the bundle ConfigMap and classifies the real photo.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { bundleVersion } from '../runtime/predictor-slot.js';
import type { PredictorBundle } from '../src/model/backend.js';
import { bundleOnce } from '../src/dev/bundler.js';
import { ClusterClient } from '../src/kube/apply.js';
import { profiles, render, type RenderInput } from '../src/kube/render.js';
import { loadSpec, parseSpec } from '../src/spec/index.js';
import { cortex } from './helpers/cli.js';
import { deleteNamespace, kindTest, kubeConfig, loadImage, nodeModelsDir, podProxy, until } from './helpers/kind.js';
import { exampleDir, photoFiles } from './helpers/shared.js';

const namespace = `cortex-render-test-${process.pid}`;

async function exampleInput(image: string): Promise<RenderInput> {
  const spec = await loadSpec(exampleDir);
  const api = spec.apis[0]!;
  const { code } = await bundleOnce(api.predictor.path);
  const bundle: PredictorBundle = { code, config: api.predictor.config, version: bundleVersion({ code, config: api.predictor.config }) };
  return { spec, image, bundles: new Map([[api.name, bundle]]), profile: profiles.kind({ mirrorPath: nodeModelsDir }), namespace, adminToken: 'kind-test-token' };
}

kindTest('every rendered object of the kind and eks profiles is accepted by the API server (dryRun=All)', async (t) => {
  const kc = kubeConfig();
  const client = new ClusterClient(kc);
  const core = kc.makeApiClient(CoreV1Api);
  t.timeout(5 * 60_000);
  t.teardown(() => deleteNamespace(core, namespace));
  // The kind profile's gateway takes NodePort 30888 cluster-wide: a cortex namespace left by an
  // earlier run would hold it, and the dry run would say so.
  await deleteNamespace(core, 'cortex');
  await core.createNamespace({ body: { metadata: { name: namespace } } }).catch(() => undefined);

  const base = await exampleInput('cortex-runtime:render-test');
  // A second api asking for a GPU, so the eks profile's GPU fields are checked too.
  const gpuSpec = parseSpec(
    (await readFile(join(exampleDir, 'cortex.yaml'), 'utf8')) + '\n- kind: api\n  name: gpu-classifier\n  predictor:\n    path: predictor.ts\n  compute: { cpu: 1, mem: 2Gi, gpu: 1 }\n',
    join(exampleDir, 'cortex.yaml'),
  );
  const bundles = new Map([...base.bundles, ['gpu-classifier', base.bundles.get('classifier')!]]);
  for (const profile of [profiles.kind({ mirrorPath: nodeModelsDir, cachePath: '/var/cache/cortex' }), profiles.eks()]) {
    const objects = render({ ...base, spec: gpuSpec, bundles, profile, gpuImage: 'cortex-runtime-cuda:render-test' });
    // The namespace exists for real (dry-run objects cannot live in a dry-run namespace).
    const applied = await client.apply(objects.filter((o) => o.kind !== 'Namespace'), { dryRun: true });
    t.is(applied.length, objects.length - 1, profile.name);
    const gpuDeployment = applied.find((o) => o.kind === 'Deployment' && o.metadata?.name === 'image-gpu-classifier') as { spec: { template: { spec: { containers: Array<{ resources: { limits?: Record<string, string> } }> } } } };
    t.is(gpuDeployment.spec.template.spec.containers[0]!.resources.limits?.['nvidia.com/gpu'], profile.name === 'eks' ? '1' : undefined, profile.name);
  }
  // Dry runs persist nothing.
  const { items } = await kc.makeApiClient(AppsV1Api).listNamespacedDeployment({ namespace });
  t.deepEqual(items, []);
});

kindTest('the kind profile runs the example: "hot dog" from a pod and through the in-cluster gateway on localhost:8888; pruning removes the api', async (t) => {
  // An image load and two pods starting on a shared 2-core machine: minutes, not ava's default 2.
  t.timeout(10 * 60_000);
  const kc = kubeConfig();
  const client = new ClusterClient(kc);
  const core = kc.makeApiClient(CoreV1Api);
  // The gateway's NodePort (30888, published as the host's :8888) lives in cortex's own namespace.
  const input = { ...(await exampleInput('')), namespace: 'cortex' };
  t.teardown(() => deleteNamespace(core, 'cortex'));

  const build = await cortex(['build', exampleDir]);
  t.is(build.exitCode, 0, build.all);
  const image = /(cortex-runtime:[0-9a-f]{12}):/.exec(build.all)?.[1];
  if (!image) return t.fail(`no image tag in: ${build.all}`);
  await loadImage(image);

  // Everything but the autoscaler (kube-autoscaler.test.ts runs it): no replica count moves under this test.
  const objects = render({ ...input, image }).filter((o) => o.metadata?.name !== 'cortex-autoscaler' || o.kind !== 'Deployment');
  await client.apply(objects);

  const pod = await until('a Ready pod of image-classifier', 240_000, async () => {
    const { items } = await core.listNamespacedPod({ namespace: 'cortex', labelSelector: 'cortex.dev/api=classifier' });
    return items.find((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
  });
  const ready = JSON.parse((await podProxy(kc, 'cortex', pod.metadata!.name!, 8080, '/readyz')).body) as { version: string };
  t.is(ready.version, input.bundles.get('classifier')!.version, 'the pod serves the version in the ConfigMap');
  const photo = await readFile(photoFiles['hotdog.jpg']);
  const answer = await podProxy(kc, 'cortex', pod.metadata!.name!, 8080, '/', { method: 'POST', body: photo, contentType: 'image/jpeg' });
  t.is(answer.status, 200, answer.body);
  t.is(JSON.parse(answer.body), 'hot dog');

  // The README's curl, unchanged: through kind's port mapping to the gateway, to the pod.
  const viaGateway = await until('"hot dog" through localhost:8888', 120_000, async () => {
    // Bounded: until the gateway's NodePort has a Ready endpoint, a connection through kind's port
    // mapping may hang rather than be refused.
    const res = await fetch('http://localhost:8888/image/classifier', { method: 'POST', body: photo, headers: { 'content-type': 'image/jpeg' }, signal: AbortSignal.timeout(10_000) });
    return res.status === 200 ? res.text() : undefined;
  });
  t.is(viaGateway, '"hot dog"');

  const removed = await client.pruneApis('cortex', 'image', []);
  t.deepEqual(removed.sort(), ['ConfigMap/image-classifier-bundle', 'Deployment/image-classifier', 'Service/image-classifier']);
  const { items } = await core.listNamespacedConfigMap({ namespace: 'cortex', labelSelector: 'cortex.dev/deployment=image' });
  t.deepEqual(items, []);
});

// `cortex deploy --cloud` end to end, on the real kind cluster standing in for EKS: the eks profile
// (LoadBalancer gateway, GPU apis with nvidia.com/gpu, its toleration and node selector) in a
// namespace of this test's own. The kind node advertises one nvidia.com/gpu (a node status patch,
// as for any extended resource) and carries the GPU label, and the labels of the system and cpu node
// groups that the eks profile pins the gateway, the autoscaler and CPU apis to; it is tainted nvidia.com/gpu only for
// the second it takes to schedule the GPU pod (other tests share the node), and restored in the
// teardown whatever happens. The GPU api runs the CPU runtime image (no CUDA image can be built
// here), asks onnxruntime for cuda,cpu, serves "hot dog" on the CPU and says why CUDA is absent.
// Then: get/logs/predict through the same status model; a second deploy with only the predictor
// changed goes into the running pods by hot swap (no image built or pushed); an api removed from
// cortex.yaml is pruned; delete --cloud removes the other. And a GPU api on a node labelled for
// GPUs with none free: the deploy times out naming the pod and "Insufficient nvidia.com/gpu".
import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { CoreV1Api, KubeConfig, PatchStrategy, setHeaderOptions, type V1Node, type V1Pod } from '@kubernetes/client-node';
import type { ExecutionContext } from 'ava';
import { bundleVersion } from '../runtime/predictor-slot.js';
import type { Ready } from '../runtime/protocol.js';
import { cloudDelete, cloudGet, cloudLogs, cloudPredict } from '../src/cli/commands/cloud-apis.js';
import { projectSample } from '../src/cli/samples.js';
import { deployCloud, type DeployIo } from '../src/cli/commands/deploy.js';
import type { CloudTarget } from '../src/cloud/target.js';
import { bundleOnce } from '../src/dev/bundler.js';
import { ensureRuntimeImage } from '../src/image/index.js';
import { ClusterClient } from '../src/kube/apply.js';
import { nodeSelectors } from '../src/kube/names.js';
import { profiles, renderApi, renderCluster, type RenderInput } from '../src/kube/render.js';
import { loadSpec } from '../src/spec/index.js';
import { copyProject, until } from './helpers/dev.js';
import { kindTest, kubeConfig, loadImage, nodeModelsDir, podProxy } from './helpers/kind.js';
import { exampleDir, photoFiles } from './helpers/shared.js';

const namespace = `cortex-eks-test-${process.pid}`;
const gpu = 'nvidia.com/gpu';
const gpuPath = '/status/capacity/nvidia.com~1gpu';

const jsonPatch = setHeaderOptions('Content-Type', PatchStrategy.JsonPatch);
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
/** What an EKS node of each of cortex's groups is labelled with, on the one kind node: the eks profile's pods are pinned by them. */
const eksNodeLabels: Record<string, string> = { ...nodeSelectors.system, ...nodeSelectors.cpuApi, ...nodeSelectors.gpuApi };

/** Takes off what the test put on the node (the resource, the labels, the taint); each step on its own, so one failing leaves the others done. */
async function restoreNode(core: CoreV1Api, node: string): Promise<string[]> {
  const left: string[] = [];
  const now = await core.readNode({ name: node });
  const ops = (base: string, held: Record<string, string> | undefined) => (held?.[gpu] !== undefined ? [{ op: 'remove', path: `${base}/nvidia.com~1gpu` }] : []);
  const statusOps = [...ops('/status/capacity', now.status?.capacity), ...ops('/status/allocatable', now.status?.allocatable)];
  if (statusOps.length) await core.patchNodeStatus({ name: node, body: statusOps }, jsonPatch).catch((err: Error) => left.push(`resource: ${err.message}`));
  const taints = now.spec?.taints ?? [];
  const kept = taints.filter((t) => t.key !== gpu);
  const specOps = [
    ...Object.keys(eksNodeLabels).filter((key) => now.metadata?.labels?.[key] !== undefined).map((key) => ({ op: 'remove', path: `/metadata/labels/${key.replaceAll('/', '~1')}` })),
    ...(kept.length !== taints.length ? [kept.length ? { op: 'replace', path: '/spec/taints', value: kept } : { op: 'remove', path: '/spec/taints' }] : []),
  ];
  if (specOps.length) await core.patchNode({ name: node, body: specOps }, jsonPatch).catch((err: Error) => left.push(`label/taint: ${err.message}`));
  return left;
}

/**
 * The kind node as EKS's system and cpu nodes look to the scheduler (their labels), for this test
 * only: restored, and the test's namespace deleted, at its teardown. Returns the node as it was.
 */
async function asEksNode(t: ExecutionContext, core: CoreV1Api, ns: string): Promise<V1Node> {
  const node = (await core.listNode()).items[0]!;
  const name = node.metadata!.name!;
  t.teardown(async () => {
    const left = await restoreNode(core, name);
    if (left.length) console.error(`kube-eks: could not restore node ${name}: ${left.join('; ')}`);
    await core.deleteNamespace({ name: ns }).catch(() => undefined);
  });
  await core.patchNode({ name, body: { metadata: { labels: eksNodeLabels } } }, mergePatch);
  return node;
}

async function setTaint(core: CoreV1Api, node: string, on: boolean): Promise<void> {
  const taints = ((await core.readNode({ name: node })).spec?.taints ?? []).filter((t) => t.key !== gpu);
  if (on) taints.push({ key: gpu, value: 'true', effect: 'NoSchedule' });
  await core.patchNode({ name: node, body: [taints.length ? { op: 'add', path: '/spec/taints', value: taints } : { op: 'remove', path: '/spec/taints' }] }, jsonPatch);
}

/** Whether every node holds `image` (the kind node lists a loaded image as docker.io/library/<image>). */
async function onEveryNode(core: CoreV1Api, image: string): Promise<boolean> {
  const { items } = await core.listNode();
  return items.every((n) => n.status?.images?.some((i) => i.names?.some((name) => name.endsWith(`/${image}`) || name === image)));
}

/** The kind node as a cloud target's registry: publishing an image is a `kind load`, when the node lacks it. */
function kindNodeRegistry(core: CoreV1Api, published: (local: string) => void): CloudTarget['images'] {
  return {
    describe: async () => 'the kind node (kind load)',
    reference: async (local) => local,
    publish: async (local) => {
      if (!(await onEveryNode(core, local))) await loadImage(local);
      published(local);
      return `${local} is on the kind node`;
    },
  };
}

const scheduled = (p: V1Pod) => p.status?.conditions?.some((c) => c.type === 'PodScheduled' && c.status === 'True') ?? false;
const isReady = (p: V1Pod) => !p.metadata?.deletionTimestamp && (p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false);

kindTest('deploy --cloud on kind-as-EKS: a GPU api scheduled for nvidia.com/gpu serves hot dog on cpu and says why not cuda; get/logs/predict --cloud; a predictor-only redeploy is a hot swap; prune; delete', async (t) => {
  t.timeout(20 * 60_000);
  const started = Date.now();
  const since = () => `${Math.round((Date.now() - started) / 1000)} s`;
  const kc = kubeConfig();
  const core = kc.makeApiClient(CoreV1Api);
  // The node as EKS's system, cpu and GPU nodes look to the scheduler: their labels, and one nvidia.com/gpu (what the device plugin would advertise).
  const node = (await asEksNode(t, core, namespace)).metadata!.name!;
  await core.patchNodeStatus({ name: node, body: [{ op: 'add', path: gpuPath, value: '1' }, { op: 'add', path: '/status/allocatable/nvidia.com~1gpu', value: '1' }] }, jsonPatch);
  const advertised = await core.readNode({ name: node });
  t.is(advertised.status?.allocatable?.[gpu], '1', 'the node advertises one GPU');

  // The project: the example at a twentieth of a core (2 shared cores), and the same predictor as a GPU api.
  const dir = await copyProject(exampleDir);
  const yamlFile = join(dir, 'cortex.yaml');
  await writeFile(yamlFile, (await readFile(yamlFile, 'utf8')).replace('cpu: 1\n', 'cpu: 0.05\n'));
  await appendFile(yamlFile, ['', '- kind: api', '  name: gpu-classifier', '  predictor:', '    path: predictor.ts', '    config:', ...(await gpuConfig(yamlFile)), '  compute: { cpu: 0.05, mem: 1Gi, gpu: 1 }', ''].join('\n'));
  const spec = await loadSpec(dir);
  t.deepEqual(spec.apis.map((a) => [a.name, a.compute.gpu]), [['classifier', 0], ['gpu-classifier', 1]]);

  // The cluster as a target: kind's kubeconfig, the eks profile (with the node's model mirror: pods cannot download here),
  // and the node itself as the registry (kind load). The CUDA image cannot be built here: the CPU image stands in.
  const { tag: image } = await ensureRuntimeImage();
  const profile = { ...profiles.eks(), mirrorPath: nodeModelsDir };
  const loaded: string[] = [];
  const target: CloudTarget = {
    description: 'the kind cluster as EKS',
    namespace,
    profile,
    kubeConfig: async () => kc,
    images: kindNodeRegistry(core, (local) => loaded.push(local)),
    close: () => {},
  };
  const lines: string[] = [];
  const io: DeployIo = { print: (line) => void lines.push(line), progress: new Writable({ write: (_c, _e, done) => done() }) };

  // (1) The GPU api's objects alone first, with the node tainted nvidia.com/gpu for as long as the scheduler takes:
  // its pod tolerates the taint and lands on the node for its nvidia.com/gpu. Nothing else of this namespace is
  // pending meanwhile, and the node is untainted as soon as the pod is bound.
  const gpuApi = spec.apis[1]!;
  const { code } = await bundleOnce(gpuApi.predictor.path);
  const gpuBundle = { code, config: gpuApi.predictor.config, version: bundleVersion({ code, config: gpuApi.predictor.config }) };
  if (!(await onEveryNode(core, image))) await loadImage(image);
  const input: RenderInput = { spec, image, gpuImage: image, bundles: new Map([[gpuApi.name, gpuBundle]]), profile, namespace, adminToken: `eks-test-${process.pid}` };
  const client = new ClusterClient(kc);
  await client.apply(renderCluster(input).filter((o) => o.kind === 'Namespace' || o.kind === 'Secret'));
  await setTaint(core, node, true);
  let gpuPod: V1Pod;
  let taintedMs: number;
  const taintedAt = Date.now();
  try {
    await client.apply(renderApi(input, gpuApi));
    gpuPod = await until('the GPU pod scheduled on the tainted node', async () => (await core.listNamespacedPod({ namespace, labelSelector: 'cortex.dev/api=gpu-classifier' })).items.find(scheduled), 60_000);
  } finally {
    await setTaint(core, node, false);
    taintedMs = Date.now() - taintedAt;
  }
  t.log(`the node was tainted ${gpu}=true:NoSchedule for ${taintedMs} ms; the GPU pod ${gpuPod.metadata!.name} was bound to ${gpuPod.spec?.nodeName}`);
  t.is(gpuPod.spec?.nodeName, node);
  const container = gpuPod.spec!.containers[0]!;
  t.is(container.resources?.limits?.[gpu], '1', 'the pod asks for one nvidia.com/gpu');
  t.deepEqual({ ...gpuPod.spec?.tolerations?.find((x) => x.key === gpu) }, { key: gpu, operator: 'Exists', effect: 'NoSchedule' });
  t.deepEqual({ ...gpuPod.spec?.nodeSelector }, { [gpu]: 'true' });
  t.is(container.env?.find((e) => e.name === 'CORTEX_EXECUTION_PROVIDERS')?.value, 'cuda,cpu');

  // (2) cortex deploy --cloud: the whole spec. The GPU api is there already and unchanged; the rest is created.
  const first = await deployCloud(dir, { cloud: true, cudaImage: image, timeout: '8m' }, target, io, { endpointWaitMs: 2000 });
  t.log(`first deploy in ${(first.ms / 1000).toFixed(1)} s (${since()} into the test)`);
  t.deepEqual(first.applied.apis.map((a) => [a.api, a.action]), [['classifier', 'create'], ['gpu-classifier', 'unchanged']], lines.join('\n'));
  t.is(first.images.runtime, image);
  t.deepEqual(first.images.pushed, [], 'the GPU api\'s pod runs that image already: it is not sent again');
  t.true(first.rollout.every((r) => r.done));
  t.deepEqual(first.rollout.map((r) => r.label).sort(), ['autoscaler', 'classifier', 'gateway', 'gpu-classifier']);
  t.is(first.endpoint, undefined, "kind gives the LoadBalancer no address");
  // Each pod ran pinned to its node group's label, as on EKS.
  const pinned = (await core.listNamespacedPod({ namespace })).items.map((p) => [p.metadata?.labels?.['cortex.dev/component'], p.metadata?.labels?.['cortex.dev/api'] ?? '', { ...p.spec?.nodeSelector }]);
  t.deepEqual(pinned.sort((a, b) => String(a.slice(0, 2)).localeCompare(String(b.slice(0, 2)))), [
    ['api', 'classifier', nodeSelectors.cpuApi],
    ['api', 'gpu-classifier', nodeSelectors.gpuApi],
    ['autoscaler', '', nodeSelectors.system],
    ['gateway', '', nodeSelectors.system],
  ]);
  t.true(lines.some((l) => /^endpoint: the load balancer of service cortex-gateway .* has no address yet/.test(l)), lines.join('\n'));
  t.true(lines.some((l) => /^  \[\dm\d\ds\] .*classifier \d\/1 ready/.test(l)), 'the rollout shows its progress');

  // The GPU pod serves on the CPU and says why CUDA is absent.
  const readyz = JSON.parse((await podProxy(kc, namespace, gpuPod.metadata!.name!, 8080, '/readyz')).body) as Ready;
  t.log(`GPU pod readyz models: ${JSON.stringify(readyz.models)}`);
  t.is(readyz.models.length, 1);
  t.is(readyz.models[0]!.provider, 'cpu');
  t.deepEqual(readyz.models[0]!.requested, ['cuda', 'cpu']);
  t.regex(readyz.models[0]!.fallback ?? '', /^cuda unavailable \((missing library|driver|no device)\): /);
  const photo = await readFile(photoFiles['hotdog.jpg']);
  const answer = await podProxy(kc, namespace, gpuPod.metadata!.name!, 8080, '/', { method: 'POST', body: photo, contentType: 'image/jpeg' });
  t.is(answer.status, 200, answer.body);
  t.is(JSON.parse(answer.body), 'hot dog');

  // (3) get, logs and predict --cloud read the cluster through the same status model.
  const said: string[] = [];
  const quiet = { print: (line: string) => void said.push(line) };
  const snapshot = await cloudGet(target, undefined, { output: 'json' }, quiet);
  t.is(snapshot.backend.name, 'eks');
  for (const api of snapshot.apis) {
    t.is(api.status, 'live', api.name);
    t.is(api.requested, 1, api.name);
    t.is(api.upToDate, 1, `${api.name}: the pod serves the ConfigMap's version`);
    t.is(api.autoscaler?.decision, 'init_replicas 1', `${api.name}: the in-cluster autoscaler's decision`);
  }
  said.length = 0;
  // As `cortex get classifier --cloud` run in the project's folder: the curl posts its photo.
  await cloudGet(target, 'classifier', { output: 'table', sample: (await projectSample('classifier', dir))! }, quiet);
  const table = said.join('\n');
  t.regex(table, /^backend: eks {3}gateway: http:\/\/<load-balancer-pending>/, table);
  t.regex(table, /classifier\s+live\s+1\s+1\s+1/, table);
  t.regex(table, /image-classifier-[a-z0-9]+-[a-z0-9]+\s+ready/, table);
  t.regex(table, /endpoint: .*\/image\/classifier/, table);
  t.regex(table, /^curl: curl \S+\/image\/classifier -X POST -H 'Content-Type: image\/jpeg' --data-binary @\S+\/hotdog\.jpg$/m, table);
  said.length = 0;
  const predicted = await cloudPredict(target, 'classifier', photoFiles['hotdog.jpg'], quiet);
  t.is(JSON.parse(predicted), 'hot dog', 'through the in-cluster gateway, by the API server\'s service proxy');
  said.length = 0;
  await cloudLogs(target, 'gpu-classifier', { follow: false }, quiet);
  t.true(said.some((l) => /runs on cpu, not cuda: cuda unavailable/.test(l)), said.join('\n'));
  await t.throwsAsync(cloudPredict(target, 'nope', photoFiles['hotdog.jpg'], quiet), { message: /^no api named "nope" in the kind cluster as EKS \(namespace cortex-eks-test-\d+\); the apis there: classifier, gpu-classifier/ });

  // (4) Only the predictor changes: deploy again. No image is built or pushed, the pods stay, the bundle is swapped into them.
  const podsBefore = (await core.listNamespacedPod({ namespace, labelSelector: 'cortex.dev/component=api' })).items.filter(isReady).map((p) => p.metadata!.name!).sort();
  const predictorFile = join(dir, 'predictor.ts');
  await writeFile(predictorFile, (await readFile(predictorFile, 'utf8')).replace('return labels[best!.index];', 'return `v2: ${labels[best!.index]}`;'));
  lines.length = 0;
  const second = await deployCloud(dir, { cloud: true, cudaImage: image, timeout: '4m' }, target, io, { endpointWaitMs: 0 });
  const swaps = second.applied.apis.map((a) => [a.api, a.action, a.swap?.outcome.ok.length, a.swap?.ms]);
  t.log(`second deploy (predictor only) in ${(second.ms / 1000).toFixed(2)} s: ${JSON.stringify(swaps)}`);
  for (const line of lines) t.log(`  ${line}`);
  t.deepEqual(second.applied.apis.map((a) => [a.api, a.action, a.swap?.outcome.ok.length, a.swap?.outcome.failed.length]), [['classifier', 'hot-swap', 1, 0], ['gpu-classifier', 'hot-swap', 1, 0]]);
  t.deepEqual(second.images.pushed, [], 'nothing pushed');
  t.true(lines.some((l) => /^runtime image .*: cached/.test(l)), 'nothing built');
  t.true(lines.some((l) => /the cluster runs it already, not pushed/.test(l)), lines.join('\n'));
  const podsAfter = (await core.listNamespacedPod({ namespace, labelSelector: 'cortex.dev/component=api' })).items.filter(isReady).map((p) => p.metadata!.name!).sort();
  t.deepEqual(podsAfter, podsBefore, 'the same pods serve the new predictor');
  t.is(JSON.parse(await cloudPredict(target, 'classifier', photoFiles['hotdog.jpg'], quiet)), 'v2: hot dog');
  const gpuAnswer = await podProxy(kc, namespace, gpuPod.metadata!.name!, 8080, '/', { method: 'POST', body: photo, contentType: 'image/jpeg' });
  t.is(JSON.parse(gpuAnswer.body), 'v2: hot dog');
  // New pods would start from the ConfigMap: it holds the new version.
  const after = await cloudGet(target, undefined, { output: 'json' }, quiet);
  for (const api of after.apis) t.is(api.version, second.applied.apis.find((a) => a.api === api.name)!.version, `${api.name}: ConfigMap version`);
  for (const api of after.apis) t.is(api.upToDate, 1, `${api.name}: serving it`);
  t.deepEqual(loaded, [], 'no deploy sent the image: the cluster had it');

  // (5) The GPU api leaves cortex.yaml: deploy prunes it, and leaves the classifier as it is.
  await writeFile(yamlFile, (await readFile(yamlFile, 'utf8')).replace(/\n- kind: api\n  name: gpu-classifier[\s\S]*$/, '\n'));
  const third = await deployCloud(dir, { cloud: true, timeout: '2m' }, target, io, { endpointWaitMs: 0 });
  t.deepEqual(third.applied.apis.map((a) => [a.api, a.action]), [['classifier', 'unchanged']]);
  t.deepEqual(third.applied.pruned.sort(), ['ConfigMap/image-gpu-classifier-bundle', 'Deployment/image-gpu-classifier', 'Service/image-gpu-classifier']);

  // (6) delete --cloud removes the last api.
  const removed = await cloudDelete(target, 'classifier', quiet);
  t.deepEqual(removed.sort(), ['ConfigMap/image-classifier-bundle', 'Deployment/image-classifier', 'Service/image-classifier']);
  const empty = await cloudGet(target, undefined, { output: 'json' }, quiet);
  t.deepEqual(empty.apis, []);
  t.log(`done after ${since()}`);
});

/** The example's predictor.config lines, indented for a second api. */
async function gpuConfig(yamlFile: string): Promise<string[]> {
  const text = await readFile(yamlFile, 'utf8');
  return [...text.matchAll(/^ {6}(model|labels): (.*)$/gm)].map((m) => `      ${m[1]}: ${m[2]}`);
}

kindTest('deploy --cloud: a GPU api on a cluster whose GPUs are all taken times out naming its pod and the scheduler\'s reason (Insufficient nvidia.com/gpu)', async (t) => {
  t.timeout(5 * 60_000);
  const kc = kubeConfig();
  const core = kc.makeApiClient(CoreV1Api);
  const ns = `${namespace}-unschedulable`;
  // As on an EKS cluster whose GPU nodes are all taken: a node labelled for GPUs, none of them free
  // (this one advertises none: the first test's resource was taken off again), and for the system and CPU pods.
  const node = await asEksNode(t, core, ns);
  t.is(node.status?.allocatable?.[gpu], undefined, 'the node offers no GPU');
  const dir = await copyProject(exampleDir);
  const yamlFile = join(dir, 'cortex.yaml');
  await writeFile(yamlFile, (await readFile(yamlFile, 'utf8')).replace('name: classifier', 'name: gpu-classifier').replace('cpu: 1\n', 'cpu: 0.05\n    gpu: 1\n'));
  const { tag: image } = await ensureRuntimeImage();
  const target: CloudTarget = {
    description: 'the kind cluster as EKS',
    namespace: ns,
    profile: { ...profiles.eks(), mirrorPath: nodeModelsDir },
    kubeConfig: async () => kc,
    images: { describe: async () => 'the kind node', reference: async (local) => local, publish: async (local) => local },
    close: () => {},
  };
  const lines: string[] = [];
  const io: DeployIo = { print: (line) => void lines.push(line), progress: new Writable({ write: (_c, _e, done) => done() }) };
  const started = Date.now();
  const error = await t.throwsAsync(deployCloud(dir, { cloud: true, cudaImage: image, timeout: '40s' }, target, io, { endpointWaitMs: 0 }));
  t.log(`after ${Math.round((Date.now() - started) / 1000)} s: ${error.message}`);
  t.regex(error.message, /^the rollout did not finish within 40 s: gpu-classifier 0\/1 ready.*\(image-gpu-classifier-[a-z0-9]+-[a-z0-9]+: Unschedulable: 0\/1 nodes are available: 1 Insufficient nvidia\.com\/gpu/);
  t.true(lines.some((l) => /pod image-gpu-classifier-.*: Unschedulable: /.test(l)), 'the progress said so while it waited');
});

kindTest('deploy --cloud asks for the kubeconfig again after the pushes: a token that ran out during a long push is not the one it applies with', async (t) => {
  t.timeout(6 * 60_000);
  const kc = kubeConfig();
  const core = kc.makeApiClient(CoreV1Api);
  const ns = `${namespace}-token`;
  await asEksNode(t, core, ns);
  // The kubeconfig a target gave out before the push: the cluster's server, a bearer token it no longer takes.
  const cluster = kc.getCurrentCluster()!;
  const expired = new KubeConfig();
  expired.loadFromOptions({ clusters: [cluster], users: [{ name: 'eks', token: 'k8s-aws-v1.a-token-that-ran-out' }], contexts: [{ name: 'eks', cluster: cluster.name, user: 'eks' }], currentContext: 'eks' });
  const refused = await t.throwsAsync(expired.makeApiClient(CoreV1Api).listNamespace());
  t.regex(refused.message, /401|Unauthorized/, 'the API server refuses the stale token');

  const dir = await copyProject(exampleDir);
  const yamlFile = join(dir, 'cortex.yaml');
  await writeFile(yamlFile, (await readFile(yamlFile, 'utf8')).replace('cpu: 1\n', 'cpu: 0.05\n'));
  const { tag: image } = await ensureRuntimeImage();
  let pushed = false;
  const asked: string[] = [];
  const target: CloudTarget = {
    description: 'the kind cluster as EKS',
    namespace: ns,
    profile: { ...profiles.eks(), mirrorPath: nodeModelsDir },
    // As EksAccess renews a token only when asked: the one from before the push has run out by the time it ends.
    kubeConfig: async () => {
      asked.push(pushed ? 'after the push' : 'before the push');
      return pushed ? kc : expired;
    },
    images: kindNodeRegistry(core, () => (pushed = true)),
    close: () => {},
  };
  const lines: string[] = [];
  const io: DeployIo = { print: (line) => void lines.push(line), progress: new Writable({ write: (_c, _e, done) => done() }) };
  const report = await deployCloud(dir, { cloud: true, timeout: '4m' }, target, io, { endpointWaitMs: 0 });
  t.deepEqual(report.images.pushed, [image], 'the namespace ran nothing: the image was pushed');
  t.deepEqual(report.applied.apis.map((a) => [a.api, a.action]), [['classifier', 'create']], lines.join('\n'));
  t.true(report.rollout.every((r) => r.done));
  t.is(asked[0], 'before the push', 'the images the cluster runs were asked for before the push');
  t.true(asked.includes('after the push'));
});

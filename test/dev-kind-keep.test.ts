// `cortex dev --backend kind --keep`, and the session after it, on the real kind cluster: the
// apis outlive a --keep session and answer on localhost:8888; the next session adopts them (the
// same Deployment and pods, the same admin token, so a save still reaches them); apis that
// cortex.yaml no longer has are pruned by label, though no session of this process applied them,
// and so are a renamed deployment's objects; a stop without --keep leaves nothing of cortex.
import { appendFile, copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AppsV1Api, CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { copyProject, startDev, until, type DevRun } from './helpers/dev.js';
import { cortexObjects, deleteNamespace, kindPath, kindTest, kubeConfig } from './helpers/kind.js';
import { exampleDir, fixtures, photoFiles } from './helpers/shared.js';

const namespace = 'cortex';
const gateway = 'http://localhost:8888';

/** The api objects cortex rendered with these labels (`cortex.dev/…=…`), as kind/name. */
async function apiObjects(kc: KubeConfig, selector: string): Promise<string[]> {
  const core = kc.makeApiClient(CoreV1Api);
  const labelSelector = `cortex.dev/component=api,${selector}`;
  const [deployments, services, maps] = await Promise.all([
    kc.makeApiClient(AppsV1Api).listNamespacedDeployment({ namespace, labelSelector }),
    core.listNamespacedService({ namespace, labelSelector }),
    core.listNamespacedConfigMap({ namespace, labelSelector }),
  ]);
  return [...deployments.items.map((o) => `Deployment/${o.metadata!.name}`), ...services.items.map((o) => `Service/${o.metadata!.name}`), ...maps.items.map((o) => `ConfigMap/${o.metadata!.name}`)].sort();
}

kindTest('--keep: the apis outlive the session on :8888; the next session adopts them (same pods, same token), prunes by label an api cortex.yaml dropped and a renamed deployment, and its q removes everything', async (t) => {
  t.timeout(15 * 60_000);
  const kc = kubeConfig();
  const core = kc.makeApiClient(CoreV1Api);
  const apps = kc.makeApiClient(AppsV1Api);
  // The gateway's NodePort lives in the cortex namespace: an earlier one must be gone first.
  await deleteNamespace(core, namespace);
  t.teardown(() => deleteNamespace(core, namespace));

  const dir = await copyProject(exampleDir);
  const specFile = join(dir, 'cortex.yaml');
  const predictorFile = join(dir, 'predictor.ts');
  const spec = await readFile(specFile, 'utf8');
  const predictor = await readFile(predictorFile, 'utf8');
  // A second api, cheap to start, for the next session's cortex.yaml to drop.
  await copyFile(join(fixtures, 'projects/slow/predictor.ts'), join(dir, 'slow.ts'));
  await appendFile(specFile, ['', '- kind: api', '  name: slow', '  predictor:', '    path: slow.ts', '    config: { ms: 10 }', '  compute: { cpu: 0.2 }', ''].join('\n'));
  const env = { PATH: await kindPath() };
  const photo = await readFile(photoFiles['hotdog.jpg']);
  const post = (path: string) => fetch(`${gateway}${path}`, { method: 'POST', body: photo, headers: { 'content-type': 'image/jpeg' }, signal: AbortSignal.timeout(30_000) });
  const classify = async (path = '/image/classifier') => (await post(path)).json();
  const token = async () => Buffer.from((await core.readNamespacedSecret({ name: 'cortex-admin', namespace })).data!.token!, 'base64').toString();
  const pods = async (api: string) => (await core.listNamespacedPod({ namespace, labelSelector: `cortex.dev/api=${api}` })).items.map((p) => p.metadata!.name!).sort();
  const deploymentUid = async (name: string) => (await apps.readNamespacedDeployment({ name, namespace })).metadata!.uid;
  let running: DevRun | undefined;
  t.teardown(async () => void (await running?.quit()));

  // A session with --keep, stopped: what it ran stays, and serves.
  const kept = (running = await startDev(dir, ['--backend', 'kind', '--keep'], env));
  await until('both apis live', async () => ((await kept.get()).apis.every((a: { status: string }) => a.status === 'live') ? true : undefined), 300_000);
  t.is(await classify(), 'hot dog');
  const before = { token: await token(), pods: await pods('classifier'), uid: await deploymentUid('image-classifier') };
  running = undefined;
  t.is(await kept.quit(), 0);
  t.notRegex(kept.output(), /removing cortex/);
  t.is(await classify(), 'hot dog', 'the api answers on :8888 with no session running');
  t.deepEqual(await apiObjects(kc, 'cortex.dev/api=slow'), ['ConfigMap/image-slow-bundle', 'Deployment/image-slow', 'Service/image-slow']);

  // The next session, without --keep and without slow in cortex.yaml.
  await writeFile(specFile, spec);
  // Its pod is ready when the session first sees it: the line says `ready`, with no `starting →`.
  const next = (running = await startDev(dir, ['--backend', 'kind'], env, /^\S+ image-classifier-\S+ ready/m));
  await until('classifier live', async () => ((await next.get('classifier')).status === 'live' ? true : undefined), 120_000);
  t.is(await token(), before.token, 'the admin token pods run with is kept');
  t.is(await deploymentUid('image-classifier'), before.uid, 'the Deployment is adopted, not re-created');
  t.deepEqual(await pods('classifier'), before.pods, 'no pod was replaced');
  // Adopted pods take a save: the kept token still opens their admin endpoint.
  await writeFile(predictorFile, predictor.replace('return labels[best!.index];', 'return `v2: ${labels[best!.index]}`;'));
  await until('"v2: hot dog" from the adopted pod', async () => ((await classify()) === 'v2: hot dog' ? true : undefined), 60_000);
  t.deepEqual(await pods('classifier'), before.pods);
  // slow was applied by the earlier session only: pruned by label all the same, and no longer routed.
  await until('slow pruned', async () => ((await apiObjects(kc, 'cortex.dev/api=slow')).length === 0 ? true : undefined), 60_000);
  await until('/image/slow no longer routed', async () => ((await post('/image/slow')).status === 404 ? true : undefined), 60_000);
  // Said during the session's first apply, before its view listened: kept for the view all the same.
  t.regex(next.output(), /removed Deployment\/image-slow from the cluster \(not in cortex\.yaml\)/);

  // A renamed deployment: its api comes up under the new name, and the old name's objects go.
  await writeFile(specFile, spec.replace('  name: image\n', '  name: photo\n'));
  await until('"v2: hot dog" on /photo/classifier', async () => ((await classify('/photo/classifier')) === 'v2: hot dog' ? true : undefined), 300_000);
  await until('the image deployment pruned', async () => ((await apiObjects(kc, 'cortex.dev/deployment=image')).length === 0 ? true : undefined), 60_000);
  t.deepEqual(await apiObjects(kc, 'cortex.dev/deployment=photo'), ['ConfigMap/photo-classifier-bundle', 'Deployment/photo-classifier', 'Service/photo-classifier']);
  t.regex(next.output(), /removed Deployment\/image-classifier from the cluster \(not in cortex\.yaml\)/);
  await until('/image/classifier no longer routed', async () => ((await post('/image/classifier')).status === 404 ? true : undefined), 60_000);

  // Its stop, without --keep, removes everything, the adopted objects included.
  running = undefined;
  t.is(await next.quit(), 0);
  t.regex(next.output(), /removing cortex from the kind cluster/);
  t.deepEqual(await cortexObjects(kc), [], 'nothing of cortex is left in the cluster');
});

// `cortex dev --backend kind` on the real kind cluster, as a user runs it: the example answers
// "hot dog" on localhost:8888 through the in-cluster gateway; saves reach the pods through the
// pod proxy with no failed request under load, a broken save and an init that throws keep the old
// code; min_replicas in cortex.yaml adds a pod; a deleted pod comes back without losing a request;
// load makes the in-cluster autoscaler add a pod, and `cortex get` its decision; `cortex get` shows
// pods, `cortex cluster info` the gateway, autoscaler and apis; after q nothing of cortex is left in
// the cluster.
import { appendFile, copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { cortex } from './helpers/cli.js';
import { copyProject, startDev, until, type DevRun } from './helpers/dev.js';
import { cortexObjects, deleteNamespace, kindPath, kindTest, kubeConfig } from './helpers/kind.js';
import { startLoad } from './helpers/load.js';
import { exampleDir, fixtures, photoFiles } from './helpers/shared.js';

const namespace = 'cortex';

interface Api {
  name: string;
  status: string;
  requested: number;
  version: string | null;
  lastReload: { error: { message: string; location: string | null } | null } | null;
  autoscaler: { decision: string } | null;
  replicas: Array<{ id: string; status: string; version: string | null }>;
}

const apiOf = async (dev: DevRun, name: string): Promise<Api> => (await dev.get()).apis.find((a: Api) => a.name === name);
const readyPods = (api: Api) => api.replicas.filter((r) => r.status === 'ready' && r.version === api.version);

kindTest('cortex dev --backend kind: hot dog on :8888, hot reload into pods under load, replicas from cortex.yaml and the in-cluster autoscaler, a deleted pod, nothing left after q', async (t) => {
  t.timeout(15 * 60_000);
  const kc = kubeConfig();
  const core = kc.makeApiClient(CoreV1Api);
  // Another test's namespace (the same NodePort) must be gone before the gateway can take it.
  await deleteNamespace(core, namespace);

  const dir = await copyProject(exampleDir);
  // A second api, slow on purpose with short autoscaling periods, for the in-cluster autoscaler to scale.
  await copyFile(join(fixtures, 'projects/slow/predictor.ts'), join(dir, 'slow.ts'));
  await appendFile(
    join(dir, 'cortex.yaml'),
    ['', '- kind: api', '  name: slow', '  predictor:', '    path: slow.ts', '    config: { ms: 300 }', '  compute: { cpu: 0.2 }', '  autoscaling:', '    min_replicas: 1', '    max_replicas: 2', '    target_replica_concurrency: 1', '    window: 4s', '    upscale_stabilization_period: 0s', ''].join('\n'),
  );
  const predictorFile = join(dir, 'predictor.ts');
  const original = await readFile(predictorFile, 'utf8');
  const photo = await readFile(photoFiles['hotdog.jpg']);
  const dev = await startDev(dir, ['--backend', 'kind'], { PATH: await kindPath() });
  let quit = false;
  t.teardown(async () => {
    if (!quit) await dev.quit();
  });

  const snapshot = await dev.get();
  t.is(snapshot.backend.name, 'kind');
  t.is(snapshot.gateway, 'http://localhost:8888');
  const classify = async () => (await fetch(`${snapshot.gateway}/image/classifier`, { method: 'POST', body: photo, headers: { 'content-type': 'image/jpeg' }, signal: AbortSignal.timeout(30_000) })).json();
  await until('both apis live', async () => ((await apiOf(dev, 'classifier')).status === 'live' && (await apiOf(dev, 'slow')).status === 'live' ? true : undefined), 300_000);
  t.is(await classify(), 'hot dog');

  const table = await cortex(['get', 'classifier'], { env: dev.env });
  const pod = (await apiOf(dev, 'classifier')).replicas[0]!.id;
  t.regex(table.stdout, new RegExp(`${pod}\\s+ready`), table.stdout);
  // What cortex runs in the cluster, as `cluster info` says it: the gateway, the autoscaler and each api.
  const info = await cortex(['cluster', 'info'], { env: dev.env });
  t.is(info.exitCode, 0, info.all);
  for (const line of ['gateway (namespace cortex): 1/1 ready', 'autoscaler (namespace cortex): 1/1 ready', 'api image/classifier (namespace cortex): 1/1 ready', 'api image/slow (namespace cortex): 1/1 ready']) {
    t.true(info.stdout.split('\n').includes(line), `${line}\n${info.stdout}`);
  }

  // Saves under load: every request answered, each save served.
  const load = startLoad(`${snapshot.gateway}/image/classifier`, [photo], 'image/jpeg', 2);
  try {
    const served = async (label: string) => until(`"${label}" served`, async () => ((await classify()) === label ? true : undefined), 60_000);
    for (const i of [1, 2, 3]) {
      await writeFile(predictorFile, original.replace('return labels[best!.index];', `return \`v${i}: \${labels[best!.index]}\`;`));
      await served(`v${i}: hot dog`);
    }
    // A broken save: the old code keeps serving, and the error says where.
    await writeFile(predictorFile, original.replace('return labels[best!.index];', 'return labels[best!.index'));
    const broken = await until('the build error', async () => (await apiOf(dev, 'classifier')).lastReload?.error ?? undefined, 60_000);
    t.regex(broken.location ?? '', /predictor\.ts:\d+/);
    t.is(await classify(), 'v3: hot dog');
    // An init that throws is refused by every pod: the old code keeps serving, and new pods get it too.
    await writeFile(predictorFile, original.replace('  helpers = context.helpers;', '  helpers = context.helpers;\n  throw new Error("init refused on purpose");'));
    const refused = await until('the init error', async () => {
      const error = (await apiOf(dev, 'classifier')).lastReload?.error;
      return error && /init refused on purpose/.test(error.message) ? error : undefined;
    }, 90_000);
    t.truthy(refused);
    t.is(await classify(), 'v3: hot dog');
    await writeFile(predictorFile, original.replace('return labels[best!.index];', 'return `v4: ${labels[best!.index]}`;'));
    await served('v4: hot dog');

    // min_replicas 1 → 2 in cortex.yaml: the in-cluster autoscaler adds a pod at once, and it serves v4.
    const yaml = join(dir, 'cortex.yaml');
    await writeFile(yaml, (await readFile(yaml, 'utf8')).replace('min_replicas: 1\n    max_replicas: 4', 'min_replicas: 2\n    max_replicas: 4'));
    const two = await until('two classifier pods serving v4', async () => {
      const api = await apiOf(dev, 'classifier');
      return api.requested === 2 && readyPods(api).length === 2 ? api : undefined;
    }, 180_000);
    t.regex(two.autoscaler?.decision ?? '', /min_replicas 2/);
    t.log(`classifier: ${two.autoscaler?.decision}`);

    // A pod deleted as `kubectl delete pod` does: it drains, the other serves, a new one comes.
    const victim = two.replicas[0]!.id;
    await core.deleteNamespacedPod({ name: victim, namespace });
    await until('a new pod in its place', async () => {
      const api = await apiOf(dev, 'classifier');
      return readyPods(api).length === 2 && !api.replicas.some((r) => r.id === victim) ? true : undefined;
    }, 180_000);
  } finally {
    const result = await load.stop();
    t.deepEqual(result.failed, [], 'no request failed during saves, a replica change and a pod deletion');
    t.true(result.ok > 20, `${result.ok} requests answered`);
    t.log(`${result.ok} classifications answered under load, none failed`);
  }

  // Load on the slow api: the in-cluster autoscaler adds a pod, and the session shows it.
  const slowLoad = startLoad(`${snapshot.gateway}/image/slow`, ['{}'], 'application/json', 6, { niced: false });
  try {
    const scaled = await until('the autoscaler to add a slow pod', async () => {
      const api = await apiOf(dev, 'slow');
      return api.requested === 2 && api.replicas.length === 2 ? api : undefined;
    }, 180_000);
    t.regex(scaled.autoscaler?.decision ?? '', /in-flight/);
    t.log(`slow: ${scaled.autoscaler?.decision}`);
    // The table says it too, worded as the live view's header (a pipe: the longest wording).
    const listed = await cortex(['get'], { env: dev.env });
    t.regex(listed.stdout, /^slow: autoscaler \d\d:\d\d:\d\d {2}.*2 replicas.* {2}in-flight [\d.]+, target 1 each/m, listed.stdout);
    t.log(listed.stdout.split('\n').filter((l) => l.includes('autoscaler')).join('\n'));
  } finally {
    t.deepEqual((await slowLoad.stop()).failed, []);
  }

  quit = true;
  t.is(await dev.quit(), 0);
  t.regex(dev.output(), /removing cortex from the kind cluster/);
  t.deepEqual(await cortexObjects(kc), [], 'nothing of cortex is left in the cluster');
});

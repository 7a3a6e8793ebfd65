// The real kind cluster (test/cluster/up.sh): the node is Ready, and the runtime image that
// `cortex build` makes runs there as a pod, loaded with `kind load docker-image`, its predictor
// bundle from a ConfigMap and the model from the shared mirror; through the API server's pod
// proxy it answers /readyz and classifies the real photo. cortex's own image step (src/kube/kind.ts
// loadImage) puts an image on the node only when the node lacks that image ID.
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { execa } from 'execa';
import { parseAllDocuments } from 'yaml';
import { bundleOnce } from '../src/dev/bundler.js';
import { loadImage as loadUnlessHeld } from '../src/kube/kind.js';
import { cortex } from './helpers/cli.js';
import { clusterName, kindPath, kindTest, kubeConfig, loadImage, nodeModelsDir, podProxy } from './helpers/kind.js';
import { exampleDir, photoFiles } from './helpers/shared.js';

const namespace = `cortex-kind-test-${process.pid}`;
const port = 8080;

async function until<T>(what: string, ms: number, probe: () => Promise<T | undefined>, explain: () => Promise<string> = async () => ''): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what} within ${ms / 1000} s${await explain().catch(() => '')}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

kindTest('the node is Ready', async (t) => {
  const core = kubeConfig().makeApiClient(CoreV1Api);
  const node = await until('a Ready node', 120_000, async () => {
    const { items } = await core.listNode();
    return items.find((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
  });
  t.log(`${node.metadata!.name}: kubelet ${node.status!.nodeInfo!.kubeletVersion}, ${node.status!.nodeInfo!.containerRuntimeVersion}`);
  t.regex(node.status!.nodeInfo!.kubeletVersion, /^v1\.34\./);
});

kindTest('the runtime image runs as a pod and says "hot dog" through the pod proxy', async (t) => {
  const kc = kubeConfig();
  const core = kc.makeApiClient(CoreV1Api);

  const build = await cortex(['build', exampleDir]);
  t.is(build.exitCode, 0, build.all);
  const tag = /(cortex-runtime:[0-9a-f]{12}):/.exec(build.all)?.[1];
  if (!tag) return t.fail(`no image tag in: ${build.all}`);
  let started = Date.now();
  await loadImage(tag);
  t.log(`${tag} loaded into the node in ${Date.now() - started} ms`);

  const spec = parseAllDocuments(await readFile(join(exampleDir, 'cortex.yaml'), 'utf8')).flatMap((d) => d.toJS() as Array<{ kind: string; predictor?: { config: object } }>);
  const config = spec.find((r) => r.kind === 'api')!.predictor!.config;
  const bundle = await bundleOnce(join(exampleDir, 'predictor.ts'));

  t.teardown(() => core.deleteNamespace({ name: namespace }).then(() => undefined, () => undefined));
  await core.createNamespace({ body: { metadata: { name: namespace } } });
  await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'predictor' }, data: { 'predictor.mjs': bundle.code } } });
  const pod: V1Pod = {
    metadata: { name: 'classifier', labels: { app: 'classifier' } },
    spec: {
      containers: [
        {
          name: 'runtime',
          image: tag,
          imagePullPolicy: 'Never', // loaded by kind; these machines cannot pull
          ports: [{ containerPort: port }],
          env: [
            { name: 'CORTEX_API', value: 'classifier' },
            { name: 'CORTEX_DEPLOYMENT', value: 'image' },
            { name: 'CORTEX_PREDICTOR_BUNDLE', value: '/predictor/predictor.mjs' },
            { name: 'CORTEX_PREDICTOR_CONFIG', value: JSON.stringify(config) },
            { name: 'CORTEX_API_DIR', value: '/predictor' },
            { name: 'CORTEX_MODEL_MIRROR', value: '/models' },
            { name: 'CORTEX_INFERENCE_THREADS', value: '1' },
          ],
          readinessProbe: { httpGet: { path: '/readyz', port }, periodSeconds: 1 },
          securityContext: { runAsNonRoot: true, allowPrivilegeEscalation: false },
          volumeMounts: [
            { name: 'predictor', mountPath: '/predictor', readOnly: true },
            { name: 'models', mountPath: '/models', readOnly: true },
          ],
        },
      ],
      volumes: [
        { name: 'predictor', configMap: { name: 'predictor' } },
        { name: 'models', hostPath: { path: nodeModelsDir, type: 'Directory' } },
      ],
    },
  };
  started = Date.now();
  await core.createNamespacedPod({ namespace, body: pod });
  await until(
    'the pod Ready',
    180_000,
    async () => {
      const p = await core.readNamespacedPod({ name: 'classifier', namespace });
      return p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? p : undefined;
    },
    async () => {
      const p = await core.readNamespacedPod({ name: 'classifier', namespace });
      const events = await core.listNamespacedEvent({ namespace });
      return `\nstatus: ${JSON.stringify(p.status?.containerStatuses ?? p.status)}\nevents:\n${events.items.map((e) => `  ${e.reason}: ${e.message}`).join('\n')}`;
    },
  );
  t.log(`pod Ready in ${Date.now() - started} ms`);

  const ready = await podProxy(kc, namespace, 'classifier', port, '/readyz');
  t.is(ready.status, 200, ready.body);

  const photo = await readFile(photoFiles['hotdog.jpg']);
  const answer = await podProxy(kc, namespace, 'classifier', port, '/', { method: 'POST', body: photo, contentType: 'image/jpeg' });
  t.is(answer.status, 200, answer.body);
  t.is(JSON.parse(answer.body), 'hot dog');
});

kindTest('cortex puts an image on the node only when the node lacks its image ID: the same image twice loads once, a changed one under the same tag loads again', async (t) => {
  t.timeout(5 * 60_000);
  // The product runs `kind` and `docker` from PATH: the harness's kind and its docker shim, as a user has them.
  process.env.PATH = await kindPath();
  // A one-file image, so each load is a second, not the runtime image's 200 MB.
  const tag = `cortex-load-test:${process.pid}`;
  const context = await mkdtemp(join(tmpdir(), 'cortex-load-test-'));
  await writeFile(join(context, 'Dockerfile'), 'FROM scratch\nCOPY stamp /stamp\n');
  const build = async (stamp: string): Promise<string> => {
    await writeFile(join(context, 'stamp'), stamp);
    await execa('docker', ['build', '-q', '-t', tag, context]);
    return (await execa('docker', ['image', 'inspect', '--format', '{{.Id}}', tag])).stdout.trim();
  };
  const node = `${clusterName}-control-plane`;
  t.teardown(async () => {
    await execa('docker', ['exec', node, 'ctr', '--namespace', 'k8s.io', 'images', 'rm', `docker.io/library/${tag}`], { reject: false });
    await execa('docker', ['rmi', '-f', tag], { reject: false });
  });
  const ensure = async (): Promise<boolean> => {
    const started = Date.now();
    const { loaded } = await loadUnlessHeld(clusterName, tag);
    t.log(`${loaded ? 'loaded' : 'held already'} in ${Date.now() - started} ms`);
    return loaded;
  };

  const first = await build('one');
  t.true(await ensure(), 'a node without the image gets it');
  t.false(await ensure(), 'the node holds that image ID: no kind load');
  const second = await build('two');
  t.not(second, first);
  t.true(await ensure(), 'a changed image under the same tag is loaded');
  t.false(await ensure());
});

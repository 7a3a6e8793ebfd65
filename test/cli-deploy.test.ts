// `cortex deploy` as a user runs it, without a cluster: without --cloud it says what to use; with
// --cloud --dry-run it prints the image plan (the CUDA variant only for GPU apis) and the eks
// profile's objects, and needs no credentials, Docker or cluster. And the pure parts: the image
// plan, the objects as shown, image references, push progress.
import { appendFile, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { parseAllDocuments } from 'yaml';
import { printPushProgress } from '../src/cli/image-progress.js';
import { apisByImage, endpointLines, imagePlan, objectsYaml } from '../src/cli/commands/deploy.js';
import { splitReference, tagOf } from '../src/cloud/target.js';
import { profiles, render } from '../src/kube/render.js';
import { loadSpec } from '../src/spec/index.js';
import { cortex } from './helpers/cli.js';
import { copyProject } from './helpers/dev.js';
import { exampleDir } from './helpers/shared.js';

/** No AWS credentials, region or config of this machine's user: the dry run must not need them. */
const bare = { AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '', AWS_PROFILE: 'cortex-test-none', AWS_CONFIG_FILE: '/nonexistent', AWS_SHARED_CREDENTIALS_FILE: '/nonexistent', AWS_EC2_METADATA_DISABLED: 'true', DOCKER_HOST: 'unix:///nonexistent.sock', KUBECONFIG: '/nonexistent' };

async function gpuProject(): Promise<string> {
  const dir = await copyProject(exampleDir);
  const text = await readFile(join(dir, 'cortex.yaml'), 'utf8');
  const config = [...text.matchAll(/^ {6}(model|labels): (.*)$/gm)].map((m) => `      ${m[1]}: ${m[2]}`);
  await appendFile(join(dir, 'cortex.yaml'), ['', '- kind: api', '  name: gpu-classifier', '  predictor:', '    path: predictor.ts', '    config:', ...config, '  compute: { cpu: 1, mem: 2Gi, gpu: 1 }', ''].join('\n'));
  return dir;
}

test('cortex deploy without --cloud: one line saying what --cloud does and that cortex dev runs locally, exit code 2', async (t) => {
  const run = await cortex(['deploy', exampleDir]);
  t.is(run.exitCode, 2);
  t.is(run.stdout, '');
  t.is(run.stderr, 'cortex: cortex deploy needs --cloud: it deploys to EKS (cortex cluster up --cloud makes the cluster); cortex dev runs the apis locally');
});

test('cortex deploy --cloud --dry-run: the image plan and the eks objects, with no credentials, Docker or cluster', async (t) => {
  const dir = await gpuProject();
  const run = await cortex(['deploy', '--cloud', '--dry-run', dir], { env: bare });
  t.is(run.exitCode, 0, run.all);
  const [head, yaml] = [run.stdout.slice(0, run.stdout.indexOf('\n\n')), run.stdout.slice(run.stdout.indexOf('\n\n') + 2)];
  const lines = head.split('\n');
  t.regex(lines[0]!, /^cortex deploy --cloud --dry-run: 2 apis of .*cortex\.yaml to EKS cluster "cortex" in us-east-1, namespace cortex; nothing is built, pushed or applied$/);
  t.regex(lines[2]!, /^ {2}runtime {2}cortex-runtime:<content-tag> .*→ <account>\.dkr\.ecr\.us-east-1\.amazonaws\.com\/cortex\/cortex-runtime:<content-tag>, for the gateway, the autoscaler and classifier$/);
  t.regex(lines[3]!, /^ {2}cuda {5}cortex-runtime-cuda:<content-tag> on nvidia\/cuda:13\.0\.1-cudnn-runtime-ubuntu24\.04 \(CUDA 13, cuDNN 9: GPU nodes need NVIDIA driver ≥ 580\), .*onnxruntime-node's CUDA 13 libraries from NuGet → .*:cuda-<content-tag>, for gpu-classifier \(compute\.gpu 1\)$/);
  const docs = parseAllDocuments(yaml).map((d) => d.toJS() as { kind: string; metadata: { name: string; annotations?: Record<string, string> }; spec?: any; binaryData?: Record<string, string>; stringData?: Record<string, string> });
  t.deepEqual(
    docs.map((d) => `${d.kind}/${d.metadata.name}`),
    [
      'Namespace/cortex', 'Secret/cortex-admin', 'ServiceAccount/cortex-gateway', 'Role/cortex-gateway', 'RoleBinding/cortex-gateway', 'ServiceAccount/cortex-autoscaler', 'Role/cortex-autoscaler', 'RoleBinding/cortex-autoscaler',
      'Deployment/cortex-gateway', 'Service/cortex-gateway', 'Deployment/cortex-autoscaler',
      'ConfigMap/image-classifier-bundle', 'Deployment/image-classifier', 'Service/image-classifier',
      'ConfigMap/image-gpu-classifier-bundle', 'Deployment/image-gpu-classifier', 'Service/image-gpu-classifier',
    ],
  );
  const gateway = docs.find((d) => d.kind === 'Service' && d.metadata.name === 'cortex-gateway')!;
  t.is(gateway.spec.type, 'LoadBalancer');
  t.deepEqual(gateway.metadata.annotations, { 'service.beta.kubernetes.io/aws-load-balancer-type': 'nlb' }, "cluster.yaml's load balancer");
  const gpuPod = docs.find((d) => d.metadata.name === 'image-gpu-classifier' && d.kind === 'Deployment')!.spec.template.spec;
  t.is(gpuPod.containers[0].resources.limits['nvidia.com/gpu'], '1');
  t.is(gpuPod.containers[0].image, '<account>.dkr.ecr.us-east-1.amazonaws.com/cortex/cortex-runtime:cuda-<content-tag>');
  t.deepEqual(gpuPod.nodeSelector, { 'nvidia.com/gpu': 'true' });
  t.is(docs.find((d) => d.metadata.name === 'image-classifier' && d.kind === 'Deployment')!.spec.template.spec.containers[0].image, '<account>.dkr.ecr.us-east-1.amazonaws.com/cortex/cortex-runtime:<content-tag>');
  t.deepEqual(docs[1]!.stringData, { token: '<generated at deploy, or kept from the cluster>' }, 'no token is printed');
  t.regex(docs.find((d) => d.kind === 'ConfigMap')!.binaryData!['bundle.json.gz']!, /^<\d+ bytes: the gzipped predictor bundle, version [0-9a-f]{12}>$/);
  t.false(/&a\d|\*a\d/.test(yaml), 'no YAML anchors');
});

test('cortex deploy --cloud --dry-run: a CPU-only spec plans no CUDA image; --cuda-image is used as given; cluster.yaml names the cluster', async (t) => {
  const cpuOnly = await cortex(['deploy', '--cloud', '--dry-run', exampleDir], { env: bare });
  t.is(cpuOnly.exitCode, 0, cpuOnly.all);
  t.false(/cuda/.test(cpuOnly.stdout.slice(0, cpuOnly.stdout.indexOf('\n\n'))));
  const dir = await gpuProject();
  const given = await cortex(['deploy', '--cloud', '--dry-run', dir, '--cuda-image', '123.dkr.ecr.eu-west-1.amazonaws.com/mine:cuda'], { env: bare });
  t.regex(given.stdout, /^ {2}cuda {5}123\.dkr\.ecr\.eu-west-1\.amazonaws\.com\/mine:cuda, as given with --cuda-image, for gpu-classifier \(compute\.gpu 1\)$/m);
  t.regex(given.stdout, /image: 123\.dkr\.ecr\.eu-west-1\.amazonaws\.com\/mine:cuda$/m);
  const { writeFile } = await import('node:fs/promises');
  await writeFile(join(dir, 'cluster.yaml'), 'cluster_name: ml\nregion: eu-west-1\napi_load_balancer_scheme: internal\n');
  const named = await cortex(['deploy', '--cloud', '--dry-run', dir, '--cluster', join(dir, 'cluster.yaml')], { env: bare });
  t.is(named.exitCode, 0, named.all);
  t.regex(named.stdout, /to EKS cluster "ml" in eu-west-1/);
  t.regex(named.stdout, /<account>\.dkr\.ecr\.eu-west-1\.amazonaws\.com\/ml\/cortex-runtime:<content-tag>/);
  t.regex(named.stdout, /service\.beta\.kubernetes\.io\/aws-load-balancer-internal: "true"/);
});

test('cortex deploy --cloud: a predictor that does not compile, or a bad --timeout, is one line with exit code 2', async (t) => {
  const dir = await copyProject(exampleDir);
  const { writeFile } = await import('node:fs/promises');
  await writeFile(join(dir, 'predictor.ts'), 'export function predict( {');
  const broken = await cortex(['deploy', '--cloud', '--dry-run', dir], { env: bare });
  t.is(broken.exitCode, 2);
  t.regex(broken.stderr, /^cortex: api classifier: the predictor does not compile: .*predictor\.ts:1:\d+/);
  const timeout = await cortex(['deploy', '--cloud', exampleDir, '--timeout', 'soon'], { env: bare });
  t.is(timeout.exitCode, 2);
  t.is(timeout.stderr, 'cortex: --timeout soon: expected a duration like "10m", "90s" or "1m30s"');
});

test('the image plan: the runtime for the gateway, the autoscaler and CPU apis; the CUDA variant for GPU apis', async (t) => {
  const spec = await loadSpec(await gpuProject());
  t.deepEqual(apisByImage(spec), { cpu: ['classifier'], gpu: [{ name: 'gpu-classifier', gpu: 1 }] });
  const plan = imagePlan(spec, { runtime: 'r/cortex-runtime:abc', cuda: 'r/cortex-runtime:cuda-def' });
  t.is(plan.length, 2);
  t.is(plan[0], "  runtime  cortex-runtime:<content-tag> (cortex build's image) → r/cortex-runtime:abc, for the gateway, the autoscaler and classifier");
  t.regex(plan[1]!, /→ r\/cortex-runtime:cuda-def, for gpu-classifier \(compute\.gpu 1\)$/);
  t.deepEqual(imagePlan({ ...spec, apis: [spec.apis[0]!] }, { runtime: 'r:1' }), ["  runtime  cortex-runtime:<content-tag> (cortex build's image) → r:1, for the gateway, the autoscaler and classifier"]);
});

test('after the rollout, each api\'s endpoint and a curl that posts the project\'s own sample: the example\'s photo as image/jpeg', async (t) => {
  t.deepEqual(await endpointLines('http://a1b2.elb.us-east-1.amazonaws.com', await loadSpec(exampleDir)), [
    'endpoint: http://a1b2.elb.us-east-1.amazonaws.com/image/classifier',
    "curl: curl http://a1b2.elb.us-east-1.amazonaws.com/image/classifier -X POST -H 'Content-Type: image/jpeg' --data-binary @examples/image-classifier/hotdog.jpg",
  ]);
  // A project with nothing to post: the line says so, and how to predict on the cluster instead.
  const dir = await copyProject(exampleDir);
  await rm(join(dir, 'hotdog.jpg'));
  const [, curl] = await endpointLines('http://elb', await loadSpec(dir));
  t.regex(curl!, /^curl: no sample file beside cortex\.yaml .*cortex predict classifier FILE --cloud$/);
});

test('objectsYaml shows the bundle by size and version and never the admin token', async (t) => {
  const spec = await loadSpec(exampleDir);
  const bundles = new Map([['classifier', { code: 'export function predict() { return 1; }', config: {}, version: 'v1' }]]);
  const yaml = objectsYaml(render({ spec, image: 'i:1', bundles, profile: profiles.eks(), adminToken: 'secret-token-value' }));
  t.false(yaml.includes('secret-token-value'));
  t.regex(yaml, /bundle\.json\.gz: "<\d+ bytes: the gzipped predictor bundle, version v1>"/);
});

test('image references: the tag of a local image, and a reference split into repository and tag', (t) => {
  t.is(tagOf('cortex-runtime:1a2b3c4d5e6f'), '1a2b3c4d5e6f');
  t.is(tagOf('127.0.0.1:5000/cortex/cortex-runtime'), 'latest');
  t.deepEqual(splitReference('123456789012.dkr.ecr.us-east-1.amazonaws.com/cortex/cortex-runtime:cuda-abc'), { repository: '123456789012.dkr.ecr.us-east-1.amazonaws.com/cortex/cortex-runtime', tag: 'cuda-abc' });
  t.deepEqual(splitReference('127.0.0.1:5000/cortex/cortex-runtime'), { repository: '127.0.0.1:5000/cortex/cortex-runtime', tag: 'latest' });
});

test('push progress: the login, each layer once it is done, bytes at most once a second and at the end', (t) => {
  let out = '';
  let clock = 0;
  const print = printPushProgress({ write: (s: string) => ((out += s), true) } as NodeJS.WritableStream, () => clock);
  print({ type: 'login', registry: 'r.example' });
  print({ type: 'layer', id: 'aaa', state: 'preparing' });
  print({ type: 'layer', id: 'aaa', state: 'exists' });
  print({ type: 'layer', id: 'bbb', state: 'pushing' });
  print({ type: 'bytes', done: 1024 * 1024, total: 4 * 1024 * 1024 });
  clock = 500;
  print({ type: 'bytes', done: 2 * 1024 * 1024, total: 4 * 1024 * 1024 });
  clock = 1500;
  print({ type: 'bytes', done: 3 * 1024 * 1024, total: 4 * 1024 * 1024 });
  print({ type: 'bytes', done: 4 * 1024 * 1024, total: 4 * 1024 * 1024 });
  print({ type: 'layer', id: 'bbb', state: 'pushed' });
  print({ type: 'pushed', reference: 'r.example/c:1', digest: 'sha256:00' });
  t.is(
    out,
    [
      'push: logged in to r.example',
      '  layer aaa: already there',
      '  push: sent 1.0 of 4.0 MiB (25%)',
      '  push: sent 3.0 of 4.0 MiB (75%)',
      '  push: sent 4.0 MiB',
      '  layer bbb: pushed',
      'push: r.example/c:1@sha256:00',
      '',
    ].join('\n'),
  );
});

test('get, logs, predict and delete --cloud without AWS credentials: one line saying how to give them, exit code 2', async (t) => {
  for (const args of [['get', '--cloud'], ['logs', 'classifier', '--cloud'], ['predict', 'classifier', 'x.json', '--cloud'], ['delete', 'classifier', '--cloud']]) {
    const run = await cortex(args, { env: bare });
    t.is(run.exitCode, 2, args.join(' '));
    t.is(run.stderr, 'cortex: describing the EKS cluster "cortex" (eks:DescribeCluster): no AWS credentials found; set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or log in with `aws sso login`', args.join(' '));
  }
});

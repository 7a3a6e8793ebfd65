// `cortex deploy --cloud [DIR]`: the cortex.yaml that ran in `cortex dev`, on EKS. Bundle every
// predictor, build the runtime image (and its CUDA variant when an api asks for a GPU), push them
// to the cluster's ECR, apply the eks profile's objects with the same code as kind, prune the apis
// that left cortex.yaml, wait for the rollout, print the endpoint. Run again after a predictor
// edit, only the bundle moves (hot swap into the running pods); the images are content-tagged, so
// an unchanged runtime is neither rebuilt nor pushed. `--dry-run` prints the plan and the objects
// and needs no credentials, Docker or cluster.
import { AppsV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { bundleVersion } from '../../../runtime/predictor-slot.js';
import type { CloudTarget } from '../../cloud/target.js';
import { BuildError, bundleOnce } from '../../dev/bundler.js';
import { cudaRepository, defaultCudaBases, eksImageProblem, ensureCudaImage, ensureRuntimeImage, registryBase, runtimeRepository } from '../../image/index.js';
import { applySpec, DeployError, gatewayAddress, waitForRollout, type Applied } from '../../kube/deploy.js';
import { labels } from '../../kube/names.js';
import { adminSecretName, render, type KubeObject, type Profile } from '../../kube/render.js';
import type { Rollout } from '../../kube/rollout.js';
import { refusedEverywhere, type PredictorBundle } from '../../model/backend.js';
import { loadSpec, type Spec } from '../../spec/index.js';
import { readDuration } from '../../spec/quantities.js';
import { UserError } from '../../user-error.js';
import { curlLine } from '../get-view.js';
import { printImageProgress, printPushProgress } from '../image-progress.js';
import { findSample } from '../samples.js';

export interface DeployFlags {
  cloud?: boolean;
  dryRun?: boolean;
  /** cluster.yaml (default ./cluster.yaml, else the defaults). */
  cluster?: string;
  base?: string;
  cudaImage?: string;
  /** How long to wait for the rollout, e.g. "10m". */
  timeout?: string;
}

export interface DeployIo {
  print(line: string): void;
  /** Image build and push progress (stderr for a person). */
  progress: NodeJS.WritableStream;
}

/** Settings a person never changes, that the tests do (a kind cluster's LoadBalancer never gets an address). */
export interface DeployTuning {
  endpointWaitMs?: number;
}

export interface DeployReport {
  applied: Applied;
  rollout: Rollout[];
  images: { runtime: string; cuda?: string; pushed: string[] };
  endpoint: string | undefined;
  ms: number;
}

const defaultTimeout = '10m';
const defaultEndpointWaitMs = 180_000;

const defaultIo = (): DeployIo => ({ print: (line) => console.log(line), progress: process.stderr });

/** The apis of a spec by the image they run: the CPU runtime, or the CUDA variant (compute.gpu > 0). */
export function apisByImage(spec: Spec): { cpu: string[]; gpu: Array<{ name: string; gpu: number }> } {
  return {
    cpu: spec.apis.filter((a) => a.compute.gpu === 0).map((a) => a.name),
    gpu: spec.apis.filter((a) => a.compute.gpu > 0).map((a) => ({ name: a.name, gpu: a.compute.gpu })),
  };
}

export interface PlanImages {
  /** Where the runtime image goes, e.g. …/cortex/cortex-runtime:<tag>. */
  runtime: string;
  /** Where the CUDA image goes, or the image given with --cuda-image. */
  cuda?: string;
  cudaGiven?: boolean;
}

/** What images a deploy builds and pushes, and for which apis: the start of `deploy` and all of `--dry-run`'s image plan. */
export function imagePlan(spec: Spec, images: PlanImages): string[] {
  const { cpu, gpu } = apisByImage(spec);
  const bases = defaultCudaBases();
  const lines = [`  runtime  ${runtimeRepository}:<content-tag> (cortex build's image) → ${images.runtime}, for the gateway, the autoscaler${cpu.length ? ` and ${cpu.join(', ')}` : ''}`];
  if (gpu.length) {
    const apis = gpu.map((a) => `${a.name} (compute.gpu ${a.gpu})`).join(', ');
    lines.push(
      images.cudaGiven
        ? `  cuda     ${images.cuda}, as given with --cuda-image, for ${apis}`
        : `  cuda     ${cudaRepository}:<content-tag> on ${bases.cuda} (CUDA 13, cuDNN 9: GPU nodes need NVIDIA driver ≥ 580), node from ${bases.node}, onnxruntime-node's CUDA 13 libraries from NuGet → ${images.cuda}, for ${apis}`,
    );
  }
  return lines;
}

/** The objects as YAML for a person: the bundle shown by size and version, the admin token not at all. */
export function objectsYaml(objects: readonly KubeObject[]): string {
  return objects
    .map((object) => {
      const shown = structuredClone(object) as KubeObject & { binaryData?: Record<string, string>; stringData?: Record<string, string> };
      if (shown.kind === 'ConfigMap' && shown.binaryData) {
        const version = shown.metadata?.annotations?.['cortex.dev/predictor-version'] ?? '?';
        for (const key of Object.keys(shown.binaryData)) shown.binaryData[key] = `<${Buffer.from(shown.binaryData[key]!, 'base64').length} bytes: the gzipped predictor bundle, version ${version}>`;
      }
      if (shown.kind === 'Secret' && shown.metadata?.name === adminSecretName && shown.stringData) shown.stringData = { token: '<generated at deploy, or kept from the cluster>' };
      return stringify(shown, { aliasDuplicateObjects: false, lineWidth: 0 }).trimEnd();
    })
    .join('\n---\n');
}

async function bundlesOf(spec: Spec): Promise<Map<string, PredictorBundle>> {
  const bundles = new Map<string, PredictorBundle>();
  for (const api of spec.apis) {
    let code: string;
    try {
      ({ code } = await bundleOnce(api.predictor.path));
    } catch (err) {
      if (err instanceof BuildError) throw new UserError(`api ${api.name}: the predictor does not compile: ${err.message}`);
      throw err;
    }
    const config = api.predictor.config;
    bundles.set(api.name, { code, config, version: bundleVersion({ code, config }) });
  }
  return bundles;
}

function timeoutMs(flag: string | undefined): number {
  const ms = readDuration(flag ?? defaultTimeout);
  if (ms === undefined || ms <= 0) throw new UserError(`--timeout ${flag}: expected a duration like "10m", "90s" or "1m30s"`);
  return ms;
}

const elapsed = (ms: number) => {
  const s = Math.round(ms / 1000);
  return `[${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s]`;
};

/** The images the cluster's cortex Deployments run now: a reference already there is not pushed again. */
async function liveImages(kc: KubeConfig, namespace: string): Promise<Set<string>> {
  const { items } = await kc
    .makeApiClient(AppsV1Api)
    .listNamespacedDeployment({ namespace, labelSelector: `${labels.managedBy}=cortex` })
    .catch(() => ({ items: [] }));
  return new Set(items.flatMap((d) => d.spec?.template.spec?.containers.map((c) => c.image ?? '') ?? []));
}

/** Per api, its endpoint behind the gateway and a curl that posts the project's sample, as `cortex get API` shows them. */
export async function endpointLines(gateway: string, spec: Spec): Promise<string[]> {
  const sample = await findSample(spec.dir);
  return spec.apis.flatMap((api) => {
    const endpoint = `${gateway}${api.networking.endpoint}`;
    return [`endpoint: ${endpoint}`, curlLine({ name: api.name, endpoint }, sample, { cloud: true })];
  });
}

/** The dry run: the plan and the objects, from cortex.yaml and cluster.yaml alone. */
export async function deployDryRun(spec: Spec, bundles: ReadonlyMap<string, PredictorBundle>, where: { description: string; registry: string; namespace: string; profile: Profile }, flags: DeployFlags, io: DeployIo): Promise<void> {
  const { gpu } = apisByImage(spec);
  const runtime = `${where.registry}:<content-tag>`;
  const cuda = gpu.length ? (flags.cudaImage ?? `${where.registry}:cuda-<content-tag>`) : undefined;
  io.print(`cortex deploy --cloud --dry-run: ${spec.apis.length} api${spec.apis.length === 1 ? '' : 's'} of ${spec.file} to ${where.description}, namespace ${where.namespace}; nothing is built, pushed or applied`);
  io.print('images:');
  for (const line of imagePlan(spec, { runtime, ...(cuda ? { cuda } : {}), ...(flags.cudaImage ? { cudaGiven: true } : {}) })) io.print(line);
  io.print(`then: apply the objects below (server-side, field manager cortex), prune apis no longer in cortex.yaml, wait for the rollout (--timeout ${flags.timeout ?? defaultTimeout}), print the load balancer's endpoint`);
  io.print('');
  const objects = render({ spec, image: runtime, ...(cuda ? { gpuImage: cuda } : {}), bundles, profile: where.profile, namespace: where.namespace, adminToken: '' });
  for (const line of objectsYaml(objects).split('\n')) io.print(line);
}

/**
 * `cortex deploy --cloud DIR` against `target` (the EKS cluster of cluster.yaml in the CLI; any
 * cluster in the tests). Resolves with what happened; a refused predictor or a rollout that did
 * not finish is a DeployError after what could be done was done.
 */
export async function deployCloud(dir: string, flags: DeployFlags, target: CloudTarget, io: DeployIo = defaultIo(), tuning: DeployTuning = {}): Promise<DeployReport> {
  const started = performance.now();
  const wait = timeoutMs(flags.timeout);
  const spec = await loadSpec(dir);
  const bundles = await bundlesOf(spec);
  const { gpu } = apisByImage(spec);
  io.print(`deploying ${spec.apis.length} api${spec.apis.length === 1 ? '' : 's'} of ${spec.file} to ${target.description}, namespace ${target.namespace}`);

  // Images: content-tagged, so an unchanged runtime is a check of a few hundred ms, not a build.
  const runtime = await ensureRuntimeImage({ ...(flags.base ? { base: flags.base } : {}), onEvent: printImageProgress(io.progress) });
  io.print(`runtime image ${runtime.tag}: ${runtime.cached ? `cached (checked in ${(runtime.checkMs / 1000).toFixed(1)} s)` : `built in ${((runtime.checkMs + runtime.buildMs) / 1000).toFixed(1)} s`}`);
  let cudaLocal: string | undefined;
  if (gpu.length && !flags.cudaImage) {
    const cuda = await ensureCudaImage({ apis: gpu.map((a) => a.name), onEvent: printImageProgress(io.progress) });
    io.print(`CUDA image ${cuda.tag}: ${cuda.cached ? 'cached' : `built in ${((cuda.checkMs + cuda.buildMs) / 1000).toFixed(1)} s`}`);
    cudaLocal = cuda.tag;
  }
  const runtimeRef = await target.images.reference(runtime.tag, 'cpu');
  const cudaRef = gpu.length ? (flags.cudaImage ?? (await target.images.reference(cudaLocal!, 'cuda'))) : undefined;
  io.print(`images go to ${await target.images.describe()}:`);
  for (const line of imagePlan(spec, { runtime: runtimeRef, ...(cudaRef ? { cuda: cudaRef } : {}), ...(flags.cudaImage ? { cudaGiven: true } : {}) })) io.print(line);

  const running = await liveImages(await target.kubeConfig(), target.namespace);
  const pushed: string[] = [];
  for (const [local, reference] of [[runtime.tag, runtimeRef], ...(cudaLocal && cudaRef ? [[cudaLocal, cudaRef]] : [])] as Array<[string, string]>) {
    if (running.has(reference)) {
      io.print(`image ${reference}: the cluster runs it already, not pushed`);
      continue;
    }
    io.print(await target.images.publish(local, reference, printPushProgress(io.progress)));
    pushed.push(reference);
  }

  // Asked for again now, not before the pushes: a first CUDA push of gigabytes can outlast an EKS
  // token (15 minutes), and the target renews it only when asked.
  const kc = await target.kubeConfig();
  const applied = await applySpec({ kc, spec, bundles, image: runtimeRef, ...(cudaRef ? { gpuImage: cudaRef } : {}), profile: target.profile, namespace: target.namespace, onLine: (line) => io.print(line) });
  const swapped = new Map(applied.apis.filter((a) => a.swap && !refusedEverywhere(a.swap.outcome)).map((a) => [a.api, bundles.get(a.api)!]));
  io.print(`waiting for the rollout (at most ${flags.timeout ?? defaultTimeout}):`);
  const rollout = await waitForRollout({
    kubeConfig: () => target.kubeConfig(),
    namespace: target.namespace,
    spec,
    timeoutMs: wait,
    swapped,
    token: applied.token,
    onProgress: (line, ms) => io.print(`  ${elapsed(ms)} ${line}`),
  });
  const address = await gatewayAddress(() => target.kubeConfig(), target.namespace, tuning.endpointWaitMs ?? defaultEndpointWaitMs);
  const gateway = address ? `http://${address}` : undefined;
  if (gateway) {
    for (const line of await endpointLines(gateway, spec)) io.print(line);
  } else {
    io.print(`endpoint: the load balancer of service cortex-gateway (namespace ${target.namespace}) has no address yet; on EKS it comes within minutes: cortex get --cloud shows it`);
  }
  const ms = Math.round(performance.now() - started);
  const refused = applied.apis.filter((a) => a.swap && refusedEverywhere(a.swap.outcome));
  if (refused.length) {
    const why = refused.map((a) => `${a.api} (${a.swap!.outcome.failed.map((f) => `${f.location ? `${f.location}: ` : ''}${f.error}`)[0]})`).join('; ');
    throw new DeployError(`every pod refused the new predictor of ${why}; the previous predictor keeps serving: fix it and deploy again`);
  }
  io.print(`deployed in ${(ms / 1000).toFixed(1)} s`);
  return { applied, rollout, images: { runtime: runtimeRef, ...(cudaRef ? { cuda: cudaRef } : {}), pushed }, endpoint: gateway, ms };
}

export function registerDeploy(program: Command): void {
  program
    .command('deploy')
    .description('deploy the apis of DIR to EKS (--cloud): images to ECR, the same objects as kind, GPU nodes for compute.gpu; again after an edit, only the predictor moves')
    .argument('[dir]', 'folder with cortex.yaml', '.')
    .option('--cloud', 'deploy to the EKS cluster of cluster.yaml (cortex cluster up --cloud)')
    .option('--dry-run', 'print the image plan and the objects; builds, pushes and applies nothing, needs no credentials')
    .option('-c, --cluster <cluster.yaml>', 'the EKS cluster config (default ./cluster.yaml, else the cortex defaults)')
    .option('--base <image>', `base image for the runtime image (default ${registryBase()}, or an offline base)`)
    .option('--cuda-image <image>', 'for apis with compute.gpu > 0: this CUDA runtime image (one the cluster can pull) instead of building the CUDA variant')
    .option('--timeout <duration>', 'how long to wait for the rollout', defaultTimeout)
    .action(async (dir: string, flags: DeployFlags) => {
      if (!flags.cloud) throw new UserError('cortex deploy needs --cloud: it deploys to EKS (cortex cluster up --cloud makes the cluster); cortex dev runs the apis locally');
      const [{ resolveClusterConfig }, { eksTarget, runtimeRepositoryName }, { profiles }, { gatewayServiceAnnotations }] = await Promise.all([
        import('./cloud.js'),
        import('../../cloud/target.js'),
        import('../../kube/render.js'),
        import('../../cloud/eksctl-config.js'),
      ]);
      const config = await resolveClusterConfig(flags.cluster);
      if (flags.dryRun) {
        const spec = await loadSpec(dir);
        const registry = `<account>.dkr.ecr.${config.region}.amazonaws.com/${runtimeRepositoryName(config)}`;
        const where = { description: `EKS cluster "${config.clusterName}" in ${config.region}`, registry, namespace: 'cortex', profile: profiles.eks({ gatewayAnnotations: gatewayServiceAnnotations(config) }) };
        return deployDryRun(spec, await bundlesOf(spec), where, flags, defaultIo());
      }
      // Before any AWS call or build: what is built here must start on EKS's amd64 nodes.
      const platform = eksImageProblem(process);
      if (platform) throw new UserError(platform);
      const target = eksTarget(config);
      try {
        await deployCloud(dir, flags, target);
      } finally {
        target.close();
      }
    });
}

// The Kubernetes half of `cortex deploy --cloud`: the objects kind gets (render.ts, here with the
// eks profile) applied with the same ClusterClient, apis gone from cortex.yaml pruned, and for each
// api what changed decides what happens. A new api, or one whose pod template changed (compute,
// image, env), gets its bundle ConfigMap and then its Deployment, so the pods that roll out start
// from the new bundle. One whose only change is its predictor (code or config) keeps its pods: the
// bundle is hot-swapped into them through the pod proxy, then into the ConfigMap (hot-swap.ts, the
// same code as `cortex dev --backend kind`). Then the wait for the rollout, and the gateway's
// load balancer address. The cluster is whatever KubeConfig it is given: EKS, or kind in the tests.
import { randomBytes } from 'node:crypto';
import { AppsV1Api, CoreV1Api, type KubeConfig, type V1Deployment, type V1Pod } from '@kubernetes/client-node';
import { readiness } from '../../runtime/client.js';
import { refusedEverywhere, type PredictorBundle, type ReloadOutcome } from '../model/backend.js';
import type { Spec } from '../spec/index.js';
import { UserError } from '../user-error.js';
import { ClusterClient } from './apply.js';
import { loadBalancerAddress } from './cluster-status.js';
import { bundleConfigMap, existingAdminToken, hotSwap, pushAndVerify, syncPod } from './hot-swap.js';
import { annotations, labels } from './names.js';
import { podReplica } from './observed.js';
import { podProxy, type PodEndpoint } from './pod-proxy.js';
import { gatewayServiceName, renderApi, renderCluster, type KubeObject, type Profile, type RenderInput } from './render.js';
import { describeRollouts, rolloutOf, rolloutTimeout, type Rollout } from './rollout.js';

/** A deploy that could not finish: a refused predictor, a rollout that timed out. One line, exit code 2. */
export class DeployError extends UserError {
  override name = 'DeployError';
}

export type ApiAction = 'create' | 'rollout' | 'hot-swap' | 'unchanged';

export interface ActionFacts {
  /** The api's Deployment is in the cluster. */
  exists: boolean;
  /** Applying the rendered Deployment would change its pod template (a server-side dry run says so). */
  templateChanged: boolean;
  /** The version the api's bundle ConfigMap holds. */
  liveVersion: string | undefined;
  version: string;
}

/** What deploying one api does, from what the cluster has and what the apply would change. */
export function apiAction(f: ActionFacts): ApiAction {
  if (!f.exists) return 'create';
  if (f.templateChanged) return 'rollout';
  return f.liveVersion === f.version ? 'unchanged' : 'hot-swap';
}

/** JSON with sorted keys and no undefined, so two decodings of one object compare equal. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

export interface ApplyOptions {
  kc: KubeConfig;
  spec: Spec;
  bundles: ReadonlyMap<string, PredictorBundle>;
  /** The runtime image as the cluster pulls it; `gpuImage` the CUDA variant's, for apis with compute.gpu > 0. */
  image: string;
  gpuImage?: string;
  profile: Profile;
  namespace: string;
  onLine?: (line: string) => void;
}

export interface ApiApplied {
  api: string;
  action: ApiAction;
  version: string;
  /** A hot swap: each pod's answer, and the time from the first push to the ConfigMap written. */
  swap?: { outcome: ReloadOutcome; ms: number };
}

export interface Applied {
  apis: ApiApplied[];
  /** kind/name of what went because its api left cortex.yaml. */
  pruned: string[];
  /** The admin token the pods run with (kept from the Secret, or new). */
  token: string;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

/** Applies the spec's objects, hot-swapping apis whose only change is the predictor; prunes the apis cortex.yaml no longer has. */
export async function applySpec(o: ApplyOptions): Promise<Applied> {
  const say = o.onLine ?? (() => {});
  const client = new ClusterClient(o.kc);
  const core = o.kc.makeApiClient(CoreV1Api);
  const apps = o.kc.makeApiClient(AppsV1Api);
  const token = (await existingAdminToken(core, o.namespace)) ?? randomBytes(16).toString('hex');
  const input: RenderInput = { spec: o.spec, image: o.image, ...(o.gpuImage ? { gpuImage: o.gpuImage } : {}), bundles: o.bundles, profile: o.profile, namespace: o.namespace, adminToken: token };
  await client.apply(renderCluster(input));
  const endpoint = podProxy(o.kc);

  const applied: ApiApplied[] = [];
  for (const api of o.spec.apis) {
    const bundle = o.bundles.get(api.name)!;
    const objects = renderApi(input, api);
    const of = (kind: string) => objects.find((x) => x.kind === kind)!;
    const [configMap, deployment, service] = [of('ConfigMap'), of('Deployment') as V1Deployment, of('Service')];
    const name = deployment.metadata!.name!;
    const live = await apps.readNamespacedDeployment({ name, namespace: o.namespace }).catch(() => undefined);
    let templateChanged = false;
    if (live) {
      const [dry] = (await client.apply([deployment], { dryRun: true })) as V1Deployment[];
      templateChanged = canonicalJson(dry?.spec?.template) !== canonicalJson(live.spec?.template);
    }
    const liveMap = live ? await core.readNamespacedConfigMap({ name: configMap.metadata!.name!, namespace: o.namespace }).catch(() => undefined) : undefined;
    const action = apiAction({ exists: live !== undefined, templateChanged, liveVersion: liveMap?.metadata?.annotations?.[annotations.version], version: bundle.version });
    if (action !== 'hot-swap') {
      // The bundle first: pods that roll out read it when they start.
      await client.apply([configMap, deployment, service] as KubeObject[]);
      say(`${api.name}: ${describeAction(action)}`);
      applied.push({ api: api.name, action, version: bundle.version });
      continue;
    }
    // The pod template is unchanged, so applying the Deployment starts no pod; the bundle goes into the running ones.
    await client.apply([deployment, service] as KubeObject[]);
    const pods = await podsOf(core, o.namespace, deployment);
    const started = performance.now();
    const outcome = await hotSwap({
      pods,
      version: bundle.version,
      push: (pod) => pushAndVerify(endpoint(o.namespace, pod), token, bundle),
      commit: async () => void (await client.apply([bundleConfigMap(input, api, bundle)])),
    });
    const ms = Math.round(performance.now() - started);
    applied.push({ api: api.name, action, version: bundle.version, swap: { outcome, ms } });
    if (refusedEverywhere(outcome)) {
      say(`${api.name}: every pod refused predictor ${bundle.version.slice(0, 12)}; the old one keeps serving`);
    } else {
      say(`${api.name}: predictor ${bundle.version.slice(0, 12)} hot-swapped into ${outcome.ok.length} pod${outcome.ok.length === 1 ? '' : 's'} in ${seconds(ms)} (no image built, pushed or pulled)`);
    }
    for (const f of outcome.failed) say(`  pod ${f.replica} refused it: ${f.location ? `${f.location}: ` : ''}${f.error}`);
  }
  const pruned = await client.pruneApis(o.namespace, o.spec.deployment, o.spec.apis.map((a) => a.name));
  for (const what of pruned) say(`removed ${what} (its api is no longer in cortex.yaml)`);
  return { apis: applied, pruned, token };
}

function describeAction(action: Exclude<ApiAction, 'hot-swap'>): string {
  return { create: 'created', rollout: 'pod template changed: rolling out new pods', unchanged: 'unchanged' }[action];
}

async function podsOf(core: CoreV1Api, namespace: string, deployment: V1Deployment): Promise<V1Pod[]> {
  const selector = Object.entries(deployment.spec?.selector?.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`).join(',');
  return (await core.listNamespacedPod({ namespace, labelSelector: selector })).items;
}

/** The api Deployments of `spec` and the cluster's components, as the namespace has them now. */
async function rollouts(apps: AppsV1Api, core: CoreV1Api, namespace: string, spec: Spec): Promise<{ rollouts: Rollout[]; pods: V1Pod[] }> {
  const managed = `${labels.managedBy}=cortex`;
  const [deployments, pods] = await Promise.all([apps.listNamespacedDeployment({ namespace, labelSelector: managed }), core.listNamespacedPod({ namespace, labelSelector: managed })]);
  const result: Rollout[] = [];
  const order = (d: V1Deployment) => (d.metadata?.labels?.[labels.component] === 'api' ? 1 : 0);
  for (const d of deployments.items.sort((a, b) => order(b) - order(a) || (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''))) {
    const l = d.metadata?.labels ?? {};
    const api = l[labels.component] === 'api' ? spec.apis.find((a) => a.name === l[labels.api] && a.deployment === l[labels.deployment]) : undefined;
    // Another cortex deployment's apis in the namespace are not this rollout's business.
    if (l[labels.component] === 'api' && !api) continue;
    const wanted = d.spec?.selector?.matchLabels ?? {};
    const own = pods.items.filter((p) => Object.entries(wanted).every(([k, v]) => p.metadata?.labels?.[k] === v));
    result.push(rolloutOf(d, own, api?.autoscaling.initReplicas));
  }
  return { rollouts: result, pods: pods.items };
}

export interface WaitOptions {
  /** Asked on every poll: an EKS token lasts 15 minutes, a wait for GPU nodes may be longer. */
  kubeConfig: () => Promise<KubeConfig>;
  namespace: string;
  spec: Spec;
  timeoutMs: number;
  /** Apis whose bundle was hot-swapped: each of their ready pods must serve this bundle (a pod that started from the old ConfigMap gets it). */
  swapped?: ReadonlyMap<string, PredictorBundle>;
  token?: string;
  onProgress?: (line: string, elapsedMs: number) => void;
  pollMs?: number;
}

/**
 * Waits until every Deployment of the spec (and the gateway and autoscaler) has all the pods it
 * asks for ready, of its current template. On timeout: a DeployError naming each pod that holds
 * the rollout up and why (the cluster's reason, or the pod's own /readyz word).
 */
export async function waitForRollout(o: WaitOptions): Promise<Rollout[]> {
  const started = Date.now();
  const confirmed = new Set<string>();
  let shown = '';
  let shownAt = 0;
  let proxy: { kc: KubeConfig; endpoint: PodEndpoint } | undefined;
  for (;;) {
    const kc = await o.kubeConfig();
    // One pod proxy (its TLS agent) per KubeConfig, not per poll.
    if (proxy?.kc !== kc) proxy = { kc, endpoint: podProxy(kc) };
    const endpoint = proxy.endpoint;
    const { rollouts: now, pods } = await rollouts(kc.makeApiClient(AppsV1Api), kc.makeApiClient(CoreV1Api), o.namespace, o.spec);
    const unsynced = await syncSwapped(o, pods, confirmed, endpoint);
    const elapsed = Date.now() - started;
    const line = describeRollouts(now) + (unsynced.length ? `; giving ${unsynced.join(', ')} the new predictor` : '');
    if (line !== shown || elapsed - shownAt >= 15_000) {
      o.onProgress?.(line, elapsed);
      shown = line;
      shownAt = elapsed;
    }
    if (now.every((r) => r.done) && unsynced.length === 0) return now;
    if (elapsed >= o.timeoutMs) {
      // Pods the cluster names no problem for (running, not ready): their own reason, from /readyz.
      const said = new Map<string, string>();
      await Promise.all(
        pods
          .filter((p) => !p.metadata?.deletionTimestamp && podReplica(p).status === 'starting' && p.status?.containerStatuses?.[0]?.state?.running)
          .map(async (p) => {
            const r = await readiness(endpoint(o.namespace, p.metadata!.name!));
            if (!r.ready && r.error) said.set(p.metadata!.name!, `not ready: ${r.error}`);
          }),
      );
      throw new DeployError(rolloutTimeout(now, Math.round(o.timeoutMs / 1000), said));
    }
    await new Promise((r) => setTimeout(r, o.pollMs ?? 1000));
  }
}

/** Each ready pod of a hot-swapped api serves its bundle, or gets it now; returns the pods still on their way. */
async function syncSwapped(o: WaitOptions, pods: readonly V1Pod[], confirmed: Set<string>, endpoint: PodEndpoint): Promise<string[]> {
  if (!o.swapped?.size || !o.token) return [];
  const token = o.token;
  const pending: string[] = [];
  await Promise.all(
    pods.map(async (pod) => {
      const id = pod.metadata!.name!;
      const bundle = o.swapped!.get(pod.metadata?.labels?.[labels.api] ?? '');
      if (!bundle || confirmed.has(id) || podReplica(pod).status !== 'ready') return;
      const to = endpoint(o.namespace, id);
      const serves = await syncPod(to, bundle.version, () => pushAndVerify(to, token, bundle));
      if (serves === bundle.version) confirmed.add(id);
      else pending.push(id);
    }),
  );
  return pending.sort();
}

/** The gateway load balancer's address, waiting up to `waitMs` for the cloud to give it one. */
export async function gatewayAddress(kubeConfig: () => Promise<KubeConfig>, namespace: string, waitMs: number, pollMs = 2000): Promise<string | undefined> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const core = (await kubeConfig()).makeApiClient(CoreV1Api);
    const service = await core.readNamespacedService({ name: gatewayServiceName, namespace }).catch(() => undefined);
    const address = loadBalancerAddress(service);
    if (address || Date.now() >= deadline) return address;
    await new Promise((r) => setTimeout(r, Math.min(pollMs, Math.max(0, deadline - Date.now()))));
  }
}

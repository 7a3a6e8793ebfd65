// Hot reload into pods, the one way both Kubernetes paths do it: `cortex dev --backend kind` on a
// save, and `cortex deploy --cloud` run again after an edit. The bundle goes to every pod that
// serves (or whose predictor failed) through the API server's pod proxy, with the admin token
// pods read from the cortex-admin Secret; then, unless every pod refused it (the code's fault,
// so the old bundle stays), into the bundle ConfigMap that new and restarted pods start from.
// No image is built, pushed or pulled for a predictor change.
import type { CoreV1Api, V1ConfigMap, V1Pod } from '@kubernetes/client-node';
import { pushBundle, readiness, type Endpoint, type SwapResult } from '../../runtime/client.js';
import { refusedEverywhere, type PredictorBundle, type ReloadOutcome } from '../model/backend.js';
import type { ApiSpec } from '../spec/index.js';
import { podReplica } from './observed.js';
import { adminSecretName, renderApi, type RenderInput } from './render.js';

/** The token pods already run with (they read it from the Secret when they start), if the namespace has one. */
export async function existingAdminToken(core: CoreV1Api, namespace: string): Promise<string | undefined> {
  const secret = await core.readNamespacedSecret({ name: adminSecretName, namespace }).catch(() => undefined);
  const token = secret?.data?.token;
  return token ? Buffer.from(token, 'base64').toString('utf8') : undefined;
}

/** The pods a new bundle is pushed to: those serving, and those whose predictor failed (a good bundle mends them). */
export function swapTargets(pods: readonly V1Pod[]): V1Pod[] {
  return pods.filter((p) => {
    const status = podReplica(p).status;
    return status === 'ready' || status === 'error';
  });
}

/** A pod's answer to a push; `notReady` when it took the bundle but then did not say it serves. */
export type PodSwap = SwapResult & { notReady?: true };

/** Pushes `bundle` to one pod, then asks it whether it serves: the version it really serves, or why not. */
export async function pushAndVerify(endpoint: Endpoint, token: string, bundle: PredictorBundle): Promise<PodSwap> {
  try {
    const result = await pushBundle(endpoint, token, bundle);
    if (!result.ok) return result;
    const ready = await readiness(endpoint);
    if (!ready.ready) return { ok: false, version: bundle.version, error: ready.error, notReady: true };
    return { ...result, version: ready.version ?? result.version };
  } catch (err) {
    return { ok: false, version: bundle.version, error: (err as Error).message };
  }
}

export interface HotSwap {
  /** The api's pods as the cluster has them now; the push goes to swapTargets(pods). */
  pods: readonly V1Pod[];
  version: string;
  push(pod: string): Promise<SwapResult>;
  /** Makes the bundle the api's current one (its ConfigMap): called unless every pod refused it. */
  commit(): Promise<void>;
}

/** Every target at once; then the rollback rule (refusedEverywhere) decides whether the bundle is committed. */
export async function hotSwap({ pods, version, push, commit }: HotSwap): Promise<ReloadOutcome> {
  const outcome: ReloadOutcome = { version, ok: [], failed: [] };
  await Promise.all(
    swapTargets(pods).map(async (pod) => {
      const id = pod.metadata!.name!;
      const result = await push(id);
      if (result.ok) outcome.ok.push(id);
      else outcome.failed.push({ replica: id, error: result.error ?? 'refused', ...(result.location ? { location: result.location } : {}) });
    }),
  );
  if (!refusedEverywhere(outcome)) await commit();
  return outcome;
}

/**
 * A ready pod that serves another version than `version` (it started from the ConfigMap just
 * before a swap, or missed one) gets the current bundle. `onServing` hears the version it serves
 * before any push; resolves to the version it serves after.
 */
export async function syncPod(endpoint: Endpoint, version: string, push: () => Promise<SwapResult>, onServing: (version: string) => void = () => {}): Promise<string | undefined> {
  const ready = await readiness(endpoint);
  if (!ready.ready) return undefined;
  if (ready.version) onServing(ready.version);
  if (ready.version === version) return version;
  const result = await push();
  return result.ok ? result.version : ready.version;
}

/** The api's bundle ConfigMap holding `bundle`: what `commit` applies. */
export function bundleConfigMap(input: Omit<RenderInput, 'bundles'>, api: ApiSpec, bundle: PredictorBundle): V1ConfigMap {
  const configMap = renderApi({ ...input, bundles: new Map([[api.name, bundle]]) }, api).find((o) => o.kind === 'ConfigMap');
  return configMap as V1ConfigMap;
}

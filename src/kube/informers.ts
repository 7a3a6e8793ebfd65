// Watches on cortex's api Deployments and their pods in one namespace (client-go's informers, as
// @kubernetes/client-node has them): a cache that the gateway, the autoscaler and the kind backend
// read synchronously, kept current by a watch that is started again whenever it drops.
import { AppsV1Api, CoreV1Api, makeInformer, type Informer, type KubeConfig, type KubernetesObject, type ObjectCache, type V1Deployment, type V1Pod } from '@kubernetes/client-node';
import { labels } from './names.js';

export type Cached<T extends KubernetesObject> = Informer<T> & ObjectCache<T>;

export interface ApiInformers {
  deployments: Cached<V1Deployment>;
  pods: Cached<V1Pod>;
  /** Resolves once both caches hold the first list. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** The pods a Deployment selects. */
  podsOf(deployment: V1Deployment): V1Pod[];
}

const apiSelector = `${labels.managedBy}=cortex,${labels.component}=api`;

/** `onError` hears of each watch that dropped (it is started again after `restartMs`). */
export function apiInformers(kc: KubeConfig, namespace: string, onError: (what: 'deployments' | 'pods', err: unknown) => void = () => {}, restartMs = 1000): ApiInformers {
  const apps = kc.makeApiClient(AppsV1Api);
  const core = kc.makeApiClient(CoreV1Api);
  const deployments = makeInformer<V1Deployment>(kc, `/apis/apps/v1/namespaces/${namespace}/deployments`, () => apps.listNamespacedDeployment({ namespace, labelSelector: apiSelector }), apiSelector);
  const pods = makeInformer<V1Pod>(kc, `/api/v1/namespaces/${namespace}/pods`, () => core.listNamespacedPod({ namespace, labelSelector: apiSelector }), apiSelector);
  let stopped = false;
  // A watch that drops (API server restart, timeout) is started again; the cache keeps serving meanwhile.
  const restart = (what: 'deployments' | 'pods', informer: Informer<V1Deployment> | Informer<V1Pod>) => (err: unknown) => {
    if (stopped) return;
    onError(what, err);
    setTimeout(() => void (stopped || informer.start().catch(restart(what, informer))), restartMs).unref();
  };
  deployments.on('error', restart('deployments', deployments));
  pods.on('error', restart('pods', pods));
  return {
    deployments,
    pods,
    // A first list that fails is retried like a dropped watch.
    start: async () => {
      await Promise.all([deployments.start().catch(restart('deployments', deployments)), pods.start().catch(restart('pods', pods))]);
    },
    stop: async () => {
      stopped = true;
      await Promise.all([deployments.stop(), pods.stop()]);
    },
    podsOf: (deployment) => {
      const wanted = deployment.spec?.selector?.matchLabels ?? {};
      return pods.list().filter((p) => Object.entries(wanted).every(([k, v]) => p.metadata?.labels?.[k] === v));
    },
  };
}

// The status model (src/model) read from a cluster rather than from a dev session, for `cortex
// get|logs|predict|delete --cloud`: a pod is a replica (podReplica), an api Deployment's replicas
// are what was requested, its decision annotation is the autoscaler's word, its bundle
// ConfigMap's version is the version it should serve, and each ready pod says what it serves
// (and its figures) through the pod proxy. `apiFactsOf` is the pure part; `readCluster` and
// `ClusterView` do the reads.
import { AppsV1Api, CoreV1Api, type KubeConfig, type V1ConfigMap, type V1Deployment, type V1Pod, type V1Service } from '@kubernetes/client-node';
import { readiness } from '../../runtime/client.js';
import type { ReplicaInfo } from '../model/backend.js';
import { buildSnapshot, type ApiFacts } from '../model/snapshot.js';
import type { SessionSnapshot, TrafficSnapshot } from '../model/status.js';
import { Collector } from '../scaling/collector.js';
import { TrafficWindow } from '../scaling/traffic.js';
import { annotations, bundleConfigMapName, fieldManager, labels } from './names.js';
import { decisionOf, podReplica } from './observed.js';
import { podProxy, type PodEndpoint } from './pod-proxy.js';
import { gatewayServiceName } from './render.js';
import { autoscalingOf } from './scale-plan.js';

/** One api as the cluster holds it. */
export interface ClusterApi {
  deployment: V1Deployment;
  pods: V1Pod[];
  configMap: V1ConfigMap | undefined;
}

export interface ClusterObjects {
  apis: ClusterApi[];
  gateway: V1Service | undefined;
}

/** The load balancer's address of the gateway Service, once the cloud has given it one. */
export function loadBalancerAddress(service: V1Service | undefined): string | undefined {
  const ingress = service?.status?.loadBalancer?.ingress?.[0];
  return ingress?.hostname ?? ingress?.ip ?? undefined;
}

/** The gateway's URL as `cortex get` shows it; a placeholder while the load balancer has no address. */
export const pendingGateway = 'http://<load-balancer-pending>';

export function gatewayUrl(service: V1Service | undefined): string {
  const address = loadBalancerAddress(service);
  if (!address) return pendingGateway;
  const port = service?.spec?.ports?.[0]?.port ?? 80;
  return `http://${address.includes(':') ? `[${address}]` : address}${port === 80 ? '' : `:${port}`}`;
}

/** When cortex last wrote an object (its field manager's time), else when it was made. */
function writtenAt(object: V1ConfigMap | V1Deployment | undefined): Date | undefined {
  const times = (object?.metadata?.managedFields ?? []).filter((f) => f.manager === fieldManager && f.time).map((f) => new Date(f.time!).getTime());
  if (times.length) return new Date(Math.max(...times));
  return object?.metadata?.creationTimestamp ? new Date(object.metadata.creationTimestamp) : undefined;
}

/** No traffic seen yet: what a window with nothing in it says. */
const emptyTraffic = (): TrafficSnapshot => new TrafficWindow().snapshot();

/**
 * One api's facts for buildSnapshot, from its objects (pure). `served` maps a pod to the version
 * it said it serves; `endpoint` is how to reach a pod's runtime (the pod proxy).
 */
export function apiFactsOf(api: ClusterApi, served: ReadonlyMap<string, string>, traffic: TrafficSnapshot = emptyTraffic(), endpoint?: PodEndpoint): ApiFacts {
  const d = api.deployment;
  const meta = d.metadata ?? {};
  const autoscaling = autoscalingOf(d);
  const decision = decisionOf(d);
  const initReplicas = autoscaling.ok ? autoscaling.spec.initReplicas : 1;
  const replicas: ReplicaInfo[] = api.pods.map((pod) => {
    const replica = podReplica(pod);
    const id = replica.id;
    return { ...replica, version: served.get(id), ...(endpoint ? { endpoint: endpoint(meta.namespace ?? '', id) } : {}) };
  });
  return {
    spec: {
      name: meta.labels?.[labels.api] ?? meta.name ?? '',
      deployment: meta.labels?.[labels.deployment] ?? '',
      networking: { endpoint: meta.annotations?.[annotations.endpoint] ?? '' },
      autoscaling: { minReplicas: autoscaling.ok ? autoscaling.spec.minReplicas : 1 },
    },
    version: api.configMap?.metadata?.annotations?.[annotations.version] ?? '',
    lastReload: null,
    update: 'none',
    updatedAt: writtenAt(api.configMap) ?? writtenAt(d) ?? new Date(0),
    autoscaler: decision ?? null,
    replicas,
    // Until the autoscaler has set replicas, the API server's default of 1 is nobody's request.
    requested: decision ? (d.spec?.replicas ?? 0) : initReplicas,
    traffic,
  };
}

const managed = `${labels.managedBy}=cortex`;
const apiSelector = `${managed},${labels.component}=api`;

/** The api Deployments, their pods and bundle ConfigMaps, and the gateway Service of one namespace. */
export async function readCluster(kc: KubeConfig, namespace: string): Promise<ClusterObjects> {
  const apps = kc.makeApiClient(AppsV1Api);
  const core = kc.makeApiClient(CoreV1Api);
  const [deployments, pods, maps, gateway] = await Promise.all([
    apps.listNamespacedDeployment({ namespace, labelSelector: apiSelector }),
    core.listNamespacedPod({ namespace, labelSelector: apiSelector }),
    core.listNamespacedConfigMap({ namespace, labelSelector: apiSelector }),
    core.readNamespacedService({ name: gatewayServiceName, namespace }).catch(() => undefined),
  ]);
  const apis = deployments.items
    .sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''))
    .map((deployment) => {
      const wanted = deployment.spec?.selector?.matchLabels ?? {};
      const deploymentName = deployment.metadata?.labels?.[labels.deployment] ?? '';
      const apiName = deployment.metadata?.labels?.[labels.api] ?? '';
      return {
        deployment,
        pods: pods.items.filter((p) => Object.entries(wanted).every(([k, v]) => p.metadata?.labels?.[k] === v)),
        configMap: maps.items.find((m) => m.metadata?.name === bundleConfigMapName(deploymentName, apiName)),
      };
    });
  return { apis, gateway };
}

/** The api named `name` in the cluster's objects (by its api label), if there is one. */
export function findApi(objects: ClusterObjects, name: string): ClusterApi | undefined {
  return objects.apis.find((a) => a.deployment.metadata?.labels?.[labels.api] === name || a.deployment.metadata?.name === name);
}

/**
 * Snapshots of one namespace, as `cortex get --cloud [--watch]` shows them: each call reads the
 * objects, asks every ready pod which version it serves, and scrapes their metrics (figures
 * since each pod started on the first call; over the last minute as calls repeat).
 */
export class ClusterView {
  private readonly collector = new Collector(() => 60_000);
  private readonly startedAt = new Date();
  /** The pod proxy of the last KubeConfig (its TLS agent kept while the KubeConfig is). */
  private proxy: { kc: KubeConfig; endpoint: PodEndpoint } | undefined;

  /** `kubeConfig` is asked for each snapshot: an EKS token lasts 15 minutes, a watch longer. */
  constructor(
    private readonly kubeConfig: () => Promise<KubeConfig>,
    private readonly namespace: string,
    private readonly description: string,
  ) {}

  async snapshot(): Promise<SessionSnapshot> {
    const kc = await this.kubeConfig();
    if (this.proxy?.kc !== kc) this.proxy = { kc, endpoint: podProxy(kc) };
    const endpoint = this.proxy.endpoint;
    const objects = await readCluster(kc, this.namespace);
    const served = new Map<string, string>();
    await Promise.all(
      objects.apis.flatMap((a) => a.pods).filter((p) => podReplica(p).status === 'ready').map(async (pod) => {
        const id = pod.metadata!.name!;
        const ready = await readiness(endpoint(this.namespace, id));
        if (ready.ready && ready.version) served.set(id, ready.version);
      }),
    );
    const facts = objects.apis.map((a) => apiFactsOf(a, served, undefined, endpoint));
    await this.collector.tick(new Map(facts.map((f) => [f.spec.name, f.replicas])));
    const started = objects.apis.map((a) => a.deployment.metadata?.creationTimestamp).filter((t): t is Date => t !== undefined).map((t) => new Date(t).getTime());
    return buildSnapshot({
      pid: 0,
      dir: '',
      backend: { name: 'eks', description: this.description },
      gateway: gatewayUrl(objects.gateway),
      startedAt: started.length ? new Date(Math.min(...started)) : this.startedAt,
      specError: null,
      apis: facts.map((f) => ({ ...f, traffic: this.collector.traffic(f.spec.name) })),
      figures: (id) => this.collector.figures(id),
    });
  }
}

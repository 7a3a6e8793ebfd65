// What `cortex cluster info` shows, read from the API server: the nodes, the Kubernetes version,
// and what cortex runs there: its gateway, its autoscaler and the apis (its Deployments, by label).
import { AppsV1Api, CoreV1Api, VersionApi, type KubeConfig, type V1Deployment } from '@kubernetes/client-node';
import { labels, type Component } from './names.js';

export interface ClusterInfo {
  server: string;
  version: string;
  nodes: Array<{ name: string; ready: boolean; kubelet: string; gpus: number }>;
  /** The gateway and the autoscaler, per namespace cortex runs in. */
  components: Array<{ namespace: string; component: Exclude<Component, 'api'>; ready: number; desired: number }>;
  apis: Array<{ namespace: string; deployment: string; api: string; ready: number; desired: number }>;
}

const counts = (d: V1Deployment) => ({ namespace: d.metadata!.namespace!, ready: d.status?.readyReplicas ?? 0, desired: d.spec?.replicas ?? 0 });

export async function clusterInfo(kc: KubeConfig): Promise<ClusterInfo> {
  const [version, nodes, deployments] = await Promise.all([
    kc.makeApiClient(VersionApi).getCode(),
    kc.makeApiClient(CoreV1Api).listNode(),
    kc.makeApiClient(AppsV1Api).listDeploymentForAllNamespaces({ labelSelector: `${labels.managedBy}=cortex` }),
  ]);
  const of = (component: Component) => deployments.items.filter((d) => d.metadata?.labels?.[labels.component] === component);
  return {
    server: kc.getCurrentCluster()?.server ?? '',
    version: version.gitVersion,
    nodes: nodes.items.map((n) => ({
      name: n.metadata!.name!,
      ready: n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
      kubelet: n.status?.nodeInfo?.kubeletVersion ?? '',
      gpus: Number(n.status?.allocatable?.['nvidia.com/gpu'] ?? 0),
    })),
    components: (['gateway', 'autoscaler'] as const).flatMap((component) => of(component).map((d) => ({ component, ...counts(d) }))),
    apis: of('api').map((d) => ({ deployment: d.metadata!.labels![labels.deployment]!, api: d.metadata!.labels![labels.api]!, ...counts(d) })),
  };
}

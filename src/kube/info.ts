// What `cortex cluster info` shows, read from the API server: the nodes, the Kubernetes version,
// and the apis cortex runs there (its Deployments, by label).
import { AppsV1Api, CoreV1Api, VersionApi, type KubeConfig } from '@kubernetes/client-node';
import { labels } from './names.js';

export interface ClusterInfo {
  server: string;
  version: string;
  nodes: Array<{ name: string; ready: boolean; kubelet: string; gpus: number }>;
  apis: Array<{ namespace: string; deployment: string; api: string; ready: number; desired: number }>;
}

export async function clusterInfo(kc: KubeConfig): Promise<ClusterInfo> {
  const [version, nodes, deployments] = await Promise.all([
    kc.makeApiClient(VersionApi).getCode(),
    kc.makeApiClient(CoreV1Api).listNode(),
    kc.makeApiClient(AppsV1Api).listDeploymentForAllNamespaces({ labelSelector: `${labels.managedBy}=cortex,${labels.component}=api` }),
  ]);
  return {
    server: kc.getCurrentCluster()?.server ?? '',
    version: version.gitVersion,
    nodes: nodes.items.map((n) => ({
      name: n.metadata!.name!,
      ready: n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
      kubelet: n.status?.nodeInfo?.kubeletVersion ?? '',
      gpus: Number(n.status?.allocatable?.['nvidia.com/gpu'] ?? 0),
    })),
    apis: deployments.items.map((d) => ({
      namespace: d.metadata!.namespace!,
      deployment: d.metadata!.labels![labels.deployment]!,
      api: d.metadata!.labels![labels.api]!,
      ready: d.status?.readyReplicas ?? 0,
      desired: d.spec?.replicas ?? 0,
    })),
  };
}

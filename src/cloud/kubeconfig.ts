// Kubernetes access to an EKS cluster without the aws CLI: the endpoint and CA from EKS
// DescribeCluster, and a bearer token signed here (eks-token.ts). `EksAccess` is what the eks
// backend hands src/kube: a KubeConfig whose token is renewed before it runs out (14 minutes).
// `execKubeconfigYaml` is the file for people (kubectl, k9s): its user runs `cortex cloud token`.
import { KubeConfig } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { describeCluster, type AwsClients, type ClusterEndpoint } from './aws.js';
import { eksToken } from './eks-token.js';

/** The kubeconfig names of a cluster: its ARN, like `aws eks update-kubeconfig` writes. */
function contextName(cluster: ClusterEndpoint): string {
  return cluster.arn ?? `eks-${cluster.name}`;
}

export function eksKubeConfig(cluster: ClusterEndpoint, token: string, namespace?: string): KubeConfig {
  const name = contextName(cluster);
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name, server: cluster.endpoint, caData: cluster.certificateAuthority, skipTLSVerify: false }],
    users: [{ name, token }],
    contexts: [{ name, cluster: name, user: name, ...(namespace ? { namespace } : {}) }],
    currentContext: name,
  });
  return kc;
}

/** A kubeconfig for kubectl whose user asks `cortex cloud token` for each token (no aws CLI). */
export function execKubeconfigYaml(cluster: ClusterEndpoint, region: string, command = 'cortex'): string {
  const name = contextName(cluster);
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name, cluster: { server: cluster.endpoint, 'certificate-authority-data': cluster.certificateAuthority } }],
    users: [{
      name,
      user: {
        exec: {
          apiVersion: 'client.authentication.k8s.io/v1beta1',
          command,
          args: ['cloud', 'token', '--cluster', cluster.name, '--region', region],
          interactiveMode: 'Never',
          provideClusterInfo: false,
        },
      },
    }],
    contexts: [{ name, context: { cluster: name, user: name } }],
    'current-context': name,
  });
}

/** Renews the token a minute before EKS would refuse it; describes the cluster once. */
export class EksAccess {
  private cluster: ClusterEndpoint | undefined;
  private current: { kc: KubeConfig; expiresAt: Date } | undefined;

  constructor(
    private readonly clients: AwsClients,
    private readonly clusterName: string,
    private readonly options: { namespace?: string; now?: () => Date } = {},
  ) {}

  async kubeConfig(): Promise<KubeConfig> {
    const now = this.options.now?.() ?? new Date();
    if (this.current && this.current.expiresAt.getTime() - now.getTime() > 60_000) return this.current.kc;
    this.cluster ??= await describeCluster(this.clients, this.clusterName);
    const { token, expiresAt } = await eksToken({
      clusterName: this.clusterName,
      region: this.clients.region,
      credentials: await this.clients.credentials(),
      signingDate: now,
    });
    this.current = { kc: eksKubeConfig(this.cluster, token, this.options.namespace), expiresAt };
    return this.current.kc;
  }
}

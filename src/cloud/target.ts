// Where `cortex deploy|get|logs|predict|delete --cloud` go: a cluster reached through a KubeConfig
// and a registry its nodes pull from. The EKS target (cluster.yaml → the SDK's credentials, the
// cluster's endpoint and a signed token through EksAccess, ECR for images) is what the CLI uses;
// the commands take any CloudTarget, which is how the tests point them at the kind cluster.
import type { KubeConfig } from '@kubernetes/client-node';
import { defaultNamespace } from '../kube/names.js';
import { profiles, type Profile } from '../kube/render.js';
import { awsClients, ensureRepository, registryLogin, type AwsClients, type AwsOptions, type Repository } from './aws.js';
import type { ClusterConfig } from './cluster-config.js';
import { gatewayServiceAnnotations } from './eksctl-config.js';
import { EksAccess } from './kubeconfig.js';
import { describePush, pushImage, type PushEvent } from './push.js';

export type ImageVariant = 'cpu' | 'cuda';

/** Where a cluster's nodes pull images from. */
export interface ImageRegistry {
  /** One line: where images go, e.g. "ECR 123456789012.dkr.ecr.us-east-1.amazonaws.com/cortex/cortex-runtime". */
  describe(): Promise<string>;
  /** The reference the cluster pulls the local image `local` by (nothing is sent). */
  reference(local: string, variant: ImageVariant): Promise<string>;
  /** Makes `local` pullable at `reference`; one line saying what was sent. */
  publish(local: string, reference: string, onEvent?: (event: PushEvent) => void): Promise<string>;
}

export interface CloudTarget {
  /** One line: which cluster, e.g. 'EKS cluster "cortex" in us-east-1'. */
  description: string;
  namespace: string;
  profile: Profile;
  kubeConfig(): Promise<KubeConfig>;
  images: ImageRegistry;
  close(): void;
}

/** The ECR repository a cluster's runtime images go to (`cortex cluster up --cloud` creates it). */
export function runtimeRepositoryName(config: Pick<ClusterConfig, 'clusterName'>): string {
  return `${config.clusterName}/cortex-runtime`;
}

/** The tag part of an image reference ("cortex-runtime:1a2b…" → "1a2b…"). */
export function tagOf(image: string): string {
  const name = image.slice(image.lastIndexOf('/') + 1);
  const colon = name.lastIndexOf(':');
  return colon < 0 ? 'latest' : name.slice(colon + 1);
}

/** Splits "<registry>/<repository>:<tag>" into the repository and the tag. */
export function splitReference(reference: string): { repository: string; tag: string } {
  const slash = reference.lastIndexOf('/');
  const colon = reference.lastIndexOf(':');
  if (colon <= slash) return { repository: reference, tag: 'latest' };
  return { repository: reference.slice(0, colon), tag: reference.slice(colon + 1) };
}

/**
 * The images of a cluster in one ECR repository: the runtime under its content tag, the CUDA
 * variant under cuda-<its content tag>. The repository is created on first use (as `cluster up`
 * does); the login is ECR's 12-hour token. `registry` replaces the registry host in the references
 * (the tests' local registry, which speaks the same protocol and takes the same login).
 */
export class EcrImages implements ImageRegistry {
  private repository: Promise<Repository> | undefined;

  constructor(
    private readonly clients: AwsClients,
    private readonly name: string,
    private readonly options: { tags?: Record<string, string>; registry?: string } = {},
  ) {}

  private async uri(): Promise<string> {
    this.repository ??= ensureRepository(this.clients, this.name, this.options.tags);
    const { uri } = await this.repository;
    return this.options.registry ? `${this.options.registry}${uri.slice(uri.indexOf('/'))}` : uri;
  }

  async describe(): Promise<string> {
    return `ECR ${await this.uri()}`;
  }

  async reference(local: string, variant: ImageVariant): Promise<string> {
    return `${await this.uri()}:${variant === 'cuda' ? 'cuda-' : ''}${tagOf(local)}`;
  }

  async publish(local: string, reference: string, onEvent?: (event: PushEvent) => void): Promise<string> {
    const login = await registryLogin(this.clients);
    const { repository, tag } = splitReference(reference);
    return describePush(await pushImage({ image: local, repository, tag, token: login.token, ...(onEvent ? { onEvent } : {}) }));
  }
}

/** The EKS cluster of a cluster.yaml: `cortex` namespace, eks profile (its NLB annotations), ECR. */
export function eksTarget(config: ClusterConfig, aws: Partial<AwsOptions> = {}): CloudTarget {
  const clients = awsClients({ region: config.region, ...aws });
  const access = new EksAccess(clients, config.clusterName, { namespace: defaultNamespace });
  return {
    description: `EKS cluster "${config.clusterName}" in ${config.region}`,
    namespace: defaultNamespace,
    profile: profiles.eks({ gatewayAnnotations: gatewayServiceAnnotations(config) }),
    kubeConfig: () => access.kubeConfig(),
    images: new EcrImages(clients, runtimeRepositoryName(config), { tags: { 'cortex.dev/cluster': config.clusterName } }),
    close: () => clients.destroy(),
  };
}

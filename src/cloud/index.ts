// EKS: cluster.yaml and its eksctl ClusterConfig, the AWS calls (STS, ECR, EKS), the EKS token and
// kubeconfig (no aws CLI), and the image push to ECR.
export { AwsError, awsClients, callerIdentity, decodeRegistryToken, describeCluster, ensureRepository, explain, registryLogin } from './aws.js';
export type { AwsClients, AwsOptions, ClusterEndpoint, Credentials, Identity, RegistryLogin, Repository } from './aws.js';
export { CLUSTER_CONFIG_NAMES, DEFAULT_KUBERNETES_VERSION, GPUS_PER_INSTANCE, defaultClusterConfig, loadClusterConfig, parseClusterConfig } from './cluster-config.js';
export type { ClusterConfig, NatGateway, NodeGroupSize, VolumeType } from './cluster-config.js';
export { GPU_RESOURCE, NODE_ROLE_LABEL, describeNodeGroups, eksctlConfigYaml, gatewayServiceAnnotations, renderEksctlConfig } from './eksctl-config.js';
export type { EksctlClusterConfig, EksctlManagedNodeGroup } from './eksctl-config.js';
export { decodeEksToken, eksToken, type EksToken } from './eks-token.js';
export { EksAccess, eksKubeConfig, execKubeconfigYaml } from './kubeconfig.js';
export { describePush, pushImage, PushError, registryOf, type PushEvent, type PushOptions, type PushResult } from './push.js';
export { CLUSTER_AUTOSCALER_VERSIONS, clusterAutoscalerImage, expanderPriorities, renderClusterAutoscaler } from './cluster-autoscaler.js';

// Names and labels of every object cortex puts in a cluster. Labels are how cortex finds its
// own objects again (status, pruning, cleanup), so they are defined once, here.
import { createHash } from 'node:crypto';

export const defaultNamespace = 'cortex';
export const fieldManager = 'cortex';
/** The in-cluster autoscaler's field manager: it alone writes replicas and the decision annotation. */
export const autoscalerFieldManager = 'cortex-autoscaler';

export const labels = {
  managedBy: 'app.kubernetes.io/managed-by',
  component: 'cortex.dev/component',
  deployment: 'cortex.dev/deployment',
  api: 'cortex.dev/api',
} as const;

export const annotations = {
  /** The predictor version the bundle ConfigMap holds, on the api's Deployment. */
  version: 'cortex.dev/predictor-version',
  /** The api's autoscaling settings, read by the in-cluster autoscaler. */
  autoscaling: 'cortex.dev/autoscaling',
  /** The gateway path of the api. */
  endpoint: 'cortex.dev/endpoint',
  /**
   * The in-cluster autoscaler's last decision on the api's Deployment, as JSON of src/scaling's
   * Decision ({decision, at}); written by the autoscaler only, read by `cortex get` and the TUI.
   * Its absence means the autoscaler has not yet set init_replicas.
   */
  decision: 'cortex.dev/autoscaler-decision',
} as const;

/**
 * Where the eks profile places pods: by labels of cortex's EKS node groups (src/cloud/eksctl-config.ts
 * gives each group the one for its pods), so the gateway and the autoscalers keep to the small system
 * group and CPU apis stay off it. One key per kind of pod, not one key with several values, so that a
 * single node can carry them all (the kind node standing in for EKS in the tests). GPU nodes are also
 * tainted nvidia.com/gpu, which only GPU apis tolerate.
 */
export const nodeSelectors = {
  /** The gateway, cortex's autoscaler and the cluster autoscaler: the system node group. */
  system: { 'cortex.dev/system-pods': 'true' },
  /** CPU apis: the cpu node group (and its on-demand backup). */
  cpuApi: { 'cortex.dev/cpu-apis': 'true' },
  /** GPU apis: the gpu node group (and its on-demand backup). */
  gpuApi: { 'nvidia.com/gpu': 'true' },
} as const satisfies Record<string, Record<string, string>>;

export type Component = 'api' | 'gateway' | 'autoscaler';

/** Object names are DNS labels (63 characters); a longer deployment-api pair keeps a hash of the whole. */
export function apiObjectName(deployment: string, api: string): string {
  const name = `${deployment}-${api}`;
  if (name.length <= 63) return name;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 8);
  return `${name.slice(0, 54).replace(/-+$/, '')}-${hash}`;
}

export function bundleConfigMapName(deployment: string, api: string): string {
  const base = apiObjectName(deployment, api);
  return base.length <= 56 ? `${base}-bundle` : `${base.slice(0, 49).replace(/-+$/, '')}-${base.slice(-6)}-bundle`;
}

export function apiLabels(deployment: string, api: string): Record<string, string> {
  return { [labels.managedBy]: 'cortex', [labels.component]: 'api', [labels.deployment]: deployment, [labels.api]: api };
}

export function componentLabels(component: Exclude<Component, 'api'>): Record<string, string> {
  return { [labels.managedBy]: 'cortex', [labels.component]: component };
}

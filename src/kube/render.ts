// cortex.yaml → Kubernetes objects, as a pure function: the same spec renders the same objects
// for kind (dev) and EKS (cloud), which is what "promote the same spec" means. The profile
// decides only what differs between the two: how the gateway is exposed, whether GPUs are
// asked for, and where models are cached.
import { gzipSync } from 'node:zlib';
import type {
  V1ConfigMap,
  V1Container,
  V1Deployment,
  V1EnvVar,
  V1Namespace,
  V1Role,
  V1RoleBinding,
  V1Secret,
  V1Service,
  V1ServiceAccount,
  V1Volume,
  V1VolumeMount,
} from '@kubernetes/client-node';
import type { ApiSpec, Spec } from '../spec/index.js';
import { runtimeEnv } from '../backends/runtime-env.js';
import { containerPort } from '../image/index.js';
import { paths } from '../../runtime/protocol.js';
import { drainTimeoutFrom, SettingsError } from '../../runtime/settings.js';
import type { PredictorBundle } from '../model/backend.js';
import { annotations, apiLabels, apiObjectName, bundleConfigMapName, componentLabels, defaultNamespace, labels, nodeSelectors } from './names.js';

export type KubeObject = V1Namespace | V1Secret | V1ServiceAccount | V1Role | V1RoleBinding | V1ConfigMap | V1Deployment | V1Service;

export type ProfileName = 'kind' | 'eks';

export interface Profile {
  name: ProfileName;
  /** kind: a NodePort that the cluster's port mapping publishes on the host; EKS: a load balancer. */
  gateway: { type: 'NodePort'; nodePort: number } | { type: 'LoadBalancer'; annotations?: Record<string, string> };
  /** Whether compute.gpu asks the scheduler for nvidia.com/gpu (EKS) or is left out (kind). */
  gpus: boolean;
  /**
   * Whether compute.cpu is reserved on a node (EKS: a request, as Cortex does) or shared, as the
   * docker backend shares this machine's cores (kind: a limit, with a tenth of it requested, so
   * that a laptop's cluster holds the replicas it would hold as containers).
   */
  reserveCpu: boolean;
  /**
   * Whether pods are pinned to their node groups by names.ts's nodeSelectors (EKS: the gateway and
   * the autoscaler on the system group, CPU apis on the cpu group) or go wherever they fit (kind: one
   * node). GPU apis are pinned to GPU nodes wherever GPUs are asked for (`gpus`).
   */
  pinNodes: boolean;
  /** A folder on every node holding the offline model mirror, mounted read-only into api pods. */
  mirrorPath?: string;
  /** A folder on every node for the model cache, shared by the pods there; without one, each pod downloads into its own. */
  cachePath?: string;
}

/** The node port kind publishes as the host's :8888 (test/cluster and `cortex cluster up` map it). */
export const kindGatewayNodePort = 30888;

export const profiles = {
  kind: (options: Pick<Profile, 'mirrorPath' | 'cachePath'> = {}): Profile => ({ name: 'kind', gateway: { type: 'NodePort', nodePort: kindGatewayNodePort }, gpus: false, reserveCpu: false, pinNodes: false, ...options }),
  /** `gatewayAnnotations`: the load balancer's, from cluster.yaml (src/cloud gatewayServiceAnnotations: an NLB, internal or not). */
  eks: (options: { gatewayAnnotations?: Record<string, string> } = {}): Profile => ({
    name: 'eks',
    gateway: { type: 'LoadBalancer', ...(options.gatewayAnnotations ? { annotations: options.gatewayAnnotations } : {}) },
    gpus: true,
    reserveCpu: true,
    pinNodes: true,
  }),
};

export interface RenderInput {
  spec: Spec;
  /** The runtime image; `gpuImage` (the CUDA variant) for apis with compute.gpu > 0 where GPUs are asked for. */
  image: string;
  gpuImage?: string;
  bundles: ReadonlyMap<string, PredictorBundle>;
  profile: Profile;
  namespace?: string;
  /** The hot-swap token the CLI pushes bundles with; kept in a Secret. */
  adminToken: string;
}

/** A spec that cannot become objects: names the api and what to change. */
export class RenderError extends Error {
  override name = 'RenderError';
}

/** The gateway's and the autoscaler's entry points inside the runtime image (relative to its working directory). */
export const entryPoints = { gateway: 'dist/src/cluster/gateway.js', autoscaler: 'dist/src/cluster/autoscaler.js' };

export const gatewayPort = 8888;
/** The gateway's Service (its Deployment too): where `cortex deploy --cloud` finds the load balancer's address. */
export const gatewayServiceName = 'cortex-gateway';
export const adminSecretName = 'cortex-admin';
const bundleMount = '/cortex/bundle';
const bundleFile = 'bundle.json.gz';
// A ConfigMap is stored whole in etcd, which refuses objects over about 1.5 MB.
const maxBundleBytes = 1024 * 1024;
/**
 * A pod's termination grace: the runtime drains in-flight requests on SIGTERM until its drain
 * deadline (CORTEX_DRAIN_TIMEOUT_MS), then exits; 5 s more so the kubelet's SIGKILL never cuts a drain short.
 */
const graceSeconds = (drainMs: number): number => Math.ceil(drainMs / 1000) + 5;

export function render(input: RenderInput): KubeObject[] {
  return [...renderCluster(input), ...input.spec.apis.flatMap((api) => renderApi(input, api))];
}

/** What one cluster needs once, whatever apis run: the namespace, the token, the gateway and the autoscaler. */
export function renderCluster({ image, profile, namespace = defaultNamespace, adminToken }: Omit<RenderInput, 'spec' | 'bundles'>): KubeObject[] {
  const meta = (name: string, component: 'gateway' | 'autoscaler') => ({ name, namespace, labels: componentLabels(component) });
  const ns: V1Namespace = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace, labels: { [labels.managedBy]: 'cortex' } } };
  const secret: V1Secret = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: adminSecretName, namespace, labels: { [labels.managedBy]: 'cortex' } },
    type: 'Opaque',
    stringData: { token: adminToken },
  };
  const account = (component: 'gateway' | 'autoscaler', rules: V1Role['rules']): KubeObject[] => [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta(`cortex-${component}`, component) } satisfies V1ServiceAccount,
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: meta(`cortex-${component}`, component), rules } satisfies V1Role,
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: meta(`cortex-${component}`, component),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: `cortex-${component}` },
      subjects: [{ kind: 'ServiceAccount', name: `cortex-${component}`, namespace }],
    } satisfies V1RoleBinding,
  ];
  const readApis = [
    { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] },
    { apiGroups: ['apps'], resources: ['deployments'], verbs: ['get', 'list', 'watch'] },
  ];
  const system = (component: 'gateway' | 'autoscaler', port?: number): V1Deployment => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: meta(`cortex-${component}`, component),
    spec: {
      replicas: 1,
      selector: { matchLabels: componentLabels(component) },
      template: {
        metadata: { labels: componentLabels(component) },
        spec: {
          serviceAccountName: `cortex-${component}`,
          terminationGracePeriodSeconds: graceSeconds(drainTimeoutFrom({})),
          securityContext: { runAsNonRoot: true },
          ...(profile.pinNodes ? { nodeSelector: { ...nodeSelectors.system } } : {}),
          containers: [
            {
              name: component,
              image,
              command: ['node', entryPoints[component]],
              env: [{ name: 'CORTEX_NAMESPACE', value: namespace }, ...(port ? [{ name: 'PORT', value: String(port) }] : [])],
              ...(port ? { ports: [{ name: 'http', containerPort: port }], readinessProbe: { httpGet: { path: '/', port: 'http' }, periodSeconds: 2 } } : {}),
              resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '512Mi' } },
            },
          ],
        },
      },
    },
  });
  const gatewayService: V1Service = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { ...meta(gatewayServiceName, 'gateway'), ...(profile.gateway.type === 'LoadBalancer' && profile.gateway.annotations ? { annotations: profile.gateway.annotations } : {}) },
    spec: {
      type: profile.gateway.type,
      selector: componentLabels('gateway'),
      ports: [
        profile.gateway.type === 'NodePort'
          ? { name: 'http', port: gatewayPort, targetPort: 'http', nodePort: profile.gateway.nodePort }
          : { name: 'http', port: 80, targetPort: 'http' },
      ],
    },
  };
  return [
    ns,
    secret,
    ...account('gateway', readApis),
    ...account('autoscaler', [...readApis, { apiGroups: ['apps'], resources: ['deployments/scale'], verbs: ['get', 'patch', 'update'] }, { apiGroups: ['apps'], resources: ['deployments'], verbs: ['patch'] }]),
    system('gateway', gatewayPort),
    gatewayService,
    system('autoscaler'),
  ];
}

/** Per api: its bundle ConfigMap, its Deployment and its ClusterIP Service. */
export function renderApi(input: RenderInput, api: ApiSpec): KubeObject[] {
  const { spec, profile, namespace = defaultNamespace } = input;
  const bundle = input.bundles.get(api.name);
  if (!bundle) throw new RenderError(`api "${api.name}": no predictor bundle to render`);
  const name = apiObjectName(api.deployment, api.name);
  const selector = apiLabels(api.deployment, api.name);
  const gpu = profile.gpus && api.compute.gpu > 0;
  if (gpu && !input.gpuImage) throw new RenderError(`api "${api.name}": compute.gpu is ${api.compute.gpu}, but no CUDA image was built for it`);

  const packed = gzipSync(JSON.stringify({ code: bundle.code, config: bundle.config }), { level: 9 });
  if (packed.length > maxBundleBytes) {
    throw new RenderError(
      `api "${api.name}": the predictor bundle is ${(packed.length / 1024).toFixed(0)} KiB compressed, over the ${maxBundleBytes / 1024} KiB a ConfigMap holds; ` +
        'bundle fewer or lighter dependencies, and load large files with helpers.loadModel/loadJson by URL',
    );
  }
  const configMap: V1ConfigMap = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: bundleConfigMapName(api.deployment, api.name), namespace, labels: selector, annotations: { [annotations.version]: bundle.version } },
    binaryData: { [bundleFile]: packed.toString('base64') },
  };

  const mounts: V1VolumeMount[] = [{ name: 'bundle', mountPath: bundleMount, readOnly: true }];
  const volumes: V1Volume[] = [{ name: 'bundle', configMap: { name: configMap.metadata!.name! } }];
  const settings: Record<string, string> = runtimeEnv(spec, api, { port: containerPort, bundlePath: `${bundleMount}/${bundleFile}`, apiDir: '/cortex/api' }, {});
  delete settings.CORTEX_PREDICTOR_CONFIG; // the bundle file carries the config, so a reload updates both
  // A pod fetches only public addresses unless the api itself says otherwise (predictor.env):
  // the local backends' "any" must not reach a cluster's network or the cloud's metadata service.
  delete settings.CORTEX_FETCH_ADDRESSES;
  const fetchAddresses = api.predictor.env.CORTEX_FETCH_ADDRESSES;
  if (fetchAddresses) settings.CORTEX_FETCH_ADDRESSES = fetchAddresses;
  if (profile.mirrorPath) {
    volumes.push({ name: 'mirror', hostPath: { path: profile.mirrorPath, type: 'Directory' } });
    mounts.push({ name: 'mirror', mountPath: '/cortex/mirror', readOnly: true });
    settings.CORTEX_MODEL_MIRROR = '/cortex/mirror';
  }
  volumes.push(profile.cachePath ? { name: 'cache', hostPath: { path: profile.cachePath, type: 'DirectoryOrCreate' } } : { name: 'cache', emptyDir: {} });
  mounts.push({ name: 'cache', mountPath: '/cortex/cache' });
  settings.CORTEX_CACHE_DIR = '/cortex/cache';
  if (gpu) settings.CORTEX_EXECUTION_PROVIDERS = 'cuda,cpu';
  let drainMs: number;
  try {
    drainMs = drainTimeoutFrom(settings);
  } catch (err) {
    if (err instanceof SettingsError) throw new RenderError(`api "${api.name}": predictor.env: ${err.message}`);
    throw err;
  }
  const env: V1EnvVar[] = [
    ...Object.entries(settings).map(([k, value]) => ({ name: k, value })),
    { name: 'CORTEX_ADMIN_TOKEN', valueFrom: { secretKeyRef: { name: adminSecretName, key: 'token' } } },
  ];

  const millicores = Math.round(api.compute.cpu * 1000);
  const requests: Record<string, string> = { cpu: `${profile.reserveCpu ? millicores : Math.max(1, Math.round(millicores / 10))}m` };
  const limits: Record<string, string> = profile.reserveCpu ? {} : { cpu: `${millicores}m` };
  // Memory is a limit as well as a request, as on the docker backend: past it the kernel kills the replica.
  if (api.compute.mem !== null) requests.memory = limits.memory = String(api.compute.mem);
  if (gpu) limits['nvidia.com/gpu'] = String(api.compute.gpu);

  const container: V1Container = {
    name: 'api',
    image: gpu ? input.gpuImage! : input.image,
    // Loaded with `kind load` or pushed to ECR by content tag: never pulled again for the same tag.
    imagePullPolicy: 'IfNotPresent',
    env,
    ports: [{ name: 'http', containerPort }],
    resources: { requests, ...(Object.keys(limits).length ? { limits } : {}) },
    readinessProbe: { httpGet: { path: paths.ready, port: 'http' }, periodSeconds: 1, failureThreshold: 2 },
    // Live as long as the event loop turns: init (maybe a model download) never fails it.
    livenessProbe: { httpGet: { path: paths.live, port: 'http' }, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 3 },
    volumeMounts: mounts,
  };
  const deployment: V1Deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name,
      namespace,
      labels: selector,
      annotations: {
        [annotations.autoscaling]: JSON.stringify(api.autoscaling),
        [annotations.endpoint]: api.networking.endpoint,
      },
    },
    // No replicas: the in-cluster autoscaler is their only writer (it starts the api at init_replicas).
    spec: {
      selector: { matchLabels: selector },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: api.updateStrategy.maxSurge, maxUnavailable: api.updateStrategy.maxUnavailable } },
      template: {
        metadata: { labels: selector },
        spec: {
          terminationGracePeriodSeconds: graceSeconds(drainMs),
          securityContext: { runAsNonRoot: true },
          containers: [container],
          volumes,
          ...(gpu ? { tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }], nodeSelector: { ...nodeSelectors.gpuApi } } : profile.pinNodes ? { nodeSelector: { ...nodeSelectors.cpuApi } } : {}),
        },
      },
    },
  };
  const service: V1Service = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace, labels: selector },
    spec: { type: 'ClusterIP', selector, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
  };
  return [configMap, deployment, service];
}

// The in-cluster gateway: another entry point of the runtime image (`node dist/src/cluster/gateway.js`),
// running the same Gateway as `cortex dev`, fed by informers instead of a local backend: each api
// Deployment is a route, each Ready pod of it a replica reached by its pod IP.
import { AppsV1Api, CoreV1Api, KubeConfig, makeInformer, type V1Deployment, type V1Pod } from '@kubernetes/client-node';
import { clusterSettingsFrom } from '../../runtime/settings.js';
import { Gateway, type GatewaySource } from '../dev/gateway.js';
import { apiRoute, podReplica } from '../kube/observed.js';
import { labels } from '../kube/names.js';

const settings = clusterSettingsFrom(process.env);
const kc = new KubeConfig();
kc.loadFromCluster();
const { namespace } = settings;
const selector = `${labels.managedBy}=cortex,${labels.component}=api`;
const apps = kc.makeApiClient(AppsV1Api);
const core = kc.makeApiClient(CoreV1Api);
const deployments = makeInformer<V1Deployment>(kc, `/apis/apps/v1/namespaces/${namespace}/deployments`, () => apps.listNamespacedDeployment({ namespace, labelSelector: selector }), selector);
const pods = makeInformer<V1Pod>(kc, `/api/v1/namespaces/${namespace}/pods`, () => core.listNamespacedPod({ namespace, labelSelector: selector }), selector);
// A watch that drops (API server restart, timeout) is started again; the cache keeps serving meanwhile.
for (const informer of [deployments, pods]) informer.on('error', () => setTimeout(() => void informer.start(), 1000));

const source: GatewaySource = {
  routes: () => deployments.list().flatMap((d) => {
    const route = apiRoute(d);
    return route ? [{ api: route.key, endpoint: route.endpoint }] : [];
  }),
  replicas: (key) => {
    const deployment = deployments.list().find((d) => d.metadata?.name === key);
    const wanted = deployment?.spec?.selector?.matchLabels ?? {};
    return pods
      .list()
      .filter((p) => Object.entries(wanted).every(([k, v]) => p.metadata?.labels?.[k] === v))
      .map(podReplica);
  },
};

await Promise.all([deployments.start(), pods.start()]);
const gateway = new Gateway(source);
const url = await gateway.listen(settings.port, '0.0.0.0');
console.log(`cortex gateway: ${url}, routing the apis of namespace ${namespace}`);

// Kubernetes stops a pod with SIGTERM: finish what is in flight, then go.
process.once('SIGTERM', () => {
  gateway.stopAccepting();
  setTimeout(() => void gateway.close().then(() => process.exit(0)), 5000).unref();
});

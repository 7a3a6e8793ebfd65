// The in-cluster gateway: another entry point of the runtime image (`node dist/src/cluster/gateway.js`),
// running the same Gateway as `cortex dev`, fed by informers instead of a local backend: each api
// Deployment is a route, each Ready pod of it a replica reached by its pod IP.
import { KubeConfig } from '@kubernetes/client-node';
import { clusterSettingsFrom } from '../../runtime/settings.js';
import { Gateway, type GatewaySource } from '../gateway/gateway.js';
import { apiMessage } from '../kube/apply.js';
import { apiInformers } from '../kube/informers.js';
import { apiRoute, podReplica } from '../kube/observed.js';

const settings = clusterSettingsFrom(process.env);
const kc = new KubeConfig();
kc.loadFromCluster();
const { namespace } = settings;
const informers = apiInformers(kc, namespace, (what, err) => console.error(`watching ${what} failed, again in 1 s: ${apiMessage(err)}`));

const source: GatewaySource = {
  routes: () => informers.deployments.list().flatMap((d) => {
    const route = apiRoute(d);
    return route ? [{ api: route.key, endpoint: route.endpoint }] : [];
  }),
  replicas: (key) => {
    const deployment = informers.deployments.list().find((d) => d.metadata?.name === key);
    return deployment ? informers.podsOf(deployment).map(podReplica) : [];
  },
};

await informers.start();
const gateway = new Gateway(source);
const url = await gateway.listen(settings.port, '0.0.0.0');
console.log(`cortex gateway: ${url}, routing the apis of namespace ${namespace}`);

// Kubernetes stops a pod with SIGTERM: finish what is in flight, then go.
process.once('SIGTERM', () => {
  gateway.stopAccepting();
  setTimeout(() => void gateway.close().then(() => process.exit(0)), 5000).unref();
});

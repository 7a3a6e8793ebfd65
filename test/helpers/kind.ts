// Kubernetes tests run against the real single-node kind cluster that test/cluster/up.sh builds
// offline (see test/cluster/README.md). Where no cluster answers they are registered as skipped,
// so the summary counts them as skipped and says why; where CI has started one
// (CORTEX_KIND_TESTS=required) they run regardless, and fail if it has gone.
import { existsSync } from 'node:fs';
import { request, type RequestOptions } from 'node:https';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import test, { type ExecutionContext } from 'ava';
import { execa } from 'execa';
import { repoRoot } from './shared.js';

export const clusterDir = join(repoRoot, 'test/cluster');
export const clusterName = process.env.CORTEX_KIND_CLUSTER || 'cortex';
const cacheDir = process.env.CORTEX_KIND_CACHE || join(homedir(), '.cache', 'cortex-kind');
/** up.sh prints this path; CI exports it as CORTEX_KUBECONFIG. */
export const kubeconfigPath = process.env.CORTEX_KUBECONFIG || join(cacheDir, `kubeconfig-${clusterName}`);
/** Where up.sh mounts the shared model mirror inside the node (a hostPath for pods). */
export const nodeModelsDir = '/cortex/models';

export function kubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  return kc;
}

async function unavailableReason(): Promise<string | undefined> {
  if (!existsSync(kubeconfigPath)) return `no kind cluster (no kubeconfig at ${kubeconfigPath}); run test/cluster/up.sh`;
  try {
    const core = kubeConfig().makeApiClient(CoreV1Api);
    await Promise.race([core.listNode(), new Promise((_, reject) => setTimeout(() => reject(new Error('no answer in 20 s')), 20_000).unref())]);
    return undefined;
  } catch (err) {
    return `the kind cluster in ${kubeconfigPath} does not answer: ${(err as Error).message.split('\n')[0]}`;
  }
}

const unavailable = process.env.CORTEX_KIND_TESTS === 'required' ? undefined : await unavailableReason();
if (unavailable) console.log(`Kubernetes tests skipped: ${unavailable}`);

type Implementation = (t: ExecutionContext) => Promise<void> | void;

/** A serial test that needs the kind cluster. */
export const kindTest: (title: string, implementation: Implementation) => void = unavailable
  ? (title, implementation) => test.serial.skip(title, implementation)
  : (title, implementation) => test.serial(title, implementation);

/** PATH with the kind binary the harness built and its docker shim (test/cluster/bin) first: what a user has installed. */
export async function kindPath(): Promise<string> {
  const { stdout } = await execa(join(clusterDir, 'build-kind.sh'));
  return `${join(clusterDir, 'bin')}:${dirname(stdout.trim())}:${process.env.PATH}`;
}

/** Deletes a namespace and waits until it is gone, so that what lived there (the gateway's NodePort) is free again. */
export async function deleteNamespace(core: CoreV1Api, name: string): Promise<void> {
  await core.deleteNamespace({ name }).catch(() => undefined);
  await until(`namespace ${name} to be gone`, 180_000, async () => (await core.readNamespace({ name }).then(() => false, () => true)) || undefined);
}

/** Every namespace, pod and ConfigMap labelled for cortex, cluster-wide: empty once a session has removed cortex. */
export async function cortexObjects(kc: KubeConfig): Promise<string[]> {
  const core = kc.makeApiClient(CoreV1Api);
  const selector = 'app.kubernetes.io/managed-by=cortex';
  const [namespaces, pods, maps] = await Promise.all([core.listNamespace({ labelSelector: selector }), core.listPodForAllNamespaces({ labelSelector: selector }), core.listConfigMapForAllNamespaces({ labelSelector: selector })]);
  return [...namespaces.items, ...pods.items, ...maps.items].map((o) => `${o.kind ?? ''}${o.metadata?.namespace ?? ''}/${o.metadata?.name}`);
}

/** `kind load docker-image`, through the harness's docker shim (see test/cluster/bin/docker). */
export async function loadImage(tag: string): Promise<void> {
  const { stdout: kind } = await execa(join(clusterDir, 'build-kind.sh'));
  await execa(kind.trim(), ['load', 'docker-image', tag, '--name', clusterName], {
    env: { PATH: `${join(clusterDir, 'bin')}:${process.env.PATH}` },
  });
}

export interface ProxyAnswer {
  status: number;
  body: string;
}

/**
 * A request to a pod's port through the API server's pod proxy
 * (/api/v1/namespaces/NS/pods/POD:PORT/proxy/PATH), authenticated as the kubeconfig says.
 */
export async function podProxy(kc: KubeConfig, namespace: string, pod: string, port: number, path: string, init: { method?: string; body?: Buffer; contentType?: string } = {}): Promise<ProxyAnswer> {
  const server = new URL(kc.getCurrentCluster()!.server);
  const options: RequestOptions = {
    method: init.method ?? 'GET',
    hostname: server.hostname,
    port: server.port || 443,
    path: `/api/v1/namespaces/${namespace}/pods/${pod}:${port}/proxy/${path.replace(/^\//, '')}`,
    headers: init.body ? { 'Content-Type': init.contentType ?? 'application/octet-stream', 'Content-Length': String(init.body.length) } : {},
    timeout: 60_000,
  };
  await kc.applyToHTTPSOptions(options);
  return new Promise((resolve, reject) => {
    const req = request(options, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from ${options.path} in 60 s`)));
    req.on('error', reject);
    req.end(init.body);
  });
}

/**
 * Polls `probe` (every `everyMs`) until it gives a value, for at most `ms`. Each probe is bounded
 * too (15 s): a call to the cluster that hangs is a failed probe, not a hung test.
 */
export async function until<T>(what: string, ms: number, probe: () => Promise<T | undefined>, everyMs = 1000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await Promise.race([probe().catch(() => undefined), new Promise<undefined>((r) => setTimeout(() => r(undefined), 15_000))]);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

// `cortex get|logs|predict|delete --cloud`: the commands that talk to a dev session, pointed at
// the cluster `cortex deploy --cloud` deployed to instead. The same status model (ClusterView
// builds the snapshot a dev session would, from the cluster's objects), the same table, the same
// log line format; predictions go to the gateway's load balancer, or through the API server's
// service proxy while it has no address.
import { readFile } from 'node:fs/promises';
import { parseLogLine, formatLogLine } from '../../../runtime/log-format.js';
import type { CloudTarget } from '../../cloud/target.js';
import { ClusterClient } from '../../kube/apply.js';
import { findApi, gatewayUrl, loadBalancerAddress, readCluster, ClusterView, type ClusterApi } from '../../kube/cluster-status.js';
import { annotations, labels } from '../../kube/names.js';
import { followPodLog, type LogFollow } from '../../kube/pod-logs.js';
import { apiServer, kubeFetch } from '../../kube/pod-proxy.js';
import { gatewayServiceName } from '../../kube/render.js';
import type { SessionSnapshot } from '../../model/status.js';
import { UserError } from '../../user-error.js';
import { contentTypeOf } from '../content-types.js';
import { formatGet, type Sample } from '../get-view.js';

export interface CloudApisIo {
  print(line: string): void;
  /** Ends a follow (`logs`) or a watch (`get --watch`); Ctrl-C in the CLI. */
  signal?: AbortSignal;
}

const defaultIo = (): CloudApisIo => ({ print: (line) => console.log(line) });

const apiNames = (apis: readonly ClusterApi[]) => apis.map((a) => a.deployment.metadata?.labels?.[labels.api] ?? '?').join(', ') || 'none';

function requireApi(target: CloudTarget, apis: readonly ClusterApi[], name: string, found: ClusterApi | undefined): ClusterApi {
  if (!found) throw new UserError(`no api named "${name}" in ${target.description} (namespace ${target.namespace}); the apis there: ${apiNames(apis)} (cortex deploy --cloud deploys them)`);
  return found;
}

/** `sample`: what the curl line of `get API` posts (the CLI looks beside the cortex.yaml of the working directory). */
export async function cloudGet(target: CloudTarget, api: string | undefined, opts: { watch?: boolean; output: string; sample?: Sample }, io: CloudApisIo = defaultIo()): Promise<SessionSnapshot> {
  if (opts.output !== 'table' && opts.output !== 'json') throw new UserError(`-o ${opts.output} is not a format; use table or json`);
  const view = new ClusterView(() => target.kubeConfig(), target.namespace, `${target.description}, namespace ${target.namespace}`);
  const show = async (): Promise<{ text: string; snapshot: SessionSnapshot }> => {
    const snapshot = await view.snapshot();
    if (api && !snapshot.apis.some((a) => a.name === api)) {
      throw new UserError(`no api named "${api}" in ${target.description} (namespace ${target.namespace}); the apis there: ${snapshot.apis.map((a) => a.name).join(', ') || 'none'}`);
    }
    if (opts.output === 'json') return { snapshot, text: JSON.stringify(api ? snapshot.apis.find((a) => a.name === api) : snapshot, null, 2) };
    return { snapshot, text: formatGet(snapshot, api, opts.sample ? { sample: opts.sample } : {}) };
  };
  if (!opts.watch) {
    const { text, snapshot } = await show();
    io.print(text);
    return snapshot;
  }
  let last: SessionSnapshot | undefined;
  while (!io.signal?.aborted) {
    let text: string;
    try {
      const shown = await show();
      last = shown.snapshot;
      text = shown.text;
    } catch (err) {
      text = `cortex: ${(err as Error).message}`;
    }
    io.print(`\x1b[2J\x1b[H${text}`);
    await new Promise((r) => setTimeout(r, 2000));
  }
  return last!;
}

/** Every pod's log of the api, each line as `cortex logs` prints it; with follow, new pods join as they start. */
export async function cloudLogs(target: CloudTarget, api: string, opts: { follow: boolean }, io: CloudApisIo = defaultIo()): Promise<void> {
  const kc = await target.kubeConfig();
  // Asked again for each new follow: an EKS token lasts 15 minutes, a follow as long as you like.
  let send = kubeFetch(kc);
  let sendFor = kc;
  const server = apiServer(kc);
  const objects = await readCluster(kc, target.namespace);
  requireApi(target, objects.apis, api, findApi(objects, api));
  const follows = new Map<string, LogFollow>();
  /** Where a follow that ended (its container restarted) picks up. */
  const resume = new Map<string, Date>();
  const start = (pod: string) => {
    if (follows.has(pod)) return;
    const since = resume.get(pod);
    const follow = followPodLog(send, { server, namespace: target.namespace, pod, container: 'api', follow: opts.follow, ...(since ? { sinceTime: since } : {}) }, (raw) =>
      io.print(`${pod} ${formatLogLine(parseLogLine(raw))}`),
    );
    follows.set(pod, follow);
    void follow.ended.then(() => {
      follows.delete(pod);
      resume.set(pod, new Date());
    });
  };
  const started = (a: ClusterApi) => a.pods.filter((p) => p.status?.containerStatuses?.[0]?.state?.running || p.status?.containerStatuses?.[0]?.state?.terminated).map((p) => p.metadata!.name!);
  for (const pod of started(findApi(objects, api)!)) start(pod);
  if (!opts.follow) {
    await Promise.all([...follows.values()].map((f) => f.ended));
    return;
  }
  io.signal?.addEventListener('abort', () => follows.forEach((f) => f.stop()));
  // New pods (a scale-up, a rollout) join; a pod whose container restarted is followed again.
  while (!io.signal?.aborted) {
    await new Promise((r) => setTimeout(r, 3000));
    const current = await target.kubeConfig();
    if (current !== sendFor) [send, sendFor] = [kubeFetch(current), current];
    const now = findApi(await readCluster(current, target.namespace).catch(() => objects), api);
    if (!now) return; // deleted meanwhile
    if (!io.signal?.aborted) for (const pod of started(now)) start(pod);
  }
}

/** Sends FILE to the api through the gateway (its load balancer, or the API server's service proxy while it has none); returns the answer. */
export async function cloudPredict(target: CloudTarget, api: string, file: string, io: CloudApisIo = defaultIo()): Promise<string> {
  const kc = await target.kubeConfig();
  const objects = await readCluster(kc, target.namespace);
  const found = requireApi(target, objects.apis, api, findApi(objects, api));
  const path = found.deployment.metadata?.annotations?.[annotations.endpoint] ?? '';
  const body = await readFile(file).catch(() => {
    throw new UserError(`cannot read ${file}`);
  });
  const init = { method: 'POST', body, headers: { 'content-type': contentTypeOf(file) }, signal: AbortSignal.timeout(120_000) };
  const res = loadBalancerAddress(objects.gateway)
    ? await fetch(`${gatewayUrl(objects.gateway)}${path}`, init)
    : await kubeFetch(kc)(`${apiServer(kc)}/api/v1/namespaces/${encodeURIComponent(target.namespace)}/services/${gatewayServiceName}:http/proxy${path}`, init);
  const text = await res.text();
  if (!res.ok) throw new UserError(`${api} answered ${res.status}: ${text}`);
  io.print(text);
  return text;
}

/** Removes the api's Deployment, Service and bundle ConfigMap; its pods drain. */
export async function cloudDelete(target: CloudTarget, api: string, io: CloudApisIo = defaultIo()): Promise<string[]> {
  const kc = await target.kubeConfig();
  const objects = await readCluster(kc, target.namespace);
  const found = requireApi(target, objects.apis, api, findApi(objects, api));
  const l = found.deployment.metadata!.labels!;
  const removed = await new ClusterClient(kc).removeApi(target.namespace, l[labels.deployment]!, l[labels.api]!);
  io.print(`deleted ${api} from ${target.description}: ${removed.join(', ')} (its pods drain; cortex deploy --cloud brings it back while cortex.yaml has it)`);
  return removed;
}

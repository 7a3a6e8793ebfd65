// Replicas as pods of a local kind cluster, behind the same Backend contract as processes and
// containers. The cluster does the supervising: the objects src/kube renders are applied
// server-side, Deployments restart pods, the in-cluster autoscaler is the only writer of replicas
// and the in-cluster gateway serves the host's port. What stays here is what a dev loop needs:
// the pods' state from informers, their logs from the log API, and hot reload — the bundle pushed
// to every ready pod through the API server's pod proxy, then into the ConfigMap new pods start from.
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { CoreV1Api, type KubeConfig, type V1Deployment, type V1Pod } from '@kubernetes/client-node';
import { parseLogLine } from '../../runtime/log-format.js';
import type { SwapResult } from '../../runtime/client.js';
import { refusedEverywhere, type Backend, type BackendEvents, type PredictorBundle, type ReloadOutcome, type ReplicaInfo } from '../model/backend.js';
import type { AutoscalerDecision } from '../model/status.js';
import type { ApiSpec, Spec } from '../spec/index.js';
import { ClusterClient } from '../kube/apply.js';
import { apiInformers, type ApiInformers } from '../kube/informers.js';
import { apiObjectName, defaultNamespace, labels } from '../kube/names.js';
import { decisionOf, podReplica } from '../kube/observed.js';
import { followPodLog, type LogFollow } from '../kube/pod-logs.js';
import { apiServer, kubeFetch, podProxy, type PodEndpoint } from '../kube/pod-proxy.js';
import { bundleConfigMap, existingAdminToken, hotSwap, pushAndVerify, syncPod } from '../kube/hot-swap.js';
import { render, renderCluster, type Profile, type RenderInput } from '../kube/render.js';
import { afterEarlierReloads } from './reload-queue.js';

export interface KindBackendOptions {
  kc: KubeConfig;
  /** The runtime image, already on the cluster's nodes. */
  image: string;
  profile: Profile;
  /** Where the in-cluster gateway answers on this machine (the cluster's port mapping). */
  gateway: string;
  namespace?: string;
  /** Leave the apis running when the session stops (--keep). */
  keep?: boolean;
}

interface ApiState {
  spec: Spec;
  api: ApiSpec;
  /** The bundle pods serve: pushed to every ready pod and held in the ConfigMap. */
  bundle: PredictorBundle;
  reloads: Promise<unknown>;
}

/** What this process knows of a pod beyond what the cluster says. */
interface PodState {
  version: string | undefined;
  reloading: boolean;
  error: string | undefined;
  /** A version check or push in progress (one at a time per pod). */
  syncing: Promise<void> | undefined;
  logs: LogFollow | undefined;
  /** Where a follow that ended (a container restart) picks up. */
  resumeAt?: Date;
}

const container = 'api';

export class KindBackend extends EventEmitter<BackendEvents> implements Backend {
  readonly name = 'kind' as const;
  readonly gateway: string;
  private readonly namespace: string;
  private readonly client: ClusterClient;
  private readonly core: CoreV1Api;
  private readonly informers: ApiInformers;
  private readonly endpoint: PodEndpoint;
  private readonly send: typeof fetch;
  private readonly apis = new Map<string, ApiState>();
  private readonly pods = new Map<string, PodState>();
  private adminToken = '';
  private clusterApplied = false;
  /** The gateway has answered on this machine's port (see untilGatewayAnswers). */
  private gatewayAnswers = false;
  private stopped: Promise<void> | undefined;

  constructor(private readonly options: KindBackendOptions) {
    super();
    this.gateway = options.gateway;
    this.namespace = options.namespace ?? defaultNamespace;
    this.client = new ClusterClient(options.kc);
    this.core = options.kc.makeApiClient(CoreV1Api);
    this.informers = apiInformers(options.kc, this.namespace);
    this.send = kubeFetch(options.kc);
    this.endpoint = podProxy(options.kc, this.send);
    const onPod = (type: 'added' | 'modified' | 'deleted') => (pod: V1Pod) => this.onPod(type, pod);
    this.informers.pods.on('add', onPod('added'));
    this.informers.pods.on('update', onPod('modified'));
    this.informers.pods.on('delete', onPod('deleted'));
    // The autoscaler's decisions and replica counts live on the Deployments.
    for (const event of ['add', 'update', 'delete'] as const) this.informers.deployments.on(event, (d: V1Deployment) => this.onDeployment(d));
  }

  async apply(spec: Spec, bundles: ReadonlyMap<string, PredictorBundle>): Promise<void> {
    if (!this.clusterApplied) {
      // The token pods already run with stays (they read it from the Secret when they start).
      this.adminToken = (await existingAdminToken(this.core, this.namespace)) ?? randomBytes(16).toString('hex');
      await this.client.apply(renderCluster(this.renderInput(spec, bundles)));
      await this.informers.start();
      this.clusterApplied = true;
      void this.untilGatewayAnswers();
    }
    for (const api of spec.apis) {
      const bundle = bundles.get(api.name);
      if (!bundle) throw new Error(`no bundle for api ${api.name}`);
      const existing = this.apis.get(api.name);
      // A reload in flight decides the bundle; apply changes only what cortex.yaml says.
      const current = existing && existing.bundle.version !== bundle.version ? existing.bundle : bundle;
      this.apis.set(api.name, { spec, api, bundle: current, reloads: existing?.reloads ?? Promise.resolve() });
    }
    const objects = render(this.renderInput(spec, new Map(spec.apis.map((a) => [a.name, this.apis.get(a.name)!.bundle]))));
    await this.client.apply(objects.filter((o) => o.metadata?.labels?.[labels.component] === 'api'));
    const wanted = new Set(spec.apis.map((a) => a.name));
    for (const name of [...this.apis.keys()]) if (!wanted.has(name)) this.apis.delete(name);
    // By label, not from what this session applied: an earlier --keep or killed session's apis, and
    // a renamed deployment's objects, would otherwise stay, still routed by the in-cluster gateway.
    const pruned = await this.client.pruneOtherApis(this.namespace, spec.deployment, spec.apis.map((a) => a.name));
    for (const what of pruned) this.note(`removed ${what} from the cluster (not in cortex.yaml)`);
    // Pods already running (a --keep session's, adopted) were listed before their api was known
    // here, so nobody asked what they serve: until then they count as not up to date.
    for (const api of spec.apis) for (const pod of this.podsOf(api.name)) this.sync(pod);
    for (const api of spec.apis) {
      const bundle = bundles.get(api.name)!;
      if (bundle.version !== this.apis.get(api.name)!.bundle.version) await this.reload(api.name, bundle);
    }
  }

  reload(name: string, bundle: PredictorBundle): Promise<ReloadOutcome> {
    const api = this.apis.get(name);
    if (!api) return Promise.reject(new Error(`no api ${name}`));
    return afterEarlierReloads(api, () => this.reloadNow(api, bundle));
  }

  private async reloadNow(api: ApiState, bundle: PredictorBundle): Promise<ReloadOutcome> {
    const outcome = await hotSwap({
      pods: this.podsOf(api.api.name),
      version: bundle.version,
      push: (id) => this.push(id, bundle),
      commit: async () => {
        api.bundle = bundle;
        await this.client.apply([bundleConfigMap(this.renderInput(api.spec, new Map()), api.api, bundle)]);
      },
    });
    // Pods that became ready meanwhile started from the old ConfigMap: bring them up to date.
    if (!refusedEverywhere(outcome)) for (const pod of this.podsOf(api.api.name)) this.sync(pod);
    return outcome;
  }

  replicas(name: string): ReplicaInfo[] {
    return this.podsOf(name).map((pod) => this.replicaOf(pod));
  }

  requested(name: string): number {
    const deployment = this.deploymentOf(name);
    return deployment?.spec?.replicas ?? this.apis.get(name)?.api.autoscaling.initReplicas ?? 0;
  }

  decision(name: string): AutoscalerDecision | null {
    const deployment = this.deploymentOf(name);
    return (deployment && decisionOf(deployment)) ?? null;
  }

  async remove(name: string): Promise<void> {
    const api = this.apis.get(name);
    if (!api) return;
    this.apis.delete(name);
    const others = [...this.apis.values()].filter((a) => a.api.deployment === api.api.deployment).map((a) => a.api.name);
    await this.client.pruneApis(this.namespace, api.api.deployment, others);
  }

  stop({ now = false }: { now?: boolean } = {}): Promise<void> {
    const removing = !this.options.keep && this.clusterApplied;
    this.stopped ??= (async () => {
      for (const pod of this.pods.values()) pod.logs?.stop();
      if (removing) {
        this.note(`removing cortex from the kind cluster: namespace ${this.namespace}, its apis, gateway and autoscaler (--keep keeps them)`);
        await this.core.deleteNamespace({ name: this.namespace }).catch(() => undefined);
        // The informers run on meanwhile, so the views see each pod drain and go.
        const deadline = Date.now() + 120_000;
        while (Date.now() < deadline && (await this.core.readNamespace({ name: this.namespace }).then(() => true, () => false))) await new Promise((r) => setTimeout(r, 500));
      }
      await this.informers.stop();
    })();
    if (!now || !removing) return this.stopped;
    // A second Ctrl-C: the namespace goes only once its pods have, so they go now, without their
    // drain (the grace follows CORTEX_DRAIN_TIMEOUT_MS, 35 s by default). A grace of 1 s, not 0:
    // 0 removes the objects before the kubelet has stopped the containers, whose IPs and names a
    // next session could then be given while they still run. The caller bounds the wait.
    const killed = this.core.deleteCollectionNamespacedPod({ namespace: this.namespace, gracePeriodSeconds: 1 }).catch(() => undefined);
    return Promise.all([this.stopped, killed]).then(() => undefined);
  }

  private renderInput(spec: Spec, bundles: ReadonlyMap<string, PredictorBundle>): RenderInput {
    return { spec, image: this.options.image, bundles, profile: this.options.profile, namespace: this.namespace, adminToken: this.adminToken };
  }

  private deploymentOf(name: string): V1Deployment | undefined {
    const api = this.apis.get(name);
    if (!api) return undefined;
    const key = apiObjectName(api.api.deployment, api.api.name);
    return this.informers.deployments.get(key, this.namespace);
  }

  private podsOf(name: string): V1Pod[] {
    const deployment = this.deploymentOf(name);
    return deployment ? this.informers.podsOf(deployment) : [];
  }

  private replicaOf(pod: V1Pod): ReplicaInfo {
    const id = pod.metadata!.name!;
    const replica = podReplica(pod);
    const state = this.pods.get(id);
    const ready = replica.status === 'ready';
    const status = !ready ? replica.status : state?.reloading ? 'reloading' : state?.error && !state.version ? 'error' : this.gatewayAnswers ? 'ready' : 'starting';
    return { ...replica, status, endpoint: this.endpoint(this.namespace, id), version: state?.version, error: replica.error ?? state?.error };
  }

  private state(id: string): PodState {
    let state = this.pods.get(id);
    if (!state) this.pods.set(id, (state = { version: undefined, reloading: false, error: undefined, syncing: undefined, logs: undefined }));
    return state;
  }

  private onPod(type: 'added' | 'modified' | 'deleted', pod: V1Pod): void {
    const id = pod.metadata?.name;
    if (!id) return;
    if (type === 'deleted') {
      this.pods.get(id)?.logs?.stop();
      this.pods.delete(id);
      this.emit('replica', { type, replica: { ...podReplica(pod), status: 'stopping' } });
      return;
    }
    this.follow(pod);
    this.sync(pod);
    this.emit('replica', { type, replica: this.replicaOf(pod) });
  }

  private onDeployment(d: V1Deployment): void {
    // A new replica count or decision: the views read them through requested() and decision().
    const api = d.metadata?.labels?.[labels.api];
    for (const pod of api ? this.podsOf(api) : []) this.emit('replica', { type: 'modified', replica: this.replicaOf(pod) });
  }

  /** A ready pod serving another version than the api's current one gets the current one. */
  private sync(pod: V1Pod): void {
    const id = pod.metadata!.name!;
    const name = pod.metadata?.labels?.[labels.api];
    const api = name ? this.apis.get(name) : undefined;
    const state = this.state(id);
    if (!api || state.syncing || podReplica(pod).status !== 'ready' || state.version === api.bundle.version) return;
    state.syncing = syncPod(this.endpoint(this.namespace, id), api.bundle.version, () => this.push(id, api.bundle), (served) => (state.version = served))
      .then(() => undefined)
      .finally(() => {
        state.syncing = undefined;
        this.emitPod(id);
      });
  }

  private async push(id: string, bundle: PredictorBundle): Promise<SwapResult> {
    const state = this.state(id);
    const endpoint = this.endpoint(this.namespace, id);
    state.reloading = true;
    this.emitPod(id);
    try {
      const result = await pushAndVerify(endpoint, this.adminToken, bundle);
      if (result.ok) Object.assign(state, { version: result.version, error: undefined });
      // Took it but does not serve: show why. Refused it: one that serves keeps its old code, one with none shows why.
      else if (result.notReady) state.error = `not ready after the swap: ${result.error}`;
      else if (!state.version) state.error = result.error;
      return result;
    } finally {
      state.reloading = false;
      this.emitPod(id);
    }
  }

  /** Follows a running pod's log, again after each container restart, until the pod goes. */
  private follow(pod: V1Pod): void {
    const id = pod.metadata!.name!;
    const api = pod.metadata?.labels?.[labels.api] ?? '';
    const state = this.state(id);
    const running = pod.status?.containerStatuses?.find((c) => c.name === container)?.state?.running;
    if (state.logs || !running || this.stopped) return;
    // The first follow shows the pod's whole log; a later one only what came after the last.
    const since = state.resumeAt;
    state.logs = followPodLog(this.send, { server: apiServer(this.options.kc), namespace: this.namespace, pod: id, container, ...(since ? { sinceTime: since } : {}) }, (raw) =>
      this.emit('log', { api, replica: id, ...parseLogLine(raw) }),
    );
    void state.logs.ended.then(() => {
      state.logs = undefined;
      state.resumeAt = new Date();
      setTimeout(() => {
        const now = this.informers.pods.get(id, this.namespace);
        if (now && this.pods.has(id)) this.follow(now);
      }, 1000).unref();
    });
  }

  /**
   * A pod is ready for users only once the gateway reaches it from this machine, through the
   * cluster's port mapping: a new gateway pod is Ready seconds before kube-proxy routes its
   * NodePort, and until then Docker's proxy accepts each connection and closes it unanswered. So
   * ready pods show starting (and the apis not live) until GET / answers through that port.
   */
  private async untilGatewayAnswers(): Promise<void> {
    const started = Date.now();
    let last = '';
    let noted = false;
    while (!this.stopped) {
      try {
        const res = await fetch(`${this.gateway}/`, { signal: AbortSignal.timeout(2000) });
        await res.arrayBuffer();
        if (res.ok) break;
        last = `it answered ${res.status}`;
      } catch (err) {
        const cause = (err as { cause?: { message?: string } }).cause;
        last = cause?.message ?? (err as Error).message;
      }
      if (!noted && Date.now() - started > 15_000) {
        this.note(`waiting for the cluster's gateway to answer at ${this.gateway} (${last}); its pods show starting until it does`);
        noted = true;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    if (this.stopped) return;
    this.gatewayAnswers = true;
    if (noted) this.note(`the cluster's gateway answers at ${this.gateway}`);
    for (const pod of this.informers.pods.list()) this.emitPod(pod.metadata!.name!);
  }

  private emitPod(id: string): void {
    const pod = this.informers.pods.get(id, this.namespace);
    if (pod) this.emit('replica', { type: 'modified', replica: this.replicaOf(pod) });
  }

  private note(message: string): void {
    this.emit('log', { api: 'cortex', replica: 'cortex', time: new Date(), level: 'INFO', message });
  }
}

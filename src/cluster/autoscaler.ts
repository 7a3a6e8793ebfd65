// The in-cluster autoscaler: another entry point of the runtime image (`node dist/src/cluster/autoscaler.js`),
// running the same AutoscalerLoop and Collector as `cortex dev`, fed by informers: each api Deployment
// is an api (keyed by its name, unique in the namespace), each pod of it a replica scraped at its pod
// IP; replicas are written through the Deployment's scale subresource. What to write when is decided
// by src/kube/scale-plan.ts; this file only reads, writes and logs.
import { AppsV1Api, KubeConfig, PatchStrategy, setHeaderOptions, type V1Deployment } from '@kubernetes/client-node';
import { clusterSettingsFrom } from '../../runtime/settings.js';
import { Collector } from '../scaling/collector.js';
import { AutoscalerLoop, tickMs, type Decision, type ScaleTarget } from '../scaling/loop.js';
import type { AutoscalingSpec } from '../spec/types.js';
import { apiMessage as message } from '../kube/apply.js';
import { apiInformers } from '../kube/informers.js';
import { autoscalerFieldManager } from '../kube/names.js';
import { podReplica } from '../kube/observed.js';
import { believedReplicas, decisionPatch, decisionToWrite, nextStep, scalePatch, settled, type Memory } from '../kube/scale-plan.js';

const settings = clusterSettingsFrom(process.env);
const kc = new KubeConfig();
kc.loadFromCluster();
const { namespace } = settings;
const apps = kc.makeApiClient(AppsV1Api);
let stopping = false;
const informers = apiInformers(kc, namespace, (what, err) => console.error(`watching ${what} failed, again in 1 s: ${message(err)}`));
const { deployments } = informers;

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const memory = new Map<string, Memory>();
/** The replicas each api asks for this tick: what the loop's target reports. */
const requested = new Map<string, number>();
const specs = new Map<string, AutoscalingSpec>();

const collector = new Collector(() => Math.max(60_000, ...[...specs.values()].map((s) => s.windowMs)));
const target: ScaleTarget = {
  requested: (key) => requested.get(key) ?? 1,
  scale: async (key, replicas) => void (await scale(key, replicas, loop.decision(key)?.decision ?? 'the autoscaler loop')),
};
const loop = new AutoscalerLoop(target, collector);

/** Writes replicas through the scale subresource; says whether it took (a failure is logged, and the next tick tries again). */
async function scale(key: string, to: number, why: string): Promise<boolean> {
  const from = requested.get(key) ?? 1;
  try {
    await apps.patchNamespacedDeploymentScale({ name: key, namespace, body: scalePatch(to), fieldManager: autoscalerFieldManager }, mergePatch);
  } catch (err) {
    console.error(`${key}: scaling ${from} → ${to} failed: ${message(err)}`);
    return false;
  }
  const m = memory.get(key);
  if (m) m.replicas = { value: to, at: Date.now() };
  requested.set(key, to);
  console.log(`${key}: scaled ${from} → ${to}: ${why}`);
  return true;
}

async function record(key: string, decision: Decision): Promise<void> {
  try {
    await apps.patchNamespacedDeployment({ name: key, namespace, body: decisionPatch(decision), fieldManager: autoscalerFieldManager }, mergePatch);
  } catch (err) {
    console.error(`${key}: recording the decision failed: ${message(err)}`);
    return;
  }
  const m = memory.get(key);
  if (m) m.decision = { value: decision.decision, at: Date.now() };
}

async function tick(): Promise<void> {
  const now = Date.now();
  const listed = deployments.list().filter((d) => d.metadata?.name);
  const names = new Set(listed.map((d) => d.metadata!.name!));
  for (const key of [...memory.keys()]) {
    if (names.has(key)) continue;
    memory.delete(key);
    requested.delete(key);
    specs.delete(key);
    loop.forget(key);
    collector.forget(key);
  }
  const due: V1Deployment[] = [];
  for (const d of listed) {
    const key = d.metadata!.name!;
    let m = memory.get(key);
    if (!m || m.uid !== d.metadata?.uid) {
      // New, or deleted and created again: nothing of the old one's history applies.
      loop.forget(key);
      collector.forget(key);
      m = { uid: d.metadata?.uid };
    }
    memory.set(key, (m = settled(d, m)));
    requested.set(key, believedReplicas(d, m, now));
    const step = nextStep(d, m, now);
    if (step.kind === 'unreadable') {
      if (m.problem !== step.problem) console.error(`${key}: ${step.problem}; not scaled until it is fixed`);
      m.problem = step.problem;
      specs.delete(key);
      continue;
    }
    m.problem = undefined;
    specs.set(key, step.spec);
    if (step.kind === 'init' || step.kind === 'clamp') {
      if (step.to === step.from) console.log(`${key}: ${step.reason}: stays at ${step.to}`);
      else if (!(await scale(key, step.to, step.reason))) continue;
      // A new api's stabilization periods count from its start.
      if (step.kind === 'init') loop.restart({ name: key, autoscaling: step.spec }, now);
      await record(key, { decision: step.reason, at: new Date(now).toISOString() });
    }
    loop.track({ name: key, autoscaling: step.spec }, now);
    due.push(d);
  }

  await collector.tick(new Map(due.map((d) => [d.metadata!.name!, informers.podsOf(d).map(podReplica)])), now);
  await loop.tick(due.map((d) => ({ name: d.metadata!.name!, autoscaling: specs.get(d.metadata!.name!)! })), now);
  for (const d of due) {
    const key = d.metadata!.name!;
    const m = memory.get(key)!;
    const latest = loop.decision(key);
    const write = decisionToWrite(latest, d, m, now);
    if (latest) m.loopAt = latest.at;
    if (write) await record(key, write);
  }
}

// Kubernetes stops a pod with SIGTERM: there is nothing to drain (a write cut short is written again by the next one).
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    stopping = true;
    void informers.stop();
    console.log(`cortex autoscaler: ${signal}, stopping`);
    process.exit(0);
  });
}

await informers.start();
console.log(`cortex autoscaler: scaling the apis of namespace ${namespace} every ${tickMs / 1000} s`);
while (!stopping) {
  const started = Date.now();
  try {
    await tick();
  } catch (err) {
    console.error(`tick failed: ${message(err)}`);
  }
  await new Promise((r) => setTimeout(r, Math.max(0, tickMs - (Date.now() - started))));
}

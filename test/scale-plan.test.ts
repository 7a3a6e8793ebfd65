// What the in-cluster autoscaler writes for a Deployment, as tables of cases: Deployment objects
// in, steps and patches out; no cluster, no clock.
import type { V1Deployment } from '@kubernetes/client-node';
import test from 'ava';
import { annotations } from '../src/kube/names.js';
import { decisionOf } from '../src/kube/observed.js';
import { autoscalingOf, believedReplicas, decisionPatch, decisionToWrite, nextStep, pendingMs, scalePatch, settled, type Memory } from '../src/kube/scale-plan.js';
import { parseSpec } from '../src/spec/index.js';

const spec = parseSpec(
  '- kind: deployment\n  name: d\n- kind: api\n  name: a\n  predictor:\n    path: p.ts\n  autoscaling: { min_replicas: 2, max_replicas: 5, init_replicas: 3, window: 10s }\n',
  '/project/cortex.yaml',
).apis[0]!.autoscaling;

const now = 1_000_000;
const decided = JSON.stringify({ decision: 'avg in-flight 0 / target 1 → 0; clamped to min_replicas 2', at: '2026-01-01T00:00:00.000Z' });

function deployment({ replicas, autoscaling = JSON.stringify(spec), decision }: { replicas?: number; autoscaling?: string | null; decision?: string }): V1Deployment {
  const notes: Record<string, string> = {};
  if (autoscaling !== null) notes[annotations.autoscaling] = autoscaling;
  if (decision !== undefined) notes[annotations.decision] = decision;
  return { metadata: { name: 'd-a', uid: 'u1', annotations: notes }, spec: { selector: {}, template: {}, ...(replicas === undefined ? {} : { replicas }) } };
}

const fresh: Memory = { uid: 'u1' };

for (const [title, d, memory, expected] of [
  ['a new api (defaulted to 1 replica) goes to init_replicas', deployment({ replicas: 1 }), fresh, { kind: 'init', from: 1, to: 3, reason: 'init_replicas 3' }],
  ['no spec.replicas at all counts as the default 1', deployment({}), fresh, { kind: 'init', from: 1, to: 3, reason: 'init_replicas 3' }],
  ['init is recorded even when the count is already right', deployment({ replicas: 3 }), fresh, { kind: 'init', from: 3, to: 3, reason: 'init_replicas 3' }],
  ['an unreadable decision still means init was done', deployment({ replicas: 3, decision: 'garbage' }), fresh, { kind: 'loop' }],
  ['in range: the loop decides', deployment({ replicas: 4, decision: decided }), fresh, { kind: 'loop' }],
  ['min raised above current: clamped now', deployment({ replicas: 1, decision: decided }), fresh, { kind: 'clamp', from: 1, to: 2, reason: 'clamped to min_replicas 2 (was 1)' }],
  ['max lowered below current: clamped now', deployment({ replicas: 9, decision: decided }), fresh, { kind: 'clamp', from: 9, to: 5, reason: 'clamped to max_replicas 5 (was 9)' }],
  // The informer's cache lags the autoscaler's own writes by a moment: they are believed over it.
  ['our init write not in the cache yet: not done twice', deployment({ replicas: 1 }), { uid: 'u1', replicas: { value: 3, at: now - 500 }, decision: { value: 'init_replicas 3', at: now - 500 } }, { kind: 'loop' }],
  ['our clamp write not in the cache yet: not clamped twice', deployment({ replicas: 1, decision: decided }), { uid: 'u1', replicas: { value: 2, at: now - 500 } }, { kind: 'loop' }],
  ['a write long unseen is overruled by the cluster', deployment({ replicas: 1, decision: decided }), { uid: 'u1', replicas: { value: 2, at: now - pendingMs - 1 } }, { kind: 'clamp', from: 1, to: 2, reason: 'clamped to min_replicas 2 (was 1)' }],
] as const) {
  test(`nextStep: ${title}`, (t) => {
    const step = nextStep(d, memory as Memory, now);
    const { spec: _, ...rest } = step as typeof step & { spec?: unknown };
    t.deepEqual(rest, expected);
  });
}

for (const [title, autoscaling, problem] of [
  ['no annotation', null, /no annotation cortex.dev\/autoscaling/],
  ['not JSON', '{min', /is not JSON/],
  ['not an object', '[1,2]', /is not a JSON object/],
  ['a field missing', JSON.stringify({ ...spec, windowMs: undefined }), /windowMs must be a number, got nothing/],
  ['a field of the wrong type', JSON.stringify({ ...spec, maxReplicas: '5' }), /maxReplicas must be a number, got "5"/],
  ['max below min', JSON.stringify({ ...spec, maxReplicas: 1 }), /maxReplicas must be ≥ minReplicas \(2\), got 1/],
  ['init outside [min, max]', JSON.stringify({ ...spec, initReplicas: 7 }), /initReplicas must be between minReplicas \(2\) and maxReplicas \(5\), got 7/],
  ['a fractional replica count', JSON.stringify({ ...spec, minReplicas: 1.5 }), /minReplicas must be an integer ≥ 1, got 1.5/],
  ['a zero target', JSON.stringify({ ...spec, targetReplicaConcurrency: 0 }), /targetReplicaConcurrency must be a number > 0/],
] as const) {
  test(`an unreadable autoscaling annotation is a problem to log, not a crash: ${title}`, (t) => {
    const step = nextStep(deployment({ replicas: 1, autoscaling }), fresh, now);
    t.is(step.kind, 'unreadable');
    t.regex((step as { problem: string }).problem, problem);
  });
}

test('the annotation the renderer writes reads back as the spec', (t) => {
  t.deepEqual(autoscalingOf(deployment({})), { ok: true, spec });
  // Extra keys (a newer CLI) are left out, not refused.
  t.deepEqual(autoscalingOf(deployment({ autoscaling: JSON.stringify({ ...spec, future: true }) })), { ok: true, spec });
});

test('believed replicas: our newer write, else the cluster', (t) => {
  t.is(believedReplicas(deployment({ replicas: 2 }), fresh, now), 2);
  t.is(believedReplicas(deployment({ replicas: 2 }), { uid: 'u1', replicas: { value: 4, at: now - 10 } }, now), 4);
  t.is(believedReplicas(deployment({ replicas: 2 }), { uid: 'u1', replicas: { value: 4, at: now - pendingMs } }, now), 2);
});

test('a write the cache shows is settled: after it, what the cluster says counts (someone scaling by hand)', (t) => {
  const memory: Memory = { uid: 'u1', replicas: { value: 3, at: now - 10 }, decision: { value: 'init_replicas 3', at: now - 10 }, loopAt: 'x' };
  const lagging = deployment({ replicas: 1 });
  t.deepEqual(settled(lagging, memory), memory, 'not shown yet: kept');
  const shown = deployment({ replicas: 3, decision: JSON.stringify({ decision: 'init_replicas 3', at: 'then' }) });
  const after = settled(shown, memory);
  t.deepEqual(after, { uid: 'u1', loopAt: 'x' });
  t.is(believedReplicas(deployment({ replicas: 1, decision: decided }), after, now), 1);
  t.like(nextStep(deployment({ replicas: 1, decision: decided }), after, now), { kind: 'clamp', to: 2 });
});

const latest = { decision: 'avg in-flight 6 / target 2 → 3', at: '2026-01-01T00:01:00.000Z' };
for (const [title, d, memory, expected] of [
  ['a new decision with a new text is written', deployment({ decision: decided }), fresh, latest],
  ['the same text again is not (no churn)', deployment({ decision: JSON.stringify({ ...latest, at: '2026-01-01T00:00:50.000Z' }) }), fresh, undefined],
  ['nor when our write of it is not in the cache yet', deployment({ decision: decided }), { uid: 'u1', decision: { value: latest.decision, at: now - 10 } }, undefined],
  ['a decision already looked at is not written again (a later clamp stays)', deployment({ decision: decided }), { uid: 'u1', loopAt: latest.at }, undefined],
  ['an unreadable annotation is replaced', deployment({ decision: 'garbage' }), fresh, latest],
] as const) {
  test(`decisionToWrite: ${title}`, (t) => {
    t.deepEqual(decisionToWrite(latest, d, memory as Memory, now), expected);
  });
}

test('decisionToWrite: no decision yet, nothing to write', (t) => {
  t.is(decisionToWrite(null, deployment({}), fresh, now), undefined);
});

test('decisionOf reads the annotation back, and nothing from what it cannot read', (t) => {
  t.deepEqual(decisionOf(deployment({ decision: decided })), JSON.parse(decided));
  t.deepEqual(decisionOf({ metadata: decisionPatch(latest).metadata }), latest);
  // The loop's numbers travel with the text, so the views word a cluster's decision as they word a local one.
  const withFacts = { ...latest, facts: { kind: 'waiting' as const, nextAt: latest.at, stabilization: { up: { period: '1m', from: latest.at }, down: { period: '5m', from: latest.at } } } };
  t.deepEqual(decisionOf({ metadata: decisionPatch(withFacts).metadata }), withFacts);
  for (const bad of [undefined, 'garbage', '"text"', 'null', JSON.stringify({ decision: 3, at: 'x' }), JSON.stringify({ decision: 'x' })]) {
    t.is(decisionOf(deployment({ decision: bad })), undefined, String(bad));
  }
});

test('the patches touch only replicas, and only the decision annotation', (t) => {
  t.deepEqual(scalePatch(4), { spec: { replicas: 4 } });
  t.deepEqual(decisionPatch(latest), { metadata: { annotations: { [annotations.decision]: JSON.stringify(latest) } } });
});

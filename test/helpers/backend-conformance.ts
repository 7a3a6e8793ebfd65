// The conformance suite every backend must pass: what the dev loop, gateway, autoscaler and
// views rely on, whatever runs the replicas. One lifecycle per backend, step by step: start,
// ready, reload accepted, reload refused (the old code serves, and new replicas get it), scale
// up and down, remove, stop, and the added/modified/deleted events that say so.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { bundleVersion } from '../../runtime/predictor-slot.js';
import type { Backend, PredictorBundle, ReplicaEvent } from '../../src/model/backend.js';
import { bundleOnce } from '../../src/dev/bundler.js';
import { loadSpec, type Spec } from '../../src/spec/index.js';
import { until } from './dev.js';
import { refusedMarker } from './fake-launcher.js';

export interface ConformanceProject {
  spec: Spec;
  /** A predictor that answers `answer`. */
  good(answer: string): Promise<PredictorBundle>;
  /** A predictor whose init throws: every replica refuses it. */
  refused(): Promise<PredictorBundle>;
}

/** A one-api project (api "echo", one replica to start) and real bundles of it. */
export async function conformanceProject(): Promise<ConformanceProject> {
  const dir = await mkdtemp(join(tmpdir(), 'cortex-conformance-'));
  await writeFile(join(dir, 'cortex.yaml'), '- kind: deployment\n  name: d\n- kind: api\n  name: echo\n  predictor:\n    path: predictor.ts\n  autoscaling: { min_replicas: 1, max_replicas: 3 }\n');
  const bundle = async (source: string): Promise<PredictorBundle> => {
    await writeFile(join(dir, 'predictor.ts'), source);
    const { code } = await bundleOnce(join(dir, 'predictor.ts'));
    return { code, config: {}, version: bundleVersion({ code, config: {} }) };
  };
  const good = (answer: string) => bundle(`export function predict() { return ${JSON.stringify(answer)}; }\n`);
  await good('v0');
  return {
    spec: await loadSpec(dir),
    good,
    refused: () => bundle(`export function init() { throw new Error(${JSON.stringify(refusedMarker)}); }\nexport function predict() { return 'never'; }\n`),
  };
}

/** The local backends scale themselves (the session's autoscaler calls scale). */
export async function conformance(t: ExecutionContext, backend: Backend & Required<Pick<Backend, 'scale'>>, project: ConformanceProject, timeoutMs = 60_000): Promise<void> {
  const events: ReplicaEvent[] = [];
  backend.on('replica', (e) => events.push(e));
  const ready = (version: string, count: number) =>
    until(
      `${count} ready replica(s) serving ${version.slice(0, 8)}`,
      async () => {
        const replicas = backend.replicas('echo');
        return replicas.length === count && replicas.every((r) => r.status === 'ready' && r.version === version) ? replicas : undefined;
      },
      timeoutMs,
    );

  // start, ready
  const v0 = await project.good('v0');
  await backend.apply(project.spec, new Map([['echo', v0]]));
  t.is(backend.requested('echo'), 1, 'requested starts at init_replicas');
  const [first] = await ready(v0.version, 1);
  t.truthy(first!.url, 'a ready replica has an address');
  t.like(events.find((e) => e.replica.id === first!.id), { type: 'added' }, 'the first event of a replica says it was added');
  t.true(events.some((e) => e.type === 'modified' && e.replica.id === first!.id && e.replica.status === 'ready'), 'becoming ready is a modification');

  // reload accepted
  const v1 = await project.good('v1');
  const accepted = await backend.reload('echo', v1);
  t.deepEqual(accepted, { version: v1.version, ok: [first!.id], failed: [] });
  await ready(v1.version, 1);

  // reload refused: the old code keeps serving, and is what new replicas start with
  const bad = await project.refused();
  const refused = await backend.reload('echo', bad);
  t.deepEqual(refused.ok, []);
  t.deepEqual(refused.failed.map((f) => f.replica), [first!.id]);
  t.regex(refused.failed[0]!.error, new RegExp(refusedMarker));
  await ready(v1.version, 1);

  // scale up: the new replica serves the code that works
  await backend.scale('echo', 2);
  t.is(backend.requested('echo'), 2);
  const two = await ready(v1.version, 2);
  const second = two.find((r) => r.id !== first!.id)!;
  t.like(events.find((e) => e.replica.id === second.id), { type: 'added' });

  // scale down: one goes, and its last event says it was deleted
  await backend.scale('echo', 1);
  const [left] = await ready(v1.version, 1);
  const gone = [first!.id, second.id].find((id) => id !== left!.id)!;
  await until('the deleted event', async () => (events.some((e) => e.type === 'deleted' && e.replica.id === gone) ? true : undefined), timeoutMs);
  t.is(events.filter((e) => e.replica.id === gone).at(-1)!.type, 'deleted', 'nothing follows a deletion');

  // remove: every replica goes
  await backend.remove('echo');
  t.deepEqual(backend.replicas('echo'), []);
  t.is(backend.requested('echo'), 0);
  t.is(events.filter((e) => e.replica.id === left!.id).at(-1)!.type, 'deleted');

  // stop, with an api running again: resolves once no replica is left
  await backend.apply(project.spec, new Map([['echo', v1]]));
  await ready(v1.version, 1);
  await backend.stop();
  t.deepEqual(backend.replicas('echo'), []);
  // Each replica's events read as a watch's: added, modified any number of times, deleted (an id
  // may come back after its deletion, e.g. once an api is removed and applied again).
  const ids = new Set(events.map((e) => e.replica.id));
  for (const id of ids) {
    const types = events.filter((e) => e.replica.id === id).map((e) => e.type);
    t.regex(types.join(' '), /^(added( modified)* deleted ?)+$/, `${id}: ${types.join(' ')}`);
  }
}

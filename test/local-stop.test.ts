// Stopping the local backends with real replicas (child processes, containers): a replica still
// in its init has nothing to drain and is killed at once, not given the grace; a second stop
// with `now` kills replicas that the first is still draining. Either way nothing is left behind.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import Docker from 'dockerode';
import { bundleVersion } from '../runtime/predictor-slot.js';
import { DockerLauncher, labels } from '../src/backends/docker.js';
import type { ReplicaLauncher } from '../src/backends/launcher.js';
import { LocalBackend } from '../src/backends/local.js';
import { ProcessLauncher } from '../src/backends/process.js';
import { bundleOnce } from '../src/dev/bundler.js';
import type { PredictorBundle, ReplicaInfo } from '../src/model/backend.js';
import { loadSpec, type Spec } from '../src/spec/index.js';
import { until } from './helpers/dev.js';
import { dockerTest } from './helpers/docker.js';

/** Far longer than any bound below: a stop that waited for either would fail them. */
const graceMs = 30_000;
const slowMs = 60_000;
/** What a kill takes, a container's removal included, on a busy machine; a wait takes graceMs. */
const killedWithinMs = 10_000;

async function project(): Promise<{ spec: Spec; bundle(config: { initMs: number; predictMs: number }): Promise<PredictorBundle> }> {
  const dir = await mkdtemp(join(tmpdir(), 'cortex-local-stop-'));
  await writeFile(join(dir, 'cortex.yaml'), '- kind: deployment\n  name: d\n- kind: api\n  name: sleepy\n  predictor:\n    path: predictor.ts\n');
  await writeFile(
    join(dir, 'predictor.ts'),
    `const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let predictMs = 0;
export async function init({ config }: { config: { initMs: number; predictMs: number } }) {
  predictMs = config.predictMs;
  await sleep(config.initMs);
}
export async function predict() {
  await sleep(predictMs);
  return 'awake';
}
`,
  );
  const { code } = await bundleOnce(join(dir, 'predictor.ts'));
  return { spec: await loadSpec(dir), bundle: async (config) => ({ code, config, version: bundleVersion({ code, config }) }) };
}

/** The launcher, recording how each replica it started ended. */
function recording(inner: ReplicaLauncher): { launcher: ReplicaLauncher; exits: Array<{ code: number | null; signal: string | null }> } {
  const exits: Array<{ code: number | null; signal: string | null }> = [];
  const launcher: ReplicaLauncher = {
    name: inner.name,
    description: inner.description,
    async launch(request) {
      const launched = await inner.launch(request);
      void launched.exited.then((exit) => exits.push(exit));
      return launched;
    },
    close: () => inner.close(),
  };
  return { launcher, exits };
}

const docker = new Docker();
const containersOfThisProcess = () => docker.listContainers({ all: true, filters: { label: [`${labels.session}=${process.pid}`] } });

const backends: Array<[string, (title: string, run: (t: ExecutionContext) => Promise<void>) => void, () => Promise<ReplicaLauncher>, boolean]> = [
  ['process', test.serial, async () => new ProcessLauncher(), false],
  ['docker', dockerTest, () => DockerLauncher.create(), true],
];

for (const [name, register, create, containers] of backends) {
  register(`${name}: a stop during a slow init kills the replica at once, and shows it stopping until it is gone`, async (t) => {
    const { launcher, exits } = recording(await create());
    const backend = new LocalBackend(launcher, { graceMs });
    t.teardown(() => backend.stop({ now: true }));
    const { spec, bundle } = await project();
    await backend.apply(spec, new Map([['sleepy', await bundle({ initMs: slowMs, predictMs: 0 })]]));
    // Running, and its init under way: the push of the predictor is what it answers after init.
    await until('the replica to run', async () => (backend.replicas('sleepy')[0]?.url ? true : undefined), 120_000);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    t.is(backend.replicas('sleepy')[0]?.status, 'starting');

    const started = Date.now();
    const stopped = backend.stop();
    const during: ReplicaInfo[] = backend.replicas('sleepy');
    await stopped;
    const took = Date.now() - started;

    t.like(during, [{ id: 'sleepy-1', status: 'stopping', version: undefined }], 'the view has the replica it waits for');
    t.deepEqual(exits, [{ code: null, signal: 'SIGKILL' }], 'killed, not drained');
    t.true(took < killedWithinMs, `stopped in ${took} ms`);
    t.deepEqual(backend.replicas('sleepy'), []);
    if (containers) t.deepEqual(await containersOfThisProcess(), []);
  });

  register(`${name}: stop({ now }) kills a replica that a stop is still draining, and removes it`, async (t) => {
    const { launcher, exits } = recording(await create());
    const backend = new LocalBackend(launcher, { graceMs });
    t.teardown(() => backend.stop({ now: true }));
    const { spec, bundle } = await project();
    await backend.apply(spec, new Map([['sleepy', await bundle({ initMs: 0, predictMs: slowMs })]]));
    const [replica] = await until('a ready replica', async () => {
      const replicas = backend.replicas('sleepy');
      return replicas[0]?.status === 'ready' ? replicas : undefined;
    }, 120_000);
    // A request in flight for a minute: a drain waits for it, up to the grace.
    void fetch(`${replica!.url}/`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } }).catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const draining = backend.stop();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    t.like(backend.replicas('sleepy'), [{ status: 'stopping' }], 'still draining');

    const started = Date.now();
    await backend.stop({ now: true });
    await draining;
    const took = Date.now() - started;
    t.deepEqual(exits, [{ code: null, signal: 'SIGKILL' }]);
    t.true(took < killedWithinMs, `killed in ${took} ms`);
    if (containers) t.deepEqual(await containersOfThisProcess(), []);
  });
}

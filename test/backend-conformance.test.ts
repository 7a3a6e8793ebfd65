// Every backend passes the same conformance suite (helpers/backend-conformance.ts): the
// supervisor over in-process fake replicas, the process backend, and the docker backend where
// a daemon answers (CORTEX_DOCKER_TESTS=required makes it mandatory).
import test from 'ava';
import { DockerLauncher } from '../src/backends/docker.js';
import { LocalBackend } from '../src/backends/local.js';
import { ProcessLauncher } from '../src/backends/process.js';
import { conformance, conformanceProject } from './helpers/backend-conformance.js';
import { until } from './helpers/dev.js';
import { dockerTest } from './helpers/docker.js';
import { FakeLauncher } from './helpers/fake-launcher.js';

test.serial('conformance: the supervisor, over fake replicas', async (t) => {
  const backend = new LocalBackend(new FakeLauncher(), { graceMs: 100, backoffMs: 10 });
  t.teardown(() => backend.stop());
  await conformance(t, backend, await conformanceProject(), 10_000);
});

test.serial('conformance: the process backend', async (t) => {
  const backend = new LocalBackend(new ProcessLauncher());
  t.teardown(() => backend.stop());
  await conformance(t, backend, await conformanceProject());
});

dockerTest('conformance: the docker backend', async (t) => {
  const backend = new LocalBackend(await DockerLauncher.create());
  t.teardown(() => backend.stop());
  await conformance(t, backend, await conformanceProject(), 120_000);
});

// The supervisor's own rules, which need replicas that fail on demand.

test.serial('supervisor: a replica that crashes is restarted with the current code, and counts the restart', async (t) => {
  const launcher = new FakeLauncher();
  const backend = new LocalBackend(launcher, { graceMs: 100, backoffMs: 10 });
  t.teardown(() => backend.stop());
  const project = await conformanceProject();
  const v0 = await project.good('v0');
  await backend.apply(project.spec, new Map([['echo', v0]]));
  await until('ready', async () => (backend.replicas('echo')[0]?.status === 'ready' ? true : undefined));
  const v1 = await project.good('v1');
  await backend.reload('echo', v1);
  launcher.running.get('echo-1')!.crash();
  const back = await until('the restart to serve', async () => {
    const r = backend.replicas('echo')[0];
    return r?.status === 'ready' && r.restarts === 1 ? r : undefined;
  });
  t.is(back.id, 'echo-1');
  t.is(back.version, v1.version);
  t.is(launcher.launches, 2);
});

test.serial('supervisor: a launch that fails shows as an error with the reason, then is retried', async (t) => {
  const launcher = new FakeLauncher();
  launcher.failNext = 1;
  const backend = new LocalBackend(launcher, { graceMs: 100, backoffMs: 200 });
  t.teardown(() => backend.stop());
  const project = await conformanceProject();
  const errors: string[] = [];
  backend.on('replica', ({ replica }) => replica.status === 'error' && replica.error && errors.push(replica.error));
  await backend.apply(project.spec, new Map([['echo', await project.good('v0')]]));
  await until('ready after the retry', async () => (backend.replicas('echo')[0]?.status === 'ready' ? true : undefined));
  t.true(errors.some((e) => /before listening; restarting in 0\.2 s/.test(e)), errors.join('\n'));
  t.is(launcher.launches, 2);
});

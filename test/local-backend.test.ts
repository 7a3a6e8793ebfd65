// The supervision shared by the local backends, on real child processes with a tiny predictor.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { bundleVersion } from '../runtime/predictor-slot.js';
import type { PredictorBundle } from '../src/model/backend.js';
import { LocalBackend } from '../src/backends/local.js';
import { ProcessLauncher } from '../src/backends/process.js';
import { bundleOnce } from '../src/dev/bundler.js';
import { Gateway } from '../src/gateway/gateway.js';
import { loadSpec } from '../src/spec/index.js';
import { until } from './helpers/dev.js';
import { post } from './helpers/http.js';

async function project() {
  const dir = await mkdtemp(join(tmpdir(), 'cortex-local-'));
  await writeFile(join(dir, 'cortex.yaml'), '- kind: deployment\n  name: d\n- kind: api\n  name: echo\n  predictor:\n    path: predictor.ts\n');
  const bundle = async (answer: string): Promise<PredictorBundle> => {
    await writeFile(join(dir, 'predictor.ts'), `export function predict() { return ${JSON.stringify(answer)}; }\n`);
    const { code } = await bundleOnce(join(dir, 'predictor.ts'));
    return { code, config: {}, version: bundleVersion({ code, config: {} }) };
  };
  const first = await bundle('v0');
  return { spec: await loadSpec(dir), bundle, first };
}

test('a compute change starts a fresh replica that takes over, and one always serves meanwhile', async (t) => {
  const { spec, bundle, first } = await project();
  const backend = new LocalBackend(new ProcessLauncher());
  t.teardown(() => backend.stop());
  await backend.apply(spec, new Map([['echo', first]]));
  await until('the first replica', async () => (backend.replicas('echo').some((r) => r.status === 'ready') ? true : undefined));
  // Clients reach replicas through the gateway, as in cortex dev: it is what must never fail them.
  const gateway = new Gateway({ routes: () => [{ api: 'echo', endpoint: '/d/echo' }], replicas: (api) => backend.replicas(api) });
  const endpoint = `${await gateway.listen(0)}/d/echo`;
  t.teardown(() => gateway.close());

  // Every 20 ms a request, all through the hand-over: none may fail.
  let gaps = 0;
  let asking = true;
  const watcher = (async () => {
    while (asking) {
      if ((await post(endpoint, {}).catch(() => undefined))?.status !== 200) gaps++;
      await new Promise((r) => setTimeout(r, 20));
    }
  })();

  const last = await bundle('v1');
  t.deepEqual((await backend.reload('echo', last)).ok, ['echo-1']);
  const api = spec.apis[0]!;
  const resized = { ...spec, apis: [{ ...api, compute: { ...api.compute, mem: 512 * 2 ** 20 } }] };
  await backend.apply(resized, new Map([['echo', last]]));
  const fresh = await until('a fresh replica to serve alone', async () => {
    const replicas = backend.replicas('echo');
    return replicas.length === 1 && replicas[0]!.id === 'echo-2' && replicas[0]!.status === 'ready' ? replicas[0] : undefined;
  });
  asking = false;
  await watcher;
  t.is(fresh!.version, last.version);
  t.is((await post(`${fresh!.url}/`, {})).text, '"v1"');
  t.is(gaps, 0, 'a replica served throughout');
});

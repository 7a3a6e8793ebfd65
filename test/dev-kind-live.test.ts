// The live view of `cortex dev --backend kind` in a real terminal (tmux: a pty, and a screen to
// read back), on the real kind cluster: under load the in-cluster autoscaler's second pod and its
// decision show on screen; the key bar says that q removes the apis from the cluster; after q the
// pods show draining, and a second Ctrl-C removes the namespace without waiting for the drain.
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { execa } from 'execa';
import { cortexBin } from './helpers/cli.js';
import { copyProject, until } from './helpers/dev.js';
import { cortexObjects, deleteNamespace, kindPath, kindTest, kubeConfig } from './helpers/kind.js';
import { startLoad } from './helpers/load.js';
import { fixtures } from './helpers/shared.js';

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

kindTest('the live view on kind: the autoscaler\'s second pod and decision on screen; q says it removes the apis, and a second Ctrl-C removes them without the drain', async (t) => {
  t.timeout(12 * 60_000);
  const tmuxFound = await execa('tmux', ['-V'], { reject: false });
  if (tmuxFound.exitCode !== 0) return t.fail('tmux is not installed; the live view test reads the screen through it (apt-get install tmux)');
  const core = kubeConfig().makeApiClient(CoreV1Api);
  await deleteNamespace(core, 'cortex');

  const dir = await copyProject(join(fixtures, 'projects/slow'));
  const specFile = join(dir, 'cortex.yaml');
  // At most two pods, so the decision after the scale-up is about 2 replicas; a drain deadline of
  // two minutes (the pods' grace follows it), which only a second Ctrl-C may cut short.
  const spec = (await readFile(specFile, 'utf8'))
    .replace('max_replicas: 3', 'max_replicas: 2')
    .replace('    config: { ms: 200 }\n', '    config: { ms: 200 }\n    env: { CORTEX_DRAIN_TIMEOUT_MS: "120000" }\n');
  await writeFile(specFile, spec);

  // The session as a user starts it in a terminal: CI unset, or cortex would print plain lines.
  const socket = `cortex-live-${process.pid}`;
  const tmux = (...args: string[]) => execa('tmux', ['-L', socket, ...args], { reject: false });
  const exitFile = join(dir, 'exit-code');
  const env = { PATH: await kindPath(), CORTEX_HOME: await mkdtemp(join(tmpdir(), 'cortex-home-')), TERM: 'xterm-256color' };
  const command = `cd ${quote(dir)} && env -u CI -u CONTINUOUS_INTEGRATION ${Object.entries(env).map(([k, v]) => `${k}=${quote(v)}`).join(' ')} ${quote(process.execPath)} ${quote(cortexBin)} dev . --backend kind; echo $? > ${quote(exitFile)}`;
  await tmux('new-session', '-d', '-s', 'dev', '-x', '100', '-y', '32', command);
  t.teardown(async () => {
    await tmux('kill-server');
    await deleteNamespace(core, 'cortex');
  });
  const screen = async () => (await tmux('capture-pane', '-p', '-t', 'dev')).stdout;
  const podRows = (text: string) => [...text.matchAll(/^test-slow-\S+ +ready +(\d+)/gm)].map((m) => Number(m[1]));

  const started = await until('the live view with one ready pod', async () => {
    const text = await screen();
    return /^test\/slow {2}live {2}1\/1 ready/m.test(text) && podRows(text).length === 1 ? text : undefined;
  }, 300_000);
  t.regex(started, /^q quit \(removes the apis from the cluster\) {2}r reload {2}l logs {2}\? help/m, started);

  // Load: six clients, target 2 each, so the autoscaler wants three pods and max_replicas holds it at two.
  const load = startLoad('http://localhost:8888/test/slow', ['{}'], 'application/json', 6, { niced: false });
  let scaled: string;
  try {
    scaled = await until('two ready pods and the decision on screen', async () => {
      const text = await screen();
      return podRows(text).length === 2 && /^test\/slow {2}live {2}2\/2 ready/m.test(text) && /^autoscaler \d\d:\d\d:\d\d {2}(1 → )?2 replicas/m.test(text) ? text : undefined;
    }, 180_000);
  } finally {
    t.deepEqual((await load.stop()).failed, []);
  }
  t.log(scaled);

  // Two requests held in flight (50 s each): a drain would wait for them.
  const held = [1, 2].map(() => fetch('http://localhost:8888/test/slow?ms=50000', { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } }).then((r) => r.status, () => 0));
  await until('the held requests in flight on screen', async () => (podRows(await screen()).reduce((n, f) => n + f, 0) >= 2 ? true : undefined), 60_000);
  await tmux('send-keys', '-t', 'dev', 'q');
  const stopping = await until('the pods draining on screen', async () => {
    const text = await screen();
    return /removing cortex from the kind cluster/.test(text) && /stopping 2 replicas \(draining\)… Ctrl-C kills them now/.test(text) ? text : undefined;
  }, 60_000);
  t.log(stopping.split('\n').filter((l) => /removing cortex|stopping/.test(l)).join('\n'));

  const again = Date.now();
  await tmux('send-keys', '-t', 'dev', 'C-c');
  await until('the session to exit', async () => ((await tmux('has-session', '-t', 'dev')).exitCode !== 0 ? true : undefined), 30_000);
  t.is((await readFile(exitFile, 'utf8')).trim(), '130');
  // Without the drain: well before the held requests end (50 s) or the drain deadline (120 s).
  await until('the cortex namespace gone', async () => ((await core.readNamespace({ name: 'cortex' }).then(() => false, () => true)) ? true : undefined), 25_000);
  t.log(`namespace gone ${((Date.now() - again) / 1000).toFixed(1)} s after the second Ctrl-C`);
  t.deepEqual(await cortexObjects(kubeConfig()), []);
  await Promise.all(held);
});

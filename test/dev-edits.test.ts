// `cortex dev` for real, the edits and stops people actually make: two saves in quick
// succession, a cortex.yaml that is half-written or wrong, a predictor importing a file beside
// its folder, `kill` on the live view, two sessions started at once.
import { cp, mkdir, mkdtemp, readFile, realpath, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { execa } from 'execa';
import { sessionFilePath } from '../src/dev/session-file.js';
import { cortex, cortexBin } from './helpers/cli.js';
import { copyProject, leftovers, processesWith, startDev, until } from './helpers/dev.js';
import { closedPort, post } from './helpers/http.js';
import { exampleDir, photoFiles } from './helpers/shared.js';

const hotdog = await readFile(photoFiles['hotdog.jpg']);
const answer = async (url: string): Promise<string> => (await post(`${url}/image/classifier`, hotdog, 'image/jpeg')).text;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const labelled = (source: string, tag: string) => source.replace('return labels[best!.index];', `return \`${tag}: \${labels[best!.index]}\`;`);

test.serial('a second save inside the watcher’s 50 ms window is served, for the predictor and for cortex.yaml', async (t) => {
  const dir = await copyProject(exampleDir);
  const dev = await startDev(dir);
  try {
    const predictor = join(dir, 'predictor.ts');
    const original = await readFile(predictor, 'utf8');
    await writeFile(predictor, labelled(original, 'first'));
    await sleep(20);
    await writeFile(predictor, labelled(original, 'second'));
    await until('the second save to serve', async () => ((await answer(dev.url)) === '"second: hot dog"' ? true : undefined));
    await sleep(300);
    t.is(await answer(dev.url), '"second: hot dog"', 'and it stays');

    // An editor that truncates the file, then writes it: the empty file in between is no error.
    const specFile = join(dir, 'cortex.yaml');
    const spec = await readFile(specFile, 'utf8');
    await writeFile(specFile, '');
    await sleep(10);
    await writeFile(specFile, spec.replace('min_replicas: 1', 'min_replicas: 2'));
    await until('two replicas', async () => ((await dev.get('classifier')).requested === 2 ? true : undefined));
    t.is((await dev.get()).specError, null);
    t.notRegex(dev.output(), /cortex\.yaml not applied/);
  } finally {
    await dev.quit();
  }
});

test.serial('a cortex.yaml that cannot be applied is part of the status until the next good save', async (t) => {
  const dir = await copyProject(exampleDir);
  const dev = await startDev(dir);
  try {
    const specFile = join(dir, 'cortex.yaml');
    const spec = await readFile(specFile, 'utf8');
    await writeFile(specFile, spec.replace('max_replicas: 4', 'max_replicas: -4'));
    const refused = await until('the refusal', async () => (await dev.get()).specError ?? undefined);
    t.regex(refused.message, /cortex\.yaml:\d+: api "classifier": autoscaling\.max_replicas/);
    const table = await cortex(['get'], { env: dev.env });
    t.regex(table.stdout, /^cortex\.yaml not applied \(the previous one runs\): .*max_replicas/m);
    await writeFile(specFile, spec);
    await until('the good save to clear it', async () => ((await dev.get()).specError === null ? true : undefined));
    t.is(await answer(dev.url), '"hot dog"');
  } finally {
    await dev.quit();
  }
});

test.serial('a file the predictor imports from beside its folder is watched too', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'cortex-outside-'));
  const dir = join(root, 'classifier');
  await cp(exampleDir, dir, { recursive: true });
  await mkdir(join(root, 'shared'));
  const tag = join(root, 'shared', 'tag.ts');
  await writeFile(tag, "export const tag = 'one';\n");
  const predictor = join(dir, 'predictor.ts');
  const source = await readFile(predictor, 'utf8');
  await writeFile(predictor, `import { tag } from '../shared/tag.js';\n${source.replace('return labels[best!.index];', 'return `${tag}: ${labels[best!.index]}`;')}`);
  const dev = await startDev(dir);
  try {
    t.is(await answer(dev.url), '"one: hot dog"');
    await writeFile(tag, "export const tag = 'two';\n");
    await until('the edit outside the folder to serve', async () => ((await answer(dev.url)) === '"two: hot dog"' ? true : undefined));
    t.pass();
  } finally {
    await dev.quit();
  }
});

/**
 * The live view in a real terminal: script(1) gives it a pty, so it draws Ink, not plain lines.
 * CI unset: under CI=true cortex prints plain lines, since Ink would draw only at exit.
 */
async function liveView(t: ExecutionContext) {
  const dir = await copyProject(exampleDir);
  const home = await mkdtemp(join(tmpdir(), 'cortex-home-'));
  const env = { CORTEX_HOME: home };
  const port = await closedPort();
  const command = [process.execPath, cortexBin, 'dev', dir, '--backend', 'process', '--port', String(port)].join(' ');
  const terminal = execa('script', ['-qfec', command, '/dev/null'], { env: { ...env, TERM: 'xterm-256color', CI: undefined, CONTINUOUS_INTEGRATION: undefined }, reject: false, all: true });
  t.teardown(() => void terminal.kill('SIGKILL'));
  // Serving, not only started: a replica still in init is killed on stop rather than drained.
  await until('the session to serve', async () => ((await answer(`http://127.0.0.1:${port}`).catch(() => '')) === '"hot dog"' ? true : undefined), 120_000);
  const sessionFile = sessionFilePath(await realpath(dir), env);
  const { pid } = JSON.parse(await readFile(sessionFile, 'utf8')) as { pid: number };
  t.true((await processesWith({ CORTEX_SESSION: String(pid) })).length > 0, 'a replica runs');
  return { terminal, pid, sessionFile };
}

test.serial('kill (SIGTERM) on the live view stops every replica and removes the session file, as q does', async (t) => {
  const { terminal, pid, sessionFile } = await liveView(t);
  process.kill(pid, 'SIGTERM');
  const result = await terminal;
  t.is(result.exitCode, 0, result.all);
  // What the stop waits for: the draining replica, or nothing once it has gone (a replica with no
  // request in flight drains in milliseconds, sooner than a busy machine paints a frame).
  t.regex(result.all ?? '', /stopping 1 replica \(draining\)… Ctrl-C kills it now|stopping… Ctrl-C exits now/);
  t.deepEqual(await leftovers(pid), [], 'no replica outlives the session');
  t.false(existsSync(sessionFile));
});

test.serial('closing the terminal under the live view stops every replica and removes the session file', async (t) => {
  const { terminal, pid, sessionFile } = await liveView(t);
  // The terminal window goes away: the session gets SIGHUP, and its next write fails.
  terminal.kill('SIGKILL');
  await until('the session to end', async () => {
    try {
      process.kill(pid, 0);
      return undefined;
    } catch {
      return true;
    }
  });
  t.deepEqual(await leftovers(pid), [], 'no replica outlives the session');
  t.false(existsSync(sessionFile));
});

test.serial('of two sessions for one folder started at once, exactly one runs; the other names it', async (t) => {
  const home = await mkdtemp(join(tmpdir(), 'cortex-home-'));
  const env = { CORTEX_HOME: home };
  const dir = await copyProject(exampleDir);
  const ports = [await closedPort(), await closedPort()];
  const sessions = ports.map((port) => execa(process.execPath, [cortexBin, 'dev', dir, '--no-tui', '--backend', 'process', '--port', String(port)], { env, reject: false, all: true }));
  try {
    const refused = await Promise.race(sessions);
    t.is(refused.exitCode, 2);
    t.regex(refused.all ?? '', /^cortex: a dev session for \S+ is already running \(pid \d+, (starting|http:\/\/localhost:\d+)\)/m);
    await until('the other session to serve', async () => ((await cortex(['get', '-o', 'json'], { env })).exitCode === 0 ? true : undefined), 120_000);
  } finally {
    for (const s of sessions) s.kill('SIGINT');
    await Promise.all(sessions);
  }
  t.false(existsSync(sessionFilePath(await realpath(dir), env)), 'the running session removed its file, and only it');
});

test.serial('a replica that refuses a bundle the others took is replaced by one that serves it', async (t) => {
  const dir = await copyProject(exampleDir);
  const specFile = join(dir, 'cortex.yaml');
  await writeFile(specFile, (await readFile(specFile, 'utf8')).replace('min_replicas: 1', 'min_replicas: 2'));
  const dev = await startDev(dir);
  try {
    await until('two ready replicas', async () => ((await dev.get('classifier')).available === 2 ? true : undefined));
    const predictor = join(dir, 'predictor.ts');
    const source = labelled(await readFile(predictor, 'utf8'), 'v2');
    // A fault of one replica (its disk, its memory), not of the code.
    await writeFile(predictor, source.replace('helpers = context.helpers;', "helpers = context.helpers;\n  if (process.env.CORTEX_REPLICA === 'classifier-1') throw new Error('not on this one');"));
    const api = await until('every replica to serve the new code', async () => {
      const a = await dev.get('classifier');
      return a.upToDate === 2 && a.replicas.length === 2 && !a.replicas.some((r: { id: string }) => r.id === 'classifier-1') ? a : undefined;
    }, 60_000);
    t.is(api.lastReload.error, null);
    for (let i = 0; i < 4; i++) t.is(await answer(dev.url), '"v2: hot dog"');
  } finally {
    await dev.quit();
  }
});

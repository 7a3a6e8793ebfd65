// Several dev sessions side by side: which one a command talks to (pure), and what each claims
// before it starts (a folder, the kind cluster, a gateway port), against real files.
import { mkdtempSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { execa } from 'execa';
import { chooseSession, sessionList } from '../src/cli/session-choice.js';
import { claimKindCluster, claimSession, refuseGatewayPortOfSession } from '../src/dev/claims.js';
import { runningSessions, sessionFilePath, sessionsDir, type SessionFile } from '../src/dev/session-file.js';

const session = (dir: string, port: number, pid = 100 + port): SessionFile => ({ pid, dir, control: `http://127.0.0.1:${port + 1000}`, token: 't', gateway: `http://localhost:${port}` });
const a = session('/work/a', 8888);
const b = session('/work/b', 8889);
const nested = session('/work/a/inner', 8890);

test('one session is the one, wherever the command runs', (t) => {
  t.is(chooseSession([a], { cwd: '/elsewhere' }), a);
});

test('of several, the one whose folder holds the working directory; the innermost when folders nest', (t) => {
  t.is(chooseSession([a, b], { cwd: '/work/b' }), b);
  t.is(chooseSession([a, b], { cwd: '/work/a/src/deep' }), a);
  t.is(chooseSession([a, b, nested], { cwd: '/work/a/inner/x' }), nested);
  t.is(chooseSession([a, b, nested], { cwd: '/work/a' }), a);
  // A sibling whose name starts with the folder's is not inside it.
  t.throws(() => chooseSession([a, b], { cwd: '/work/ab' }));
});

test('from elsewhere, an error that lists them and says how to pick', (t) => {
  const err = t.throws(() => chooseSession([a, b], { cwd: '/tmp' }), { name: 'UserError' });
  const lines = err!.message.split('\n');
  t.is(lines[0], '2 dev sessions are running and none is for this folder; pick one with --session FOLDER (or its name), or run the command from inside its folder:');
  t.regex(lines[1]!, /^ {2}a +\/work\/a +http:\/\/localhost:8888 +pid 8988$/);
  t.regex(lines[2]!, /^ {2}b +\/work\/b +http:\/\/localhost:8889 +pid 8989$/);
});

test('--session picks by folder or by the folder\'s name, over the working directory', (t) => {
  t.is(chooseSession([a, b], { cwd: '/work/a', session: { given: '../b', path: '/work/b' } }), b);
  t.is(chooseSession([a, b], { cwd: '/tmp', session: { given: 'b' } }), b);
  const twin = session('/other/b', 9000);
  t.throws(() => chooseSession([a, b, twin], { cwd: '/tmp', session: { given: 'b' } }), { message: /^2 dev sessions are for folders named "b"; pick one with --session FOLDER:\n.*\/work\/b.*\n.*\/other\/b/ });
  t.is(chooseSession([a, b, twin], { cwd: '/tmp', session: { given: '/other/b', path: '/other/b' } }), twin);
  t.throws(() => chooseSession([a, b], { cwd: '/tmp', session: { given: 'c' } }), { message: /^no dev session for "c"; the running ones:\n {2}a / });
});

test('none running: the line that says how to start one', (t) => {
  t.throws(() => chooseSession([], { cwd: '/work/a' }), { message: 'no cortex dev session is running; start one with `cortex dev DIR`' });
  t.throws(() => chooseSession([], { cwd: '/work/a', session: { given: 'a' } }), { message: /^no cortex dev session is running/ });
});

test('a session still starting is listed as starting', (t) => {
  t.regex(sessionList([{ pid: 7, dir: '/work/c' }]), /^ {2}c +\/work\/c +starting +pid 7$/);
});

test('a gateway port another session serves on is refused, naming it; the kind cluster\'s port counts too', (t) => {
  t.throws(() => refuseGatewayPortOfSession(8888, [a, b]), { message: 'port 8888 is the gateway of the dev session for /work/a (pid 8988); pick another with --port' });
  t.notThrows(() => refuseGatewayPortOfSession(8890, [a, b]));
  t.notThrows(() => refuseGatewayPortOfSession(8888, [{ pid: 5, dir: '/work/a' }]), 'a session still starting has no port yet');
});

// The claims write under CORTEX_HOME; this file's own, so nothing here meets a real session.
process.env.CORTEX_HOME = mkdtempSync(join(tmpdir(), 'cortex-home-'));

/** A live process of this user that is not this one: the holder of a claim in another terminal. */
function otherProcess(t: import('ava').ExecutionContext): number {
  const child = execa('sleep', ['60'], { reject: false });
  t.teardown(() => void child.kill());
  return child.pid!;
}

test.serial('one session per folder: a second is refused naming the first; a file left by a dead one is taken over', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cortex-project-'));
  const path = sessionFilePath(dir);
  const holder = otherProcess(t);
  await mkdir(sessionsDir(), { recursive: true, mode: 0o700 });
  await writeFile(path, JSON.stringify({ ...session(dir, 8888), pid: holder }), { mode: 0o600 });
  await t.throwsAsync(claimSession(dir), { name: 'UserError', message: `a dev session for ${dir} is already running (pid ${holder}, http://localhost:8888); stop it first, or use that one (cortex get)` });

  // Its process is gone: the file is stale, ignored by readers and taken over by the next claim.
  await writeFile(path, JSON.stringify({ ...session(dir, 8888), pid: 2 ** 22 + 1 }));
  t.deepEqual(await runningSessions(), []);
  const claim = await claimSession(dir);
  t.is(claim.dir, dir);
  t.deepEqual(await runningSessions(), [{ pid: process.pid, dir }]);
  t.is((await stat(path)).mode & 0o777, 0o600);
  t.is((await stat(sessionsDir())).mode & 0o777, 0o700);
  await claim.release();
  t.deepEqual(await readdir(sessionsDir()), []);
});

test.serial('sessions for different folders claim side by side', async (t) => {
  const [one, two] = await Promise.all([mkdtemp(join(tmpdir(), 'cortex-project-')), mkdtemp(join(tmpdir(), 'cortex-project-'))]);
  const claims = [await claimSession(one), await claimSession(two)];
  t.teardown(() => Promise.all(claims.map((c) => c.release())));
  t.deepEqual((await runningSessions()).map((s) => s.dir), [one, two].sort((x, y) => x.localeCompare(y)));
});

test.serial('the kind cluster: one session at a time, the refusal says which session holds it', async (t) => {
  const holder = otherProcess(t);
  await writeFile(join(sessionsDir(), 'kind-cortex.claim'), JSON.stringify({ pid: holder, dir: '/work/a' }));
  await t.throwsAsync(claimKindCluster('cortex', '/work/b'), {
    name: 'UserError',
    message: `the kind cluster "cortex" is in use by the dev session for /work/a (pid ${holder}), and its apis share one namespace; stop that session first, or run this one with --backend process or --backend docker`,
  });
  // Another cluster is another claim; and once the holder is gone, the cluster is free.
  await (await claimKindCluster('other', '/work/b')).release();
  process.kill(holder, 'SIGKILL');
  await new Promise((r) => setTimeout(r, 200));
  const claim = await claimKindCluster('cortex', '/work/b');
  await t.throwsAsync(claimKindCluster('cortex', '/work/c'), { message: new RegExp(`^the kind cluster "cortex" is in use by the dev session for /work/b \\(pid ${process.pid}\\)`) });
  await claim.release();
  t.deepEqual(await readdir(sessionsDir()), []);
});

test.serial('a session folder left open to others is closed again', async (t) => {
  await chmod(sessionsDir(), 0o755);
  const claim = await claimSession(await mkdtemp(join(tmpdir(), 'cortex-project-')));
  t.is((await stat(sessionsDir())).mode & 0o777, 0o700);
  await claim.release();
});

test.serial('of several sessions taking over one stale file at the same instant, exactly one wins', async (t) => {
  t.timeout(120_000);
  const claims = new URL('../src/dev/claims.js', import.meta.url).href;
  // Each child waits for the same instant, claims, says how it went, and keeps its claim a while
  // (alive, so the others see it held).
  const child = `const { claimSession } = await import(${JSON.stringify(claims)});
    const [dir, at] = process.argv.slice(1);
    await new Promise((r) => setTimeout(r, Number(at) - Date.now()));
    while (Date.now() < Number(at)) {}
    const said = await claimSession(dir).then(() => 'won', (err) => err.message);
    console.log(said);
    await new Promise((r) => setTimeout(r, 1500));`;
  for (let round = 0; round < 10; round++) {
    const dir = await mkdtemp(join(tmpdir(), 'cortex-project-'));
    await writeFile(sessionFilePath(dir), JSON.stringify({ ...session(dir, 8888), pid: 2 ** 22 + 1 }), { mode: 0o600 });
    const at = String(Date.now() + 1500);
    const results = await Promise.all(Array.from({ length: 4 }, () => execa(process.execPath, ['--input-type=module', '-e', child, dir, at], { env: { CORTEX_HOME: process.env.CORTEX_HOME } })));
    const said = results.map((r) => r.stdout.trim());
    t.is(said.filter((s) => s === 'won').length, 1, `round ${round}: ${said.join(' | ')}`);
    t.true(said.every((s) => s === 'won' || s.startsWith(`a dev session for ${dir} is already running`)), said.join(' | '));
  }
  t.deepEqual((await readdir(sessionsDir())).filter((n) => !n.endsWith('.json')), [], 'no takeover or staging file is left');
});

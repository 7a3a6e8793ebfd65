// Two real `cortex dev` sessions of one user side by side, one per project folder, each on its
// own port; the session commands find the right one from the folder they run in, or --session.
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import test from 'ava';
import { cortex } from './helpers/cli.js';
import { copyProject, startDev, type DevRun } from './helpers/dev.js';
import { closedPort, post } from './helpers/http.js';
import { fixtures } from './helpers/shared.js';

const slowProject = join(fixtures, 'projects/slow');

/** A copy of the small fixture project whose api is called `api`. */
async function project(api: string): Promise<string> {
  const dir = await copyProject(slowProject);
  const spec = join(dir, 'cortex.yaml');
  await writeFile(spec, (await readFile(spec, 'utf8')).replace('name: slow', `name: ${api}`).replace('ms: 200', 'ms: 0'));
  return dir;
}

test.serial('two sessions side by side: each serves on its port; get, predict and logs find theirs by folder or --session', async (t) => {
  const home = await mkdtemp(join(tmpdir(), 'cortex-home-'));
  const env = { CORTEX_HOME: home };
  const [first, second, third] = await Promise.all([project('first'), project('second'), project('third')]);
  const elsewhere = await mkdtemp(join(tmpdir(), 'cortex-elsewhere-'));
  const sessions: DevRun[] = [];
  try {
    sessions.push(await startDev(first, ['--backend', 'process'], env));
    sessions.push(await startDev(second, ['--backend', 'process'], env));
    const [one, two] = sessions as [DevRun, DevRun];
    t.not(one.url, two.url);
    t.is((await post(`${one.url}/test/first`, {})).text, '"done"');
    t.is((await post(`${two.url}/test/second`, {})).text, '"done"');
    t.is((await post(`${one.url}/test/second`, {})).status, 404, 'each gateway routes only its own apis');

    // From inside a project folder (or below it): that folder's session.
    await mkdir(join(second, 'sub'));
    for (const [cwd, api, other] of [[first, 'first', 'second'], [join(second, 'sub'), 'second', 'first']] as const) {
      const r = await cortex(['get'], { cwd, env });
      t.is(r.exitCode, 0, r.all);
      t.regex(r.stdout, new RegExp(`^${api} +live`, 'm'));
      t.notRegex(r.stdout, new RegExp(`^${other} `, 'm'));
    }
    t.is((await cortex(['predict', 'first', join(first, 'cortex.yaml')], { cwd: first, env })).stdout, '"done"');
    t.regex((await cortex(['logs', 'second', '--no-follow'], { cwd: second, env })).stdout, /^second-1 /m);

    // From elsewhere: which ones run, and how to pick.
    const lost = await cortex(['get'], { cwd: elsewhere, env });
    t.is(lost.exitCode, 2);
    t.regex(lost.stderr, /^cortex: 2 dev sessions are running and none is for this folder; pick one with --session FOLDER \(or its name\)/);
    for (const [run, dir] of [[one, first], [two, second]] as const) t.regex(lost.stderr, new RegExp(`^ {2}${basename(dir)} +${dir} +${run.url} +pid ${run.pid}$`, 'm'));
    const byFolder = await cortex(['get', '--session', second, '-o', 'json'], { cwd: elsewhere, env });
    t.is(JSON.parse(byFolder.stdout).apis[0].name, 'second', byFolder.all);
    const byName = await cortex(['get', 'first', '-s', basename(first), '-o', 'json'], { cwd: second, env });
    t.is(JSON.parse(byName.stdout).name, 'first', byName.all);

    // A second session for a folder that has one is refused, naming it; so is a port another session serves on.
    const again = await cortex(['dev', first, '--no-tui', '--backend', 'process', '--port', String(await closedPort())], { env });
    t.is(again.exitCode, 2);
    t.is(again.stderr, `cortex: a dev session for ${first} is already running (pid ${one.pid}, ${one.url}); stop it first, or use that one (cortex get)`);
    const samePort = await cortex(['dev', third, '--no-tui', '--backend', 'process', '--port', new URL(one.url).port], { env });
    t.is(samePort.exitCode, 2);
    t.is(samePort.stderr, `cortex: port ${new URL(one.url).port} is the gateway of the dev session for ${first} (pid ${one.pid}); pick another with --port`);

    // One left: it is the one again, wherever the command runs.
    t.is(await one.quit(), 0, one.output());
    sessions.shift();
    const last = await cortex(['get', '-o', 'json'], { cwd: elsewhere, env });
    t.is(JSON.parse(last.stdout).apis[0].name, 'second', last.all);
  } finally {
    for (const s of sessions) await s.quit();
  }
});

// `cortex dev` for real: a session started from the test, driven over HTTP and by editing
// files, checked with `cortex get`, and quit with no process left behind.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { cortex } from './helpers/cli.js';
import { copyProject, leftovers, processesWith, startDev, until } from './helpers/dev.js';
import { post } from './helpers/http.js';
import { startLoad } from './helpers/load.js';
import { exampleDir, photoFiles } from './helpers/shared.js';

test.serial('the example through the gateway, hot reload with no failed request, a compile error kept off, quit cleanly', async (t) => {
  const dir = await copyProject(exampleDir);
  const dev = await startDev(dir);
  const endpoint = `${dev.url}/image/classifier`;
  try {
    const hotdog = await readFile(photoFiles['hotdog.jpg']);
    const first = await post(endpoint, hotdog, 'image/jpeg');
    t.is(first.text, '"hot dog"');

    // Edit the predictor while 8 clients keep asking.
    const predictor = join(dir, 'predictor.ts');
    const original = await readFile(predictor, 'utf8');
    const load = startLoad(endpoint, [hotdog], 'image/jpeg', 8);
    await new Promise((r) => setTimeout(r, 500));
    await writeFile(predictor, original.replace('return labels[best!.index];', 'return `v2: ${labels[best!.index]}`;'));
    await until('the new answer', async () => ((await post(endpoint, hotdog, 'image/jpeg')).text === '"v2: hot dog"' ? true : undefined));
    await new Promise((r) => setTimeout(r, 500));
    const result = await load.stop();
    t.deepEqual(result.failed, [], 'no request failed during the reload');
    t.true(result.ok > 0);

    // A syntax error: the old code keeps answering and the error names file:line.
    await writeFile(predictor, original.replace('return labels[best!.index];', 'return labels[best!.index;'));
    const broken = await until('the reload error', async () => (await dev.get('classifier')).lastReload?.error ?? undefined);
    t.regex(broken.location, /predictor\.ts:\d+:\d+$/);
    t.is(broken.message, 'Expected "]" but found ";"');
    t.is((await post(endpoint, hotdog, 'image/jpeg')).text, '"v2: hot dog"');

    // The next good save clears it.
    await writeFile(predictor, original);
    await until('the original answer', async () => ((await post(endpoint, hotdog, 'image/jpeg')).text === '"hot dog"' ? true : undefined));
    t.is((await dev.get('classifier')).lastReload.error, null);

    // The other session commands.
    const table = await cortex(['get'], { env: dev.env });
    t.regex(table.stdout, /classifier\s+live\s+1\s+1\s+1/);
    const predicted = await cortex(['predict', 'classifier', photoFiles['finch.jpg']], { env: dev.env });
    t.is(predicted.stdout, '"house finch"');
    const logs = await cortex(['logs', 'classifier', '--no-follow'], { env: dev.env });
    t.regex(logs.stdout, /classifier-1 .*predictor swapped/);
  } finally {
    const code = await dev.quit();
    t.is(code, 0, dev.output());
  }
  t.deepEqual(await leftovers(dev.pid), [], 'no replica outlives the session');
  const after = await cortex(['get'], { env: dev.env });
  t.is(after.exitCode, 2);
  t.regex(after.all, /no cortex dev session is running/);
});

test.serial('an init that throws on save keeps the old code serving and shows the error', async (t) => {
  const dir = await copyProject(exampleDir);
  const dev = await startDev(dir);
  try {
    const predictor = join(dir, 'predictor.ts');
    const original = await readFile(predictor, 'utf8');
    await writeFile(predictor, original.replace('helpers = context.helpers;', "helpers = context.helpers;\n  throw new Error('no model today');"));
    const error = await until('the init error', async () => (await dev.get('classifier')).lastReload?.error ?? undefined);
    t.regex(error.message, /init failed: no model today/);
    t.regex(error.location, /predictor\.ts:16:\d+$/);
    const res = await post(`${dev.url}/image/classifier`, await readFile(photoFiles['eagle.jpg']), 'image/jpeg');
    t.is(res.text, '"bald eagle"');
  } finally {
    await dev.quit();
  }
});

test.serial('a save whose init loops forever or exits is refused with file:line while every request is answered', async (t) => {
  const dir = await copyProject(exampleDir);
  const dev = await startDev(dir, ['--backend', 'process'], { CORTEX_THREAD_BLOCKED_MS: '2000' });
  try {
    const predictor = join(dir, 'predictor.ts');
    const original = await readFile(predictor, 'utf8');
    const eagle = await readFile(photoFiles['eagle.jpg']);
    let stop = false;
    const wrong: string[] = [];
    let answered = 0;
    const load = (async () => {
      while (!stop) {
        const res = await post(`${dev.url}/image/classifier`, eagle, 'image/jpeg');
        answered++;
        if (res.text !== '"bald eagle"') wrong.push(`${res.status} ${res.text}`);
      }
    })();
    for (const [bad, why] of [
      ['for (;;);', /init blocked the predictor's thread/],
      ['process.exit(1);', /the predictor's thread exited \(code 1\) while running init/],
    ] as const) {
      await writeFile(predictor, original.replace('helpers = context.helpers;', `helpers = context.helpers;\n  ${bad}`));
      const error = await until(`the refusal of ${bad}`, async () => {
        const e = (await dev.get('classifier')).lastReload?.error;
        return e && why.test(e.message) ? e : undefined;
      });
      if (bad.startsWith('for')) t.regex(error.location, /predictor\.ts:16:\d+$/);
      t.is((await dev.get('classifier')).available, 1);
    }
    await writeFile(predictor, original.replace("return labels[best!.index];", "return `fixed: ${labels[best!.index]}`;"));
    await until('the good save to serve', async () => ((await post(`${dev.url}/image/classifier`, eagle, 'image/jpeg')).text === '"fixed: bald eagle"' ? true : undefined));
    stop = true;
    await load;
    t.deepEqual(wrong.filter((w) => !w.includes('fixed: bald eagle')), []);
    t.true(answered > 10, `${answered} answers`);
  } finally {
    await dev.quit();
  }
});

test.serial('cortex.yaml edits apply: replica counts follow, a bad edit is refused and the old spec stays', async (t) => {
  const dir = await copyProject(exampleDir);
  const dev = await startDev(dir);
  try {
    const specFile = join(dir, 'cortex.yaml');
    const spec = await readFile(specFile, 'utf8');
    await writeFile(specFile, spec.replace('min_replicas: 1', 'min_replicas: 2'));
    await until('two ready replicas', async () => ((await dev.get('classifier')).available === 2 ? true : undefined));
    await writeFile(specFile, spec.replace('min_replicas: 1', 'min_replicas: lots'));
    await until('the refusal', async () => (dev.output().includes('cortex.yaml not applied') ? true : undefined));
    t.regex(dev.output(), /cortex\.yaml:\d+: api "classifier": autoscaling\.min_replicas must be an integer/);
    t.is((await dev.get('classifier')).requested, 2);

    // A config change is a reload like a save: a config whose init fails keeps the old code serving.
    await writeFile(specFile, spec.replace('min_replicas: 1', 'min_replicas: 2').replace(/labels: \S+/, 'labels: missing-labels.json'));
    const error = await until('the config reload error', async () => (await dev.get('classifier')).lastReload?.error ?? undefined);
    t.regex(error.message, /init failed: file not found: .*missing-labels\.json/);
    t.is((await post(`${dev.url}/image/classifier`, await readFile(photoFiles['hotdog.jpg']), 'image/jpeg')).text, '"hot dog"');

    // Deleting the api removes its replicas and its route.
    t.is((await cortex(['delete', 'classifier'], { env: dev.env })).stdout, 'deleted classifier');
    t.is((await dev.get()).apis.length, 0);
    t.is((await post(`${dev.url}/image/classifier`, {})).status, 404);
  } finally {
    await dev.quit();
  }
});

test.serial('a replica that dies is restarted with backoff, and the status says so', async (t) => {
  const dev = await startDev(await copyProject(exampleDir));
  try {
    const [pid] = await processesWith({ CORTEX_SESSION: String(dev.pid), CORTEX_REPLICA: 'classifier-1' });
    t.truthy(pid);
    const killed = Date.now();
    process.kill(pid!, 'SIGKILL');
    await until('the crash to show', async () => (/classifier-1 ready → error: exited \(SIGKILL\); restarting in 0\.5 s/.test(dev.output()) ? true : undefined));
    const shown = Date.now();
    const back = await until('the restarted replica', async () => {
      const replica = (await dev.get('classifier')).replicas[0];
      return replica.status === 'ready' && replica.restarts === 1 ? replica : undefined;
    });
    t.log(`crash shown after ${shown - killed} ms, serving again after ${Date.now() - killed} ms`);
    t.is(back.id, 'classifier-1');
    const res = await post(`${dev.url}/image/classifier`, await readFile(photoFiles['dog.jpg']), 'image/jpeg');
    t.is(res.text, '"Alaskan Malamute"');
  } finally {
    await dev.quit();
  }
});

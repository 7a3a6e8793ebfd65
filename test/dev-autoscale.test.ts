// A load step on a real dev session: replicas go up as Cortex's algorithm says and come back
// down after the load stops (short windows and periods in the fixture's cortex.yaml).
import { join } from 'node:path';
import test from 'ava';
import { copyProject, leftovers, startDev, until } from './helpers/dev.js';
import { startLoad, type Load } from './helpers/load.js';
import { fixtures } from './helpers/shared.js';

test('a load step scales up to max_replicas and back down to min_replicas', async (t) => {
  const dev = await startDev(await copyProject(join(fixtures, 'projects/slow')));
  let load: Load | undefined;
  try {
    // 12 clients on a 200 ms predictor: ~12 in flight / target 2 → 6, capped at max_replicas 3,
    // reached in steps no larger than max_upscale_factor allows (1 → 2 → 3).
    load = startLoad(`${dev.url}/test/slow`, ['{}'], 'application/json', 12, { niced: false });
    await until('3 ready replicas', async () => ((await dev.get('slow')).available === 3 ? true : undefined));
    // The steps as the session decided them, one line each: polling `cortex get` (a process
    // start per look, seconds on a loaded machine) can miss a step that lasts less than a look.
    const seen = [...dev.output().matchAll(/slow: requested (\d+) → (\d+)/g)].flatMap((m, i) => (i === 0 ? [Number(m[1]), Number(m[2])] : [Number(m[2])]));
    const result = await load.stop();
    t.deepEqual(result.failed, [], 'no request failed while scaling up');
    t.deepEqual(seen, [1, 2, 3]);
    t.regex(dev.output(), /slow: requested 1 → 2 \(avg in-flight [\d.]+ \/ target 2 → \d/);

    // No load: after the 6 s downscale stabilization, back to one.
    await until('one replica', async () => ((await dev.get('slow')).requested === 1 ? true : undefined));
    t.regex(dev.output(), /slow: requested \d → \d \(avg in-flight 0 \/ target 2/);
  } finally {
    await load?.stop();
    await dev.quit();
  }
  t.deepEqual(await leftovers(dev.pid), []);
});

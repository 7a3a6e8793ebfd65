// `cortex get`: the seed's table from a session snapshot.
import test from 'ava';
import { formatGet } from '../src/cli/get-view.js';
import { api, iso, replica, snapshot } from './fixtures/tui/session.js';

const now = Date.parse(iso(0));

test('the table: status, up-to-date, available, requested, last update, avg latency and the status counts', (t) => {
  const text = formatGet(
    snapshot([api({ updatedAt: iso(-90), traffic: { ...api().traffic, now: { reqPerSec: 1, p50Ms: 10, p99Ms: 20, avgMs: 12.4 }, counts: { '2xx': 7, '4xx': 2, '5xx': 1 } } })]),
    undefined,
    now,
  );
  t.regex(text, /^api +status +up-to-date +available +requested +last update +avg latency +2XX +4XX +5XX$/m);
  t.regex(text, /^classifier +live +1 +1 +1 +1m +12ms +7 +2 +1$/m);
});

test('one api: its replicas, its endpoint and a curl, and a failed reload with file:line', (t) => {
  const failed = api({ lastReload: { version: 'v', at: iso(-5), ms: 9, error: { message: 'Unexpected ";"', location: 'ic/predictor.ts:20:13' } }, replicas: [replica('classifier-1'), replica('classifier-2', { status: 'starting' })] });
  const text = formatGet(snapshot([failed]), 'classifier', now);
  t.regex(text, /^last reload failed, the old code serves: ic\/predictor\.ts:20:13: Unexpected ";"$/m);
  t.regex(text, /^classifier-2 +starting/m);
  t.regex(text, /^endpoint: http:\/\/localhost:8888\/image\/classifier$/m);
  t.regex(text, /^curl: curl http:\/\/localhost:8888\/image\/classifier -X POST/m);
});

test('"last update" is the last good update: a failed reload does not move it', (t) => {
  const failed = api({ updatedAt: iso(-600), lastReload: { version: 'v', at: iso(-5), ms: 9, error: { message: 'x', location: null } } });
  t.regex(formatGet(snapshot([failed]), undefined, now), /^classifier +live +1 +1 +1 +10m /m);
});

test('a cortex.yaml that was not applied is said first', (t) => {
  const text = formatGet(snapshot([api()], { specError: { message: 'ic/cortex.yaml:3: kind must be deployment or api', at: iso(0) } }), undefined, now);
  t.is(text.split('\n')[1], 'cortex.yaml not applied (the previous one runs): ic/cortex.yaml:3: kind must be deployment or api');
});

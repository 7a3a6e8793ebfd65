// How much of the live area fits a terminal of a given height: cases worked out by hand from
// the row counts in layout.ts.
import test from 'ava';
import { MAX_SPEC_ERROR_ROWS, planLayout, specErrorLines, type Layout } from '../src/tui/layout.js';
import { formatCount, formatRate } from '../src/tui/format.js';
import { api, iso, replica } from './fixtures/tui/session.js';

const failed = { version: 'v', at: iso(1), ms: 1, error: { message: 'boom', location: 'p.ts:1:1' } };
const decided = { decision: 'avg in-flight 1 / target 1 → 1', at: iso(1) };
const apis = (n: number, replicas: number, extra = {}) =>
  Array.from({ length: n }, (_, i) => api({ name: `a${i}`, replicas: Array.from({ length: replicas }, (_, j) => replica(`a${i}-${j}`)), ...extra }));

const cases: Array<{ title: string; apis: ReturnType<typeof apis>; rows: number; specErrorRows?: number; expect: Layout }> = [
  // frame 1+1+1+4+1 = 8, headers 2 → room 23 − 10 = 13 ≥ 1
  { title: 'one api, one replica', apis: apis(1, 1), rows: 24, expect: { header: 'full', replicaRows: 6 } },
  // headers 4 (error, autoscaler) → room 23 − 12 = 11 ≥ 6
  { title: 'one api with everything, six replicas', apis: apis(1, 6, { lastReload: failed, autoscaler: decided }), rows: 24, expect: { header: 'full', replicaRows: 6 } },
  // frame 1+1+1+3+1 = 7; full headers 12 → room 4 < 6; compact 6 → room 10
  { title: 'three apis with everything: two-line headers', apis: apis(3, 2, { lastReload: failed, autoscaler: decided }), rows: 24, expect: { header: 'compact', replicaRows: 6 } },
  // frame 1+1+1+6+1 = 10; compact 12 → room 1 < 6; line 6 → room 7
  { title: 'six apis: one-line headers', apis: apis(6, 1), rows: 24, expect: { header: 'line', replicaRows: 6 } },
  // frame 1+1+1+10+1 = 14; line 10 → room −1: still one row and "+N more"
  { title: 'ten apis on 24 rows: as little as can be', apis: apis(10, 1), rows: 24, expect: { header: 'line', replicaRows: 2 } },
  // the spec error takes a row: frame 9; full 4 → room 10 ≥ 6
  { title: 'a spec error takes a row', apis: apis(1, 6, { lastReload: failed, autoscaler: decided }), rows: 24, specErrorRows: 1, expect: { header: 'full', replicaRows: 6 } },
  // rows 20: budget 19; frame 9; full 4 → room 6 ≥ 6
  { title: 'a one-row spec error on 20 rows leaves full headers', apis: apis(1, 6, { lastReload: failed, autoscaler: decided }), rows: 20, specErrorRows: 1, expect: { header: 'full', replicaRows: 6 } },
  // rows 20: budget 19; frame 11; full 4 → room 4 < 6; compact 2 → room 6 ≥ 6
  { title: 'a three-row spec error on 20 rows makes the headers compact', apis: apis(1, 6, { lastReload: failed, autoscaler: decided }), rows: 20, specErrorRows: 3, expect: { header: 'compact', replicaRows: 6 } },
  // rows 15: budget 14; frame 8; full 4 → room 2 < 6; compact 2 → room 4 < 6; line 1 → room 5 < 6
  { title: 'a short terminal cuts replica rows last', apis: apis(1, 6, { lastReload: failed, autoscaler: decided }), rows: 15, expect: { header: 'line', replicaRows: 5 } },
];

for (const c of cases) {
  test(c.title, (t) => {
    t.deepEqual(planLayout(c.apis, c.rows, c.specErrorRows ?? 0), c.expect);
  });
}

test('counts stay within five characters', (t) => {
  t.deepEqual([0, 9999, 10_000, 84_445, 999_499, 1_234_567, 12_345_678].map(formatCount), ['0', '9999', '10k', '84k', '999k', '1.2M', '12M']);
});

test('a rate of a request or two a minute is not shown as nothing', (t) => {
  t.deepEqual([0, 0.02, 0.05, 2.5, 12.4].map(formatRate), ['0/s', '<0.1/s', '0.1/s', '2.5/s', '12/s']);
});

const yamlError = '✗ cortex.yaml not applied, the previous spec runs: ic/cortex.yaml:17: api "classifier": autoscaling.max_replicas must be an integer ≥ 1, got "banana"';

test('a spec error that fits is one line', (t) => {
  t.deepEqual(specErrorLines(yamlError, 200), [yamlError]);
});

test('a spec error wider than the terminal wraps between words, all of it kept', (t) => {
  const lines = specErrorLines(yamlError, 80);
  t.is(lines.length, 2);
  t.true(lines.every((l) => [...l].length <= 80));
  t.is(lines.join(' '), yamlError);
});

test('a spec error longer than three rows keeps three, the last cut with an ellipsis', (t) => {
  const lines = specErrorLines(`${yamlError} ${yamlError} ${yamlError}`, 80);
  t.is(lines.length, MAX_SPEC_ERROR_ROWS);
  t.true(lines.every((l) => [...l].length <= 80));
  t.true(lines[2]!.endsWith('…'));
});

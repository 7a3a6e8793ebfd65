// The api status every view shows, from replica states (Cortex's getStatusCode order).
import test from 'ava';
import type { ReplicaStatus } from '../src/model/backend.js';
import { apiStatus, type ApiStatus } from '../src/model/status.js';

const r = (status: ReplicaStatus, version = 'v2') => ({ status, version });

const cases: Array<[string, Array<{ status: ReplicaStatus; version: string }>, number, number, ApiStatus]> = [
  ['all requested replicas serve the current version', [r('ready'), r('ready')], 2, 1, 'live'],
  ['nothing serves yet', [r('starting')], 1, 1, 'starting'],
  ['the only replica failed', [r('error')], 1, 1, 'error'],
  ['one of two failed, even though the other serves', [r('ready'), r('error')], 2, 1, 'error'],
  ['scaling up: min_replicas serve, the new one starts', [r('ready'), r('starting')], 2, 1, 'live'],
  ['below min_replicas while a replica starts', [r('ready'), r('starting')], 2, 2, 'updating'],
  ['an old version still serves while the new one loads', [r('reloading', 'v1')], 1, 1, 'updating'],
  ['no replicas at all after a delete', [], 1, 1, 'starting'],
];

for (const [title, replicas, requested, min, expected] of cases) {
  test(title, (t) => t.is(apiStatus(replicas, requested, 'v2', min), expected));
}

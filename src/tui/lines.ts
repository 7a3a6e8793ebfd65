// The plain view (stdout not a terminal, or --no-tui): one timestamped line per log line and
// per change in the session's status model, with no colours or escape codes, fit for a file
// or a CI log.
import { stripVTControlCharacters } from 'node:util';
import type { ReplicaLogLine } from '../model/backend.js';
import type { ApiSnapshot, ReplicaSnapshot, SessionSnapshot, SessionView } from '../model/status.js';
import { clock, formatMs, located } from './format.js';

export interface SessionEvent {
  time: Date;
  text: string;
}

/** What changed between two snapshots, in words; `now` stamps changes the snapshot does not date. */
export function sessionEvents(prev: SessionSnapshot | null, next: SessionSnapshot, now = new Date()): SessionEvent[] {
  const events: SessionEvent[] = [];
  const before = new Map(prev?.apis.map((a) => [a.name, a]));
  for (const api of next.apis) {
    const old = before.get(api.name);
    before.delete(api.name);
    if (!old) events.push({ time: now, text: `endpoint ${api.name}: ${api.endpoint}` });
    events.push(...replicaEvents(old?.replicas ?? [], api.replicas, now));
    if (old) events.push(...reloadEvents(old, api), ...scaleEvents(old, api, now));
  }
  for (const gone of before.keys()) events.push({ time: now, text: `${gone} removed` });
  return events;
}

function replicaEvents(prev: ReplicaSnapshot[], next: ReplicaSnapshot[], now: Date): SessionEvent[] {
  const before = new Map(prev.map((r) => [r.id, r]));
  const events: SessionEvent[] = [];
  for (const r of next) {
    const old = before.get(r.id);
    before.delete(r.id);
    if (old?.status === r.status) continue;
    const detail = r.status === 'ready' && r.version ? ` (version ${r.version})` : r.status === 'error' && r.error ? `: ${r.error}` : '';
    events.push({ time: now, text: `${r.id} ${old ? `${old.status} → ` : ''}${r.status}${detail}` });
  }
  for (const gone of before.keys()) events.push({ time: now, text: `${gone} stopped` });
  return events;
}

function reloadEvents(prev: ApiSnapshot, next: ApiSnapshot): SessionEvent[] {
  const reload = next.lastReload;
  if (!reload || reload.at === prev.lastReload?.at) return [];
  const time = new Date(reload.at);
  if (reload.error) return [{ time, text: `reload ${next.name} failed: ${located(reload.error)}` }];
  const versions = prev.version === reload.version ? `${reload.version} (unchanged)` : `${prev.version ?? '—'} → ${reload.version}`;
  return [{ time, text: `reload ${next.name}: version ${versions} in ${formatMs(reload.ms)}` }];
}

function scaleEvents(prev: ApiSnapshot, next: ApiSnapshot, now: Date): SessionEvent[] {
  if (prev.requested === next.requested) return [];
  // The autoscaler's reason only when it decided just now; cortex.yaml changes scale too.
  const decided = next.autoscaler && next.autoscaler.facts?.kind !== 'waiting' && next.autoscaler.at !== prev.autoscaler?.at ? next.autoscaler : null;
  return [
    {
      time: decided ? new Date(decided.at) : now,
      text: `${next.name}: requested ${prev.requested} → ${next.requested}${decided ? ` (${decided.decision})` : ''}`,
    },
  ];
}

/** Prints the session as plain lines until the returned function is called. */
export function printLines(session: SessionView, out: NodeJS.WritableStream): () => void {
  // Every physical line carries the stamp, so a stack trace stays greppable by replica.
  const print = (time: Date, prefix: string, text: string): void => {
    const stamp = `${clock(time)} ${prefix}`;
    out.write(stripVTControlCharacters(text).split('\n').map((l) => `${stamp}${l}\n`).join(''));
  };

  let last = session.snapshot();
  print(new Date(), '', last.backend.description);
  for (const e of sessionEvents(null, last)) print(e.time, '', e.text);

  const onChange = (): void => {
    const next = session.snapshot();
    for (const e of sessionEvents(last, next)) print(e.time, '', e.text);
    last = next;
  };
  const onLog = (line: ReplicaLogLine): void => print(line.time, `${line.replica} ${line.level} `, line.message);
  for (const line of session.earlyLogs()) onLog(line);
  session.on('change', onChange);
  session.on('log', onLog);
  return () => {
    session.off('change', onChange);
    session.off('log', onLog);
  };
}

// `cortex get`: the seed's status table, from the session snapshot.
import type { ApiSnapshot, SessionSnapshot } from '../model/status.js';
import { formatAgeCoarse, formatMsPlain, located } from '../tui/format.js';

const ago = (iso: string, now: number): string => formatAgeCoarse(now - Date.parse(iso));
const ms = formatMsPlain;

export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i]!)).join('   ').trimEnd()).join('\n');
}

function row(api: ApiSnapshot, now: number): string[] {
  const t = api.traffic;
  return [
    api.name,
    api.status,
    String(api.upToDate),
    String(api.available),
    String(api.requested),
    ago(api.updatedAt, now),
    ms(t.now.avgMs),
    String(t.counts['2xx']),
    String(t.counts['4xx']),
    String(t.counts['5xx']),
  ];
}

export function formatGet(session: SessionSnapshot, apiName: string | undefined, now = Date.now()): string {
  const apis = apiName ? session.apis.filter((a) => a.name === apiName) : session.apis;
  const header = ['api', 'status', 'up-to-date', 'available', 'requested', 'last update', 'avg latency', '2XX', '4XX', '5XX'];
  const lines = [`backend: ${session.backend.name}   gateway: ${session.gateway}`, '', table([header, ...apis.map((a) => row(a, now))])];
  if (session.specError) lines.splice(1, 0, `cortex.yaml not applied (the previous one runs): ${session.specError.message}`);
  const api = apiName ? apis[0] : undefined;
  if (api) {
    if (api.lastReload?.error) lines.push('', `last reload failed, the old code serves: ${located(api.lastReload.error)}`);
    lines.push('', table([['replica', 'status', 'in-flight', 'requests', 'p50', 'uptime'], ...api.replicas.map((r) => [r.id, r.status, String(r.inFlight), String(r.requests), ms(r.p50Ms), ago(r.startedAt, now)])]));
    lines.push('', `endpoint: ${api.endpoint}`, `curl: curl ${api.endpoint} -X POST -H "Content-Type: application/json" -d @sample.json`);
  }
  return lines.join('\n');
}

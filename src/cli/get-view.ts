// `cortex get`: the seed's status table, from the session snapshot. Two tables rather than one
// (the seed's eleven columns were ~105 wide and wrapped at 80): how each api runs, then its
// traffic with the window of each figure. Given a width (a terminal's), nothing is wider: long
// names are cut in the middle and messages wrap.
import wrapAnsi from 'wrap-ansi';
import type { ApiSnapshot, ReplicaSnapshot, SessionSnapshot } from '../model/status.js';
import { autoscalerLine } from '../tui/autoscaler-line.js';
import { firstLine, formatAgeCoarse, formatMsPlain, formatWindow, located } from '../tui/format.js';

const ago = (iso: string, now: number): string => formatAgeCoarse(now - Date.parse(iso));
const ms = formatMsPlain;

const GAP = '  ';

/** A name cut in the middle to `width` characters ("classifier-…-12"): names differ at their ends. */
function cutMiddle(text: string, width: number): string {
  const chars = [...text];
  if (chars.length <= width) return text;
  if (width <= 1) return chars.slice(0, width).join('');
  const tail = Math.floor((width - 1) / 2);
  return `${chars.slice(0, width - 1 - tail).join('')}…${chars.slice(chars.length - tail).join('')}`;
}

/** Columns padded to their widest cell; past `width`, the first column (the names) gives way. */
export function table(rows: string[][], width = Infinity): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => [...r[i]!].length)));
  const total = widths.reduce((n, w) => n + w, 0) + GAP.length * (widths.length - 1);
  if (total > width) widths[0] = Math.max(4, widths[0]! - (total - width));
  return rows
    .map((r) => r.map((cell, i) => (i === 0 ? cutMiddle(cell, widths[0]!) : cell).padEnd(widths[i]!)).join(GAP).trimEnd())
    .join('\n');
}

/** A message, wrapped to the width (never cut: it is the reason). */
function message(text: string, width: number): string {
  return Number.isFinite(width) ? wrapAnsi(text, Math.max(20, width), { hard: true, trim: true }) : text;
}

function statusRow(api: ApiSnapshot, now: number): string[] {
  return [api.name, api.status, String(api.upToDate), String(api.available), String(api.requested), ago(api.updatedAt, now)];
}

function trafficRow(api: ApiSnapshot): string[] {
  const t = api.traffic;
  const rate = t.now.reqPerSec;
  return [api.name, rate < 10 && rate % 1 !== 0 ? rate.toFixed(1) : String(Math.round(rate)), ms(t.now.p50Ms), ms(t.now.p99Ms), ms(t.now.avgMs), String(t.counts['2xx']), String(t.counts['4xx']), String(t.counts['5xx'])];
}

/** A file to post to the api, for the curl line: found beside its cortex.yaml by the caller. */
export interface Sample {
  /** As the user can type it from here (relative to the working directory when under it). */
  path: string;
  contentType: string;
}

/**
 * The `curl:` line of an api (`cortex get API`, and `cortex deploy --cloud` once the load balancer
 * has an address): a curl that posts a file that exists, with its content type; split with a shell
 * continuation where one line is too wide, never cut. `cloud`: the advice without a sample says --cloud.
 */
export function curlLine(api: Pick<ApiSnapshot, 'name' | 'endpoint'>, sample: Sample | undefined, { width = Infinity, cloud = false }: { width?: number; cloud?: boolean } = {}): string {
  if (!sample) return message(`curl: no sample file beside cortex.yaml (sample.json, or a .jpg or .png); put one there, or run: cortex predict ${api.name} FILE${cloud ? ' --cloud' : ''}`, width);
  const file = /^[\w./@-]+$/.test(sample.path) ? sample.path : `'${sample.path.replace(/'/g, `'\\''`)}'`;
  const data = sample.contentType === 'application/json' || sample.contentType === 'text/plain' ? `-d @${file}` : `--data-binary @${file}`;
  const pieces = [`curl: curl ${api.endpoint} -X POST`, `-H 'Content-Type: ${sample.contentType}'`, data];
  const lines = [pieces.shift()!];
  for (const piece of pieces) {
    // A line that goes on ends in a backslash; a piece is never split (a URL or a path cannot be).
    if ([...`${lines.at(-1)!} ${piece} \\`].length <= width) lines[lines.length - 1] += ` ${piece}`;
    else lines.push(`  ${piece}`);
  }
  return lines.join(' \\\n');
}

function replicaErrors(replicas: readonly ReplicaSnapshot[]): string[] {
  return replicas.filter((r) => r.status === 'error').map((r) => `${r.id}: ${r.error ? firstLine(r.error) : 'error (no reason given)'}`);
}

export interface GetOptions {
  now?: number;
  /** Columns to fit (a terminal's); unlimited when output goes to a pipe or file. */
  width?: number;
  sample?: Sample;
}

export function formatGet(session: SessionSnapshot, apiName: string | undefined, options: GetOptions = {}): string {
  const { now = Date.now(), width = Infinity } = options;
  const apis = apiName ? session.apis.filter((a) => a.name === apiName) : session.apis;
  const windows = apis[0]?.traffic.windows ?? { rateSeconds: 5, latencySeconds: 60 };
  const latency = formatWindow(windows.latencySeconds);
  const lines = [`backend: ${session.backend.name}   gateway: ${session.gateway}`];
  if (session.specError) lines.push(message(`cortex.yaml not applied (the previous one runs): ${session.specError.message}`, width));
  lines.push(
    '',
    table([['api', 'status', 'up-to-date', 'available', 'requested', 'last update'], ...apis.map((a) => statusRow(a, now))], width),
    '',
    table([['api', `req/s (${formatWindow(windows.rateSeconds)})`, `p50 (${latency})`, `p99 (${latency})`, `avg (${latency})`, '2XX', '4XX', '5XX'], ...apis.map(trafficRow)], width),
  );
  // The autoscaler's last decision per api, worded as the live view's header words it, to the same width.
  const decisions = apis.flatMap((a) => {
    if (!a.autoscaler) return [];
    const prefix = apiName ? '' : `${a.name}: `;
    return [`${prefix}${autoscalerLine(a.autoscaler, width - prefix.length, now)}`];
  });
  if (decisions.length > 0) lines.push('', ...decisions);
  // What went wrong, said in every view: a failed reload, and (all apis) replicas in error.
  const problems = apis.flatMap((a) => [
    ...(a.lastReload?.error ? [`${apiName ? '' : `${a.name}: `}last reload failed, the old code serves: ${located(a.lastReload.error)}`] : []),
    ...(apiName ? [] : replicaErrors(a.replicas)),
  ]);
  if (problems.length > 0) lines.push('', ...problems.map((p) => message(p, width)));
  const api = apiName ? apis[0] : undefined;
  if (api) {
    lines.push('', table([['replica', 'status', 'in-flight', 'requests', `p50 (${latency})`, 'uptime'], ...api.replicas.map((r) => [r.id, r.status, String(r.inFlight), String(r.requests), ms(r.p50Ms), ago(r.startedAt, now)])], width));
    const errors = replicaErrors(api.replicas);
    if (errors.length > 0) lines.push('', ...errors.map((e) => message(e, width)));
    lines.push('', `endpoint: ${api.endpoint}`, curlLine(api, options.sample, { width, cloud: session.backend.name === 'eks' }));
  }
  return lines.join('\n');
}

// How much of the live area fits the terminal. Once the live area is as tall as the terminal,
// Ink clears the whole screen on every frame and reprints the log history: the screen
// flickers and the top scrolls away. So detail gives way to height, least useful first: the
// autoscaler's reasoning, then each api's second header line, then replica rows.
import wrapAnsi from 'wrap-ansi';
import type { ApiSnapshot, ReplicaSnapshot } from '../model/status.js';

/** How many lines each api's header takes: all of it, two lines, or one. */
export type HeaderDetail = 'full' | 'compact' | 'line';

export interface Layout {
  header: HeaderDetail;
  /** Rows for replicas, "+N more" included. */
  replicaRows: number;
}

/** Most rows a cortex.yaml error may take: it names file, line, api and field, which one row cuts. */
export const MAX_SPEC_ERROR_ROWS = 3;

/** The spec error, word-wrapped to the terminal; the last row kept is cut with an ellipsis. */
export function specErrorLines(text: string, width: number): string[] {
  const lines = wrapAnsi(text, Math.max(1, width), { hard: true, trim: true }).split('\n');
  if (lines.length <= MAX_SPEC_ERROR_ROWS) return lines;
  const kept = lines.slice(0, MAX_SPEC_ERROR_ROWS);
  const last = kept[MAX_SPEC_ERROR_ROWS - 1]!;
  kept[MAX_SPEC_ERROR_ROWS - 1] = `${[...last].slice(0, Math.max(0, width - 1)).join('')}…`;
  return kept;
}

/** More replicas than this become "+N more" even on a tall terminal: it is a glance, not a list. */
export const MAX_REPLICA_ROWS = 6;

/** A replica the replicas pane explains on a line of its own (so the layout counts that line). */
export function isFailing(replica: ReplicaSnapshot): boolean {
  return replica.status === 'error' && Boolean(replica.error);
}

function headerRows(api: ApiSnapshot, detail: HeaderDetail): number {
  if (detail === 'line') return 1;
  if (detail === 'compact') return 2;
  return 2 + (api.lastReload?.error ? 1 : 0) + (api.autoscaler ? 1 : 0);
}

/** Latency rows: a pane of three series and the counts for one api, a row each for several. */
function latencyRows(apis: number): number {
  return apis > 1 ? apis : 4;
}

export function planLayout(apis: readonly ApiSnapshot[], terminalRows: number, specErrorRows: number): Layout {
  const replicas = apis.reduce((n, a) => n + a.replicas.length, 0);
  const failing = apis.some((a) => a.replicas.some(isFailing));
  // Ink needs the live area shorter than the terminal; the rest is the frame around the panes:
  // spec error, the gap above the panes, the table title, the failing-replica line, the gap
  // between panes, the latency rows, the key bar.
  const budget = terminalRows - 1;
  const frame = specErrorRows + 1 + 1 + (failing ? 1 : 0) + 1 + latencyRows(apis.length) + 1;
  const wanted = Math.min(Math.max(replicas, 1), MAX_REPLICA_ROWS);
  const details: HeaderDetail[] = ['full', 'compact', 'line'];
  let room = 0;
  for (const header of details) {
    room = budget - frame - apis.reduce((n, a) => n + headerRows(a, header), 0);
    if (room >= wanted) return { header, replicaRows: MAX_REPLICA_ROWS };
  }
  // Not even one-line headers make room for every replica: one row and "+N more" at least.
  return { header: 'line', replicaRows: Math.max(2, room) };
}

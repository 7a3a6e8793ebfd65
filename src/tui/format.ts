// Figures as every view prints them: the TUI panes, the plain line printer and `cortex get`.

/** Local wall-clock time, HH:MM:SS. */
export function clock(time: Date | string): string {
  return new Date(time).toTimeString().slice(0, 8);
}

export function formatMs(ms: number | null): string {
  if (ms === null) return '—';
  if (ms >= 1000) return `${(ms / 1000).toFixed(1)} s`;
  return ms < 10 ? `${ms.toFixed(1)} ms` : `${Math.round(ms)} ms`;
}

export function formatRate(perSecond: number): string {
  // A request or two a minute is not nothing: "0.0/s" would say it is.
  if (perSecond > 0 && perSecond < 0.05) return '<0.1/s';
  return `${perSecond < 10 && perSecond % 1 !== 0 ? perSecond.toFixed(1) : Math.round(perSecond)}/s`;
}

/** The window a figure covers, as its label: 5 → "5s", 60 → "1m". */
export function formatWindow(seconds: number): string {
  return seconds % 60 === 0 ? `${seconds / 60}m` : `${seconds}s`;
}

/** A count in at most five characters: 9999, 12k, 1.2M. */
/** "1 replica", "3 replicas". */
export function replicaCount(n: number): string {
  return `${n} replica${n === 1 ? '' : 's'}`;
}

export function formatCount(n: number): string {
  if (n < 10_000) return String(n);
  if (n < 1_000_000) return `${Math.round(n / 1000)}k`;
  return `${(n / 1_000_000).toFixed(n < 10_000_000 ? 1 : 0)}M`;
}

/** A compact age: 45s, 3m04s, 2h05m, 3d04h. */
export function formatAge(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const pad = (n: number): string => String(n).padStart(2, '0');
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${pad(s % 60)}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h${pad(Math.floor(s / 60) % 60)}m`;
  return `${Math.floor(s / 86_400)}d${pad(Math.floor(s / 3600) % 24)}h`;
}

/** A table cell's age, kubectl's way (`cortex get`): 45s, 3m, 2h5m. */
export function formatAgeCoarse(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`;
}

/** A table cell's latency, whole milliseconds or "-" (`cortex get`, plain text for scripts). */
export function formatMsPlain(ms: number | null): string {
  return ms === null ? '-' : `${Math.round(ms)}ms`;
}

/** A multi-line message (a stack, a code frame) cut to the line that says what went wrong. */
export function firstLine(text: string): string {
  return text.split('\n', 1)[0] ?? '';
}

/** "predictor.ts:3:5: message", or the message alone when the error has no location. */
export function located(error: { message: string; location: string | null }): string {
  return error.location ? `${error.location}: ${error.message}` : error.message;
}

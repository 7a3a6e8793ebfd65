// Cortex writes durations the Go way and resources the Kubernetes way; these readers turn
// both into plain numbers once, so nothing downstream ever parses "5m" or "1Gi" again.

export const DURATION = 'a duration like "60s", "5m", "1m30s" or "500ms", or a number of seconds';
export const CPU = 'a number of cores > 0 like 1 or 0.5, or a quantity like "200m"';
export const MEMORY = 'a memory quantity > 0 like "512Mi", "1Gi", "500M", or a number of bytes';

const MS_PER_UNIT: Record<string, number> = {
  ns: 1e-6, us: 1e-3, 'µs': 1e-3, 'μs': 1e-3, ms: 1, s: 1_000, m: 60_000, h: 3_600_000,
};
// "ms" must be tried before "m" and "s", or "500ms" would read as 500 minutes then fail on "s".
const DURATION_PART = /(\d+(?:\.\d+)?)(ns|us|µs|μs|ms|h|m|s)/y;

const BYTES_PER_SUFFIX: Record<string, number> = {
  '': 1,
  k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
};
const MEMORY_QUANTITY = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$/;
const CPU_QUANTITY = /^(\d+(?:\.\d+)?)(m?)$/;

/** Milliseconds, or undefined when `value` is not a duration. */
export function readDuration(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value * 1_000 : undefined;
  if (typeof value !== 'string' || value === '') return undefined;
  if (value === '0') return 0; // Go accepts a bare zero, and so does Cortex
  let total = 0;
  DURATION_PART.lastIndex = 0;
  while (DURATION_PART.lastIndex < value.length) {
    const match = DURATION_PART.exec(value);
    if (!match) return undefined;
    total += Number(match[1]) * (MS_PER_UNIT[match[2] ?? ''] ?? Number.NaN);
  }
  return total;
}

/** readDuration's inverse, as cortex.yaml writes periods: 300000 → "5m", 90000 → "1m30s", 1500 → "1.5s". */
export function formatDuration(ms: number): string {
  const minutes = Math.floor(ms / 60_000);
  const seconds = (ms % 60_000) / 1000;
  if (minutes === 0) return `${seconds}s`;
  return seconds === 0 ? `${minutes}m` : `${minutes}m${seconds}s`;
}

/** Cores, or undefined when `value` is not a positive CPU quantity. */
export function readCpu(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value > 0 ? value : undefined;
  const match = typeof value === 'string' ? CPU_QUANTITY.exec(value) : null;
  if (!match) return undefined;
  const cores = Number(match[1]) / (match[2] === 'm' ? 1_000 : 1);
  return cores > 0 ? cores : undefined;
}

/** Whole bytes, or undefined when `value` is not a positive memory quantity. */
export function readMemory(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value > 0 ? Math.ceil(value) : undefined;
  const match = typeof value === 'string' ? MEMORY_QUANTITY.exec(value) : null;
  if (!match) return undefined;
  const bytes = Math.ceil(Number(match[1]) * (BYTES_PER_SUFFIX[match[2] ?? ''] ?? Number.NaN));
  return bytes > 0 ? bytes : undefined;
}

// Largest first, binary before decimal: a limit reads back the way it was most likely written.
const FORMAT_SUFFIXES = ['Gi', 'Mi', 'Ki', 'G', 'M', 'k'] as const;

/** Bytes the way cortex.yaml writes a memory quantity: 62914560 → "60Mi", 1234 → "1234". */
export function formatMemory(bytes: number): string {
  for (const suffix of FORMAT_SUFFIXES) {
    const unit = BYTES_PER_SUFFIX[suffix]!;
    if (bytes >= unit && bytes % unit === 0) return `${bytes / unit}${suffix}`;
  }
  return String(bytes);
}

function strict<T>(read: (value: unknown) => T | undefined, what: string) {
  return (value: string | number): T => {
    const result = read(value);
    if (result === undefined) throw new RangeError(`expected ${what}, got ${JSON.stringify(value)}`);
    return result;
  };
}

/** "1m30s" → 90000. A plain number counts seconds, as in Cortex. Throws a RangeError otherwise. */
export const parseDuration: (value: string | number) => number = strict(readDuration, DURATION);
/** "200m" → 0.2, 1 → 1. Throws a RangeError otherwise. */
export const parseCpu: (value: string | number) => number = strict(readCpu, CPU);
/** "1Gi" → 1073741824, "500M" → 500000000, 2048 → 2048. Throws a RangeError otherwise. */
export const parseMemory: (value: string | number) => number = strict(readMemory, MEMORY);

const bars = '▁▂▃▄▅▆▇█';

/**
 * The most recent `width` points as bars scaled to the largest of them; a missing point (no
 * request in that second, so no latency) is a blank, unlike a zero which is the lowest bar.
 */
export function sparkline(values: ReadonlyArray<number | null>, width: number): string {
  const shown = values.slice(Math.max(0, values.length - width));
  const max = Math.max(0, ...shown.filter((v): v is number => v !== null));
  const bar = (v: number): string => bars.charAt(max === 0 ? 0 : Math.round((v / max) * (bars.length - 1)));
  return shown.map((v) => (v === null ? ' ' : bar(v))).join('').padStart(width);
}

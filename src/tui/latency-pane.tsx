// The last minute of one api's traffic: one bar per second, the current figure beside it, and
// what that figure covers (req/s: the last few seconds; p50/p99: the minute).
import { Box, Text } from 'ink';
import type { TrafficSnapshot } from '../model/status.js';
import { formatCount, formatMs, formatRate, formatWindow } from './format.js';
import { palette, type Tone } from './palette.js';
import { sparkline } from './sparkline.js';

const LABEL = 6;
const FIGURE = 9;
/** " 1m", " 5s": the window a figure covers. */
const WINDOW = 4;

function Series({ label, values, figure, window, width }: { label: string; values: ReadonlyArray<number | null>; figure: string; window: string; width: number }) {
  const bars = Math.max(0, Math.min(values.length, width - LABEL - FIGURE - WINDOW - 1));
  return (
    <Box>
      <Box width={LABEL} flexShrink={0}>
        <Text color={palette.muted}>{label}</Text>
      </Box>
      <Text color={palette.accent}>{sparkline(values, bars)}</Text>
      <Box width={FIGURE + 1} flexShrink={0} justifyContent="flex-end">
        <Text>{figure}</Text>
      </Box>
      <Box width={WINDOW} flexShrink={0} justifyContent="flex-end">
        <Text color={palette.muted}>{window}</Text>
      </Box>
    </Box>
  );
}

const countTones: Array<[keyof TrafficSnapshot['counts'], Tone]> = [
  ['2xx', 'ok'],
  ['4xx', 'warn'],
  ['5xx', 'error'],
];
const COUNTS_GAP = 2;

/** The width Counts takes for these counts. */
export function countsWidth(counts: TrafficSnapshot['counts']): number {
  return countTones.reduce((n, [status]) => n + status.length + 1 + formatCount(counts[status]).length, 0) + COUNTS_GAP * (countTones.length - 1);
}

function Counts({ counts }: { counts: TrafficSnapshot['counts'] }) {
  return (
    <Box columnGap={COUNTS_GAP} flexShrink={0}>
      {countTones.map(([status, tone]) => (
        <Text key={status}>
          <Text color={palette.muted}>{status.toUpperCase()}</Text>{' '}
          <Text color={counts[status] > 0 ? palette[tone] : palette.muted}>{formatCount(counts[status])}</Text>
        </Text>
      ))}
    </Box>
  );
}

export interface LatencyPaneProps {
  traffic: TrafficSnapshot;
  width: number;
}

/** One api's last minute: p50, p99 and req/s a row each, then the status counts. */
export function LatencyPane({ traffic, width }: LatencyPaneProps) {
  const latency = formatWindow(traffic.windows.latencySeconds);
  const rate = formatWindow(traffic.windows.rateSeconds);
  return (
    <Box flexDirection="column">
      <Series label="p50" values={traffic.p50Ms} figure={formatMs(traffic.now.p50Ms)} window={latency} width={width} />
      <Series label="p99" values={traffic.p99Ms} figure={formatMs(traffic.now.p99Ms)} window={latency} width={width} />
      <Series label="req/s" values={traffic.reqPerSec} figure={formatRate(traffic.now.reqPerSec)} window={rate} width={width} />
      <Counts counts={traffic.counts} />
    </Box>
  );
}

export interface LatencyRowProps extends LatencyPaneProps {
  name: string;
  /** Names are padded to this, so the rows of several apis line up. */
  nameWidth: number;
  /** The widest counts of all the rows (countsWidth), so every row's sparkline is as long. */
  countsRoom: number;
}

const MIN_BARS = 10;
const MIN_NAME = 6;

/**
 * Several apis get a row each (req/s as the sparkline, the rest as figures), so that the live
 * area still fits a 24-row terminal. Nothing may wrap: the sparkline goes first, then the name
 * is cut in the middle.
 */
export function LatencyRow({ name, nameWidth, countsRoom, traffic, width }: LatencyRowProps) {
  const { now } = traffic;
  const windows = traffic.windows;
  // Each figure says the window it covers, even where that leaves no room for the sparkline.
  const figures = `${formatRate(now.reqPerSec).padStart(5)} ${formatWindow(windows.rateSeconds)}  p50 ${formatMs(now.p50Ms).padStart(6)}  p99 ${formatMs(now.p99Ms).padStart(6)} ${formatWindow(windows.latencySeconds)}`;
  const fixed = figures.length + countsRoom + 2 * COUNTS_GAP;
  const nameRoom = Math.max(MIN_NAME, Math.min(nameWidth, width - fixed));
  const bars = Math.min(traffic.reqPerSec.length, width - nameRoom - fixed - COUNTS_GAP);
  return (
    <Box columnGap={COUNTS_GAP}>
      <Box width={nameRoom} flexShrink={0}>
        <Text bold wrap="truncate-middle">
          {name}
        </Text>
      </Box>
      {bars >= MIN_BARS && <Text color={palette.accent}>{sparkline(traffic.reqPerSec, bars)}</Text>}
      <Text>{figures}</Text>
      <Counts counts={traffic.counts} />
    </Box>
  );
}

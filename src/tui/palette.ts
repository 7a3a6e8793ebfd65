// One semantic palette (Gemini CLI) with k9s's status colours: components name what a colour
// means, never which colour it is, so a status reads the same in every pane.
import type { ReplicaStatus } from '../model/backend.js';
import type { ApiStatus } from '../model/status.js';

export const palette = {
  ok: 'green',
  warn: 'yellow',
  // k9s's orange for "not there yet"; chalk maps it down on 16-colour terminals.
  pending: '#ff8700',
  error: 'red',
  stopping: 'magenta',
  muted: 'gray',
  accent: 'cyan',
} as const;

export type Tone = keyof typeof palette;

const statusTone: Record<ReplicaStatus | ApiStatus, Tone> = {
  ready: 'ok',
  live: 'ok',
  starting: 'pending',
  reloading: 'pending',
  updating: 'pending',
  error: 'error',
  stopping: 'stopping',
};

export function statusColor(status: ReplicaStatus | ApiStatus): string {
  return palette[statusTone[status]];
}

const levelTone: Record<string, Tone> = {
  FATAL: 'error',
  ERROR: 'error',
  WARN: 'warn',
  INFO: 'muted',
  DEBUG: 'muted',
  TRACE: 'muted',
};

/** The predictor's own console.log (level LOG) keeps the terminal's default colour, so it stands out. */
export function levelColor(level: string): string | undefined {
  const tone = levelTone[level];
  return tone && palette[tone];
}

// Replica prefixes in the log pane rotate through bright colours, apart from the plain status
// colours and readable on dark and light backgrounds alike.
const replicaColors = ['blueBright', 'magentaBright', 'cyanBright', 'yellowBright', 'greenBright'] as const;

/** The session's own lines ("cortex") in the accent colour; replicas by order of first appearance. */
export function replicaColorRotation(): (replica: string) => string {
  const assigned = new Map<string, string>();
  return (replica) => {
    if (replica === 'cortex') return palette.accent;
    let color = assigned.get(replica);
    if (color === undefined) {
      color = replicaColors[assigned.size % replicaColors.length]!;
      assigned.set(replica, color);
    }
    return color;
  };
}

// Replica output above the live panes. Printed lines go to <Static> (Gatsby's reporter): Ink
// writes them once and never redraws them, so the live area stays short and nothing flickers.
import { Static, Text } from 'ink';
import { useState } from 'react';
import type { ReplicaLogLine } from '../model/backend.js';
import { levelColor, replicaColorRotation } from './palette.js';

export interface LogPaneProps {
  lines: ReplicaLogLine[];
  /** Remounts <Static> with a fresh list (see useLogFeed's roll-over). */
  generation: number;
  /** Replica ids are padded to this, so messages line up. */
  idWidth: number;
}

export function LogPane({ lines, generation, idWidth }: LogPaneProps) {
  // Kept across generations, so a replica keeps its colour for the whole session.
  const [colorOf] = useState(replicaColorRotation);
  return (
    <Static key={generation} items={lines}>
      {(line, i) => (
        <Text key={i}>
          <Text color={colorOf(line.replica)}>{line.replica.padEnd(idWidth)}</Text>{' '}
          <Text color={levelColor(line.level)}>{line.level.padEnd(5)}</Text> {line.message}
        </Text>
      )}
    </Static>
  );
}

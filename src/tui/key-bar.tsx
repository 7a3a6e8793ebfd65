import { Box, Text } from 'ink';
import { shownBindings, type QuitEffect } from './keys.js';
import { palette, type Tone } from './palette.js';

export interface KeyBarProps {
  /** A word on what the session is doing or what went wrong, after the keys. */
  notice?: { text: string; tone: Tone } | undefined;
  /** False while stopping: the keys do nothing then, and the notice needs the room. */
  keys?: boolean;
  quit?: QuitEffect;
}

export function KeyBar({ notice, keys = true, quit }: KeyBarProps) {
  return (
    <Box columnGap={2}>
      {keys && shownBindings(quit).map((b) => (
        <Text key={b.command}>
          <Text bold color={palette.accent}>
            {b.keys[0]?.input}
          </Text>{' '}
          <Text color={palette.muted}>{b.label}</Text>
        </Text>
      ))}
      {notice && (
        <Box flexShrink={1}>
          <Text color={palette[notice.tone]} wrap="truncate-end">
            {notice.text}
          </Text>
        </Box>
      )}
    </Box>
  );
}

import { Box, Text } from 'ink';
import { keyName, shownBindings, type QuitEffect } from './keys.js';
import { palette } from './palette.js';

export function Help({ quit }: { quit?: QuitEffect }) {
  const bindings = shownBindings(quit);
  const names = bindings.map((b) => b.keys.map(keyName).join(', '));
  const width = Math.max(...names.map((n) => n.length)) + 2;
  return (
    <Box flexDirection="column" borderStyle="round" borderColor={palette.muted} paddingX={1}>
      <Text bold>Keys</Text>
      {bindings.map((b, i) => (
        <Box key={b.command}>
          <Box width={width} flexShrink={0}>
            <Text color={palette.accent}>{names[i]}</Text>
          </Box>
          <Text wrap="truncate-end">{b.description}</Text>
        </Box>
      ))}
    </Box>
  );
}

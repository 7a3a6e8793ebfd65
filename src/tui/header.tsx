// Who is serving what, where, and whether the last save made it: the lines a user glances at
// after each save.
import { Box, Text } from 'ink';
import type { ApiSnapshot } from '../dev/state.js';
import { clock, firstLine, formatMs, located } from './format.js';
import { palette, statusColor } from './palette.js';

export interface HeaderProps {
  api: ApiSnapshot;
  backend: string;
}

export function Header({ api, backend }: HeaderProps) {
  const reload = api.lastReload;
  const behind = api.upToDate < api.available ? `, ${api.upToDate} up to date` : '';
  return (
    <Box flexDirection="column">
      <Text wrap="truncate-end">
        <Text bold>
          {api.deployment}/{api.name}
        </Text>
        {'  '}
        <Text color={statusColor(api.status)}>{api.status}</Text>
        {`  ${api.available}/${api.requested} ready${behind}  `}
        <Text color={palette.muted}>predictor</Text> {api.version ?? '—'}
        <Text color={palette.muted}>{`  ${backend} backend`}</Text>
      </Text>
      <Text wrap="truncate-end">
        <Text color={palette.accent}>{api.endpoint}</Text>
        {reload && !reload.error && <Text color={palette.muted}>{`  reloaded ${clock(reload.at)} in ${formatMs(reload.ms)}`}</Text>}
        {reload?.error && (
          <Text color={palette.error}>{`  reload failed ${clock(reload.at)}${api.version ? ', old code serving' : ''}`}</Text>
        )}
      </Text>
      {reload?.error && (
        <Text color={palette.error} wrap="truncate-end">
          ✗ {firstLine(located(reload.error))}
        </Text>
      )}
      {api.autoscaler && (
        <Text color={palette.muted} wrap="truncate-end">
          autoscaler {clock(api.autoscaler.at)} {api.autoscaler.decision}
        </Text>
      )}
    </Box>
  );
}

// Who is serving what, where, and whether the last save made it: the lines a user glances at
// after each save.
import { Box, Text } from 'ink';
import type { ApiSnapshot } from '../model/status.js';
import { autoscalerLine } from './autoscaler-line.js';
import { clock, firstLine, formatMs, located, replicaCount } from './format.js';
import type { HeaderDetail } from './layout.js';
import { palette, statusColor } from './palette.js';

export interface HeaderProps {
  api: ApiSnapshot;
  backend: string;
  /** How many lines it may take (layout.ts); a failed reload shows in every one of them. */
  detail?: HeaderDetail;
  /** Columns: the autoscaler's line is worded to fit them. */
  width?: number;
  /** The session is stopping: nothing is wanted any more, so "0/0 ready" would say nothing. */
  stopping?: boolean;
}

export function Header({ api, backend, detail = 'full', width = 80, stopping = false }: HeaderProps) {
  const reload = api.lastReload;
  const behind = api.upToDate < api.available ? `, ${api.upToDate} up to date` : '';
  const failed = reload?.error ? `✗ ${firstLine(located(reload.error))}` : undefined;
  return (
    <Box flexDirection="column">
      <Text wrap="truncate-end">
        <Text bold>
          {api.deployment}/{api.name}
        </Text>
        {'  '}
        {stopping ? (
          <>
            <Text color={palette.stopping}>stopping</Text>
            {`  ${replicaCount(api.replicas.length)} left  `}
          </>
        ) : (
          <>
            <Text color={statusColor(api.status)}>{api.status}</Text>
            {`  ${api.available}/${api.requested} ready${behind}  `}
          </>
        )}
        <Text color={palette.muted}>predictor</Text> {api.version ?? '—'}
        {detail === 'line' && failed ? <Text color={palette.error}>{`  ${failed}`}</Text> : <Text color={palette.muted}>{`  ${backend} backend`}</Text>}
      </Text>
      {/* Short of room, a failed reload's error is worth more than the endpoint. */}
      {detail === 'compact' && failed ? (
        <Text color={palette.error} wrap="truncate-end">
          {failed}
        </Text>
      ) : (
        detail !== 'line' && (
          <Text wrap="truncate-end">
            <Text color={palette.accent}>{api.endpoint}</Text>
            {reload && !reload.error && <Text color={palette.muted}>{`  reloaded ${clock(reload.at)} in ${formatMs(reload.ms)}`}</Text>}
            {failed && <Text color={palette.error}>{`  reload failed ${clock(reload!.at)}${api.version ? ', old code serving' : ''}`}</Text>}
          </Text>
        )
      )}
      {failed && detail === 'full' && (
        <Text color={palette.error} wrap="truncate-end">
          {failed}
        </Text>
      )}
      {api.autoscaler && detail === 'full' && (
        <Text color={palette.muted} wrap="truncate-end">
          {autoscalerLine(api.autoscaler, width)}
        </Text>
      )}
    </Box>
  );
}

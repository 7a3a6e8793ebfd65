// The replicas table, k9s-style: one row per replica, the status word in its colour.
import { Box, Text } from 'ink';
import type { ReactNode } from 'react';
import type { ApiSnapshot, ReplicaSnapshot } from '../model/status.js';
import { firstLine, formatAge, formatMs } from './format.js';
import { isFailing, MAX_REPLICA_ROWS } from './layout.js';
import { palette, statusColor } from './palette.js';

interface Row {
  api: string;
  replica: ReplicaSnapshot;
}

interface Column {
  title: string;
  width: number;
  right?: boolean;
  cell(row: Row): ReactNode;
}

const GAP = 2;
// On a narrow terminal these go first, in this order, before an id is cut: ids differ only
// at their end, so a cut id says nothing.
const EXPENDABLE = ['RESTARTS', 'UPTIME', 'IN-FLIGHT', 'REQUESTS', 'P50'];

function columns(rows: Row[], withApi: boolean, width: number, now: number): Column[] {
  const id: Column = { title: 'ID', width: Math.max(2, ...rows.map((r) => r.replica.id.length)), cell: (r) => r.replica.id };
  const api: Column = { title: 'API', width: Math.max(3, ...rows.map((r) => r.api.length)), cell: (r) => r.api };
  let figures: Column[] = [
    { title: 'STATUS', width: 9, cell: ({ replica: r }) => <Text color={statusColor(r.status)}>{r.status}</Text> },
    { title: 'IN-FLIGHT', width: 9, right: true, cell: ({ replica: r }) => r.inFlight },
    { title: 'REQUESTS', width: 8, right: true, cell: ({ replica: r }) => r.requests },
    { title: 'P50', width: 7, right: true, cell: ({ replica: r }) => formatMs(r.p50Ms) },
    { title: 'UPTIME', width: 7, right: true, cell: ({ replica: r }) => formatAge(now - Date.parse(r.startedAt)) },
    { title: 'RESTARTS', width: 8, right: true, cell: ({ replica: r }) => r.restarts },
  ];
  const names = withApi ? [api, id] : [id];
  const span = (cols: Column[]): number => cols.reduce((sum, c) => sum + c.width, 0) + GAP * (cols.length - 1);
  for (const title of EXPENDABLE) {
    if (span([...names, ...figures]) <= width) break;
    figures = figures.filter((c) => c.title !== title);
  }
  // Still too wide: the names share what is left, cut in the middle.
  const room = Math.floor((width - span(figures) - GAP * names.length) / names.length);
  for (const c of names) c.width = Math.max(2, Math.min(c.width, room));
  return [...names, ...figures];
}

function Cells({ columns: cols, render }: { columns: Column[]; render: (c: Column) => ReactNode }) {
  return (
    <Box columnGap={GAP}>
      {cols.map((c) => (
        <Box key={c.title} width={c.width} flexShrink={0} justifyContent={c.right ? 'flex-end' : 'flex-start'}>
          <Text wrap="truncate-middle">{render(c)}</Text>
        </Box>
      ))}
    </Box>
  );
}

export interface ReplicasPaneProps {
  apis: ApiSnapshot[];
  width: number;
  now: number;
  /** Rows for replicas, "+N more" included (layout.ts). */
  maxRows?: number;
  /** The session is stopping: no replica left means they have gone, not that none came yet. */
  stopping?: boolean;
}

export function ReplicasPane({ apis, width, now, maxRows = MAX_REPLICA_ROWS, stopping = false }: ReplicasPaneProps) {
  const rows = apis.flatMap((a) => a.replicas.map((replica) => ({ api: a.name, replica })));
  if (rows.length === 0) return <Text color={palette.muted}>{stopping ? 'every replica has stopped' : 'no replicas yet'}</Text>;
  const cols = columns(rows, apis.length > 1, width, now);
  const shown = rows.length > maxRows ? rows.slice(0, Math.max(1, maxRows - 1)) : rows;
  const failing = rows.filter((r) => isFailing(r.replica));
  return (
    <Box flexDirection="column">
      <Cells columns={cols} render={(c) => <Text color={palette.muted}>{c.title}</Text>} />
      {shown.map((row) => (
        <Cells key={row.replica.id} columns={cols} render={(c) => c.cell(row)} />
      ))}
      {shown.length < rows.length && <Text color={palette.muted}>+{rows.length - shown.length} more</Text>}
      {failing[0] && (
        <Text color={palette.error} wrap="truncate-end">
          {failing[0].replica.id}: {firstLine(failing[0].replica.error ?? '')}
          {failing.length > 1 && ` (+${failing.length - 1} more failing)`}
        </Text>
      )}
    </Box>
  );
}

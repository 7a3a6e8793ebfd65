// The TUI's subscriptions to the session and the terminal; components below get plain props.
import { useEffect, useLayoutEffect, useRef, useState } from 'react';
import { useStdout } from 'ink';
import type { ReplicaLogLine } from '../model/backend.js';
import type { SessionSnapshot, SessionView } from '../model/status.js';
import { sessionEvents } from './lines.js';
import { throttle } from './throttle.js';

/** The latest snapshot, re-read at most five times a second however often the session changes. */
export function useSnapshot(session: SessionView): SessionSnapshot {
  const [snapshot, setSnapshot] = useState(() => session.snapshot());
  useEffect(() => {
    const refresh = throttle(() => setSnapshot(session.snapshot()), 200);
    session.on('change', refresh.call);
    // A change between the first render and this subscription would otherwise go unseen.
    refresh.call();
    return () => {
      session.off('change', refresh.call);
      refresh.cancel();
    };
  }, [session]);
  return snapshot;
}

export interface TerminalSize {
  columns: number;
  rows: number;
}

/** The terminal's size, following resizes. */
export function useTerminalSize(): TerminalSize {
  const { stdout } = useStdout();
  const read = (): TerminalSize => ({ columns: stdout.columns || 80, rows: stdout.rows || 24 });
  const [size, setSize] = useState(read);
  useEffect(() => {
    const onResize = (): void => setSize((old) => {
      const next = read();
      return next.columns === old.columns && next.rows === old.rows ? old : next;
    });
    stdout.on('resize', onResize);
    // A resize between the first render and this subscription would otherwise go unseen.
    onResize();
    return () => {
      stdout.off('resize', onResize);
    };
  }, [stdout]);
  return size;
}

export interface LogFeed {
  /** Bumped to remount <Static> with a fresh list; see the roll-over below. */
  generation: number;
  lines: ReplicaLogLine[];
  visible: boolean;
  /** Lines that came while the logs were hidden. */
  hidden: number;
  toggle(): void;
}

/** While hidden, the latest lines are held back to print on `l`; older ones are only counted. */
const HELD = 200;

// <Static> prints each item once, yet its list lives on in React state and every batch copies
// it; past this many printed lines a new list starts, so a chatty predictor costs the same in
// its first minute and its tenth hour.
const ROLL_OVER = 500;

/** Log lines for <Static>, batched to at most ten renders a second under a flood of requests. */
export function useLogFeed(session: SessionView): LogFeed {
  const [state, setState] = useState({ generation: 0, lines: [] as ReplicaLogLine[], visible: true, hidden: 0 });
  // The listener outlives renders; it reads visibility from here, not from a stale closure.
  const visible = useRef(true);
  const held = useRef<{ lines: ReplicaLogLine[]; dropped: number }>({ lines: [], dropped: 0 });

  useEffect(() => {
    let batch: ReplicaLogLine[] = [];
    let dropped = 0;
    const flush = throttle(() => {
      const lines = batch;
      const hidden = dropped;
      batch = [];
      dropped = 0;
      setState((s) => ({ ...s, lines: lines.length > 0 ? [...s.lines, ...lines] : s.lines, hidden: s.hidden + hidden }));
    }, 100);
    const onLog = (line: ReplicaLogLine): void => {
      if (visible.current) batch.push(line);
      else {
        dropped += 1;
        held.current.lines.push(line);
        if (held.current.lines.length > HELD) {
          held.current.lines.shift();
          held.current.dropped += 1;
        }
      }
      flush.call();
    };
    // Reloads, scaling and replica transitions are history too: derived from the status model,
    // the same way the plain line view derives them.
    let last = session.snapshot();
    const onChange = (): void => {
      const next = session.snapshot();
      for (const e of sessionEvents(last, next)) onLog({ api: '', replica: 'cortex', time: e.time, level: 'INFO', message: e.text });
      last = next;
    };
    for (const line of session.earlyLogs()) onLog(line);
    session.on('log', onLog);
    session.on('change', onChange);
    return () => {
      session.off('log', onLog);
      session.off('change', onChange);
      flush.cancel();
    };
  }, [session]);

  // After a commit every line in the list has been printed, so only the ones appended since
  // then need to move to the new list.
  const printed = state.lines.length;
  useLayoutEffect(() => {
    if (printed >= ROLL_OVER) setState((s) => ({ ...s, generation: s.generation + 1, lines: s.lines.slice(printed) }));
  }, [printed]);

  return {
    ...state,
    toggle: () => {
      visible.current = !visible.current;
      const { lines, dropped } = held.current;
      held.current = { lines: [], dropped: 0 };
      const skipped: ReplicaLogLine[] = dropped > 0 ? [{ api: '', replica: 'cortex', time: new Date(), level: 'INFO', message: `… ${dropped} earlier lines while hidden are not shown (cortex logs API has them)` }] : [];
      setState((s) => ({ ...s, visible: visible.current, hidden: 0, lines: visible.current ? [...s.lines, ...skipped, ...lines] : s.lines }));
    },
  };
}

// The live screen of `cortex dev`. Commands call renderDevTui and never import Ink (Shopify's
// rule); everything shown comes from the session's one status model.
import { Box, render, Text, useApp, useInput, useStdin } from 'ink';
import { useRef, useState } from 'react';
import type { SessionView } from '../dev/state.js';
import { firstLine } from './format.js';
import { Header } from './header.js';
import { Help } from './help.js';
import { useColumns, useLogFeed, useSnapshot } from './hooks.js';
import { KeyBar, type KeyBarProps } from './key-bar.js';
import { Command, commandFor } from './keys.js';
import { LatencyPane, LatencyRow } from './latency-pane.js';
import { LogPane } from './log-pane.js';
import { ReplicasPane } from './replicas-pane.js';

export function DevApp({ session }: { session: SessionView }) {
  const snapshot = useSnapshot(session);
  const width = useColumns();
  const logs = useLogFeed(session);
  const [help, setHelp] = useState(false);
  const [failure, setFailure] = useState<string>();
  const [stopping, setStopping] = useState(false);
  // Two presses of q before React re-renders must still stop the session once.
  const quitting = useRef(false);
  const { exit } = useApp();
  const { isRawModeSupported } = useStdin();

  const run: Record<Command, () => void> = {
    [Command.Quit]: () => {
      if (quitting.current) return;
      quitting.current = true;
      setStopping(true);
      session.stop().then(
        () => exit(),
        (error: unknown) => exit(error instanceof Error ? error : new Error(String(error))),
      );
    },
    [Command.Reload]: () => {
      // The outcome of a reload shows in the header; this only catches a reload that could not start.
      session.reloadNow().catch((error: unknown) => setFailure(`reload failed: ${firstLine(String(error instanceof Error ? error.message : error))}`));
    },
    [Command.ToggleLogs]: logs.toggle,
    [Command.Help]: () => setHelp((h) => !h),
  };
  // Without a terminal on stdin (piped input) there are no keys to read; Ctrl-C is then a signal.
  useInput(
    (input, key) => {
      const command = commandFor(input, key);
      if (!command) return;
      setFailure(undefined);
      run[command]();
    },
    { isActive: isRawModeSupported },
  );

  const notice: KeyBarProps['notice'] = stopping
    ? { text: 'stopping…', tone: 'stopping' }
    : failure
      ? { text: failure, tone: 'error' }
      : logs.visible
        ? undefined
        : { text: `logs hidden${logs.hidden > 0 ? `, ${logs.hidden} new lines` : ''}`, tone: 'muted' };
  const ids = snapshot.apis.flatMap((a) => a.replicas.map((r) => r.id.length));
  const several = snapshot.apis.length > 1;
  const nameWidth = Math.min(16, Math.max(...snapshot.apis.map((a) => a.name.length)));

  return (
    <>
      <LogPane lines={logs.lines} generation={logs.generation} idWidth={Math.max('cortex'.length, ...ids)} />
      <Box flexDirection="column" width={width}>
        {snapshot.apis.map((api) => (
          <Header key={api.name} api={api} backend={snapshot.backend.name} />
        ))}
        {snapshot.apis.length === 0 && <Text>starting…</Text>}
        <Box marginTop={1} flexDirection="column" rowGap={1}>
          {help ? (
            <Help />
          ) : (
            <>
              {/* The traffic series move every second, so the session re-renders this often enough for ages. */}
              <ReplicasPane apis={snapshot.apis} width={width} now={Date.now()} />
              {several ? (
                <Box flexDirection="column">
                  {snapshot.apis.map((api) => (
                    <LatencyRow key={api.name} name={api.name} nameWidth={nameWidth} traffic={api.traffic} width={width} />
                  ))}
                </Box>
              ) : (
                snapshot.apis[0] && <LatencyPane traffic={snapshot.apis[0].traffic} width={width} />
              )}
            </>
          )}
        </Box>
        <KeyBar notice={notice} />
      </Box>
    </>
  );
}

export interface DevTuiOptions {
  stdout?: NodeJS.WriteStream;
  stdin?: NodeJS.ReadStream;
}

/** Draws the session until `q` or Ctrl-C, which stop the session and then resolve waitUntilExit. */
export function renderDevTui(session: SessionView, options: DevTuiOptions = {}): { waitUntilExit(): Promise<void>; unmount(): void } {
  const instance = render(<DevApp session={session} />, {
    stdout: options.stdout ?? process.stdout,
    stdin: options.stdin ?? process.stdin,
    // Ctrl-C is the quit key from the table: Ink's own exit would leave the replicas running.
    exitOnCtrlC: false,
    // The panes change a few lines a second (sparklines, counts); rewriting only those keeps
    // the rest of the screen still.
    incrementalRendering: false,
  });
  return { waitUntilExit: async () => void (await instance.waitUntilExit()), unmount: () => instance.unmount() };
}

// The live screen of `cortex dev`. Commands call renderDevTui and never import Ink (Shopify's
// rule); everything shown comes from the session's one status model.
import { Box, render, Text, useApp, useInput, useStdin } from 'ink';
import { useEffect, useRef, useState } from 'react';
import type { SessionView } from '../model/status.js';
import { firstLine } from './format.js';
import { Header } from './header.js';
import { Help } from './help.js';
import { useLogFeed, useSnapshot, useTerminalSize } from './hooks.js';
import { KeyBar, type KeyBarProps } from './key-bar.js';
import { Command, commandFor, type QuitEffect } from './keys.js';
import { countsWidth, LatencyPane, LatencyRow } from './latency-pane.js';
import { planLayout, specErrorLines } from './layout.js';
import { palette } from './palette.js';
import { LogPane } from './log-pane.js';
import { ReplicasPane } from './replicas-pane.js';
import { stoppingNotice } from './stopping.js';

export interface DevAppProps {
  session: SessionView;
  /** Aborted when the process is told to stop (a signal): it quits the way q does. */
  quit?: AbortSignal;
  /** A second Ctrl-C while stopping: kill the replicas rather than wait for them to drain. */
  onForceQuit?: () => void;
  /** What q does where the replicas run, for the key bar and help to say. */
  quits?: QuitEffect;
}

export function DevApp({ session, quit, onForceQuit, quits }: DevAppProps) {
  const snapshot = useSnapshot(session);
  const { columns: width, rows } = useTerminalSize();
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
  useEffect(() => {
    if (!quit) return;
    const onQuit = (): void => run[Command.Quit]();
    if (quit.aborted) onQuit();
    quit.addEventListener('abort', onQuit);
    return () => quit.removeEventListener('abort', onQuit);
    // run is rebuilt every render but its quit path only reads refs and stable setters.
  }, [quit]);
  // Without a terminal on stdin (piped input) there are no keys to read; Ctrl-C is then a signal.
  useInput(
    (input, key) => {
      if (quitting.current && key.ctrl && input === 'c') return onForceQuit?.();
      const command = commandFor(input, key);
      if (!command) return;
      setFailure(undefined);
      run[command]();
    },
    { isActive: isRawModeSupported },
  );

  const notice: KeyBarProps['notice'] = stopping
    ? { text: stoppingNotice(snapshot.apis), tone: 'stopping' }
    : failure
      ? { text: failure, tone: 'error' }
      : logs.visible
        ? undefined
        : { text: `logs hidden${logs.hidden > 0 ? `, ${logs.hidden} new lines` : ''}`, tone: 'muted' };
  // Never narrower than before: lines printed as the last replicas stop must line up with the rest.
  const idWidth = useRef('cortex'.length);
  idWidth.current = Math.max(idWidth.current, ...snapshot.apis.flatMap((a) => a.replicas.map((r) => r.id.length)));
  const several = snapshot.apis.length > 1;
  const nameWidth = Math.min(16, Math.max(...snapshot.apis.map((a) => a.name.length)));
  const countsRoom = Math.max(0, ...snapshot.apis.map((a) => countsWidth(a.traffic.counts)));
  const specError = snapshot.specError ? specErrorLines(`✗ cortex.yaml not applied, the previous spec runs: ${firstLine(snapshot.specError.message)}`, width) : [];
  const layout = planLayout(snapshot.apis, rows, specError.length);

  return (
    <>
      <LogPane lines={logs.lines} generation={logs.generation} idWidth={idWidth.current} />
      <Box flexDirection="column" width={width}>
        {specError.map((line, i) => (
          <Text key={i} color={palette.error}>
            {line}
          </Text>
        ))}
        {snapshot.apis.map((api) => (
          <Header key={api.name} api={api} backend={snapshot.backend.name} detail={layout.header} width={width} stopping={stopping} />
        ))}
        {snapshot.apis.length === 0 && <Text color={palette.muted}>no apis: each was deleted; save cortex.yaml to bring them back</Text>}
        <Box marginTop={1} flexDirection="column" rowGap={1}>
          {help ? (
            <Help quit={quits} />
          ) : (
            <>
              {/* The traffic series move every second, so the session re-renders this often enough for ages. */}
              <ReplicasPane apis={snapshot.apis} width={width} now={Date.now()} maxRows={layout.replicaRows} stopping={stopping} />
              {several ? (
                <Box flexDirection="column">
                  {snapshot.apis.map((api) => (
                    <LatencyRow key={api.name} name={api.name} nameWidth={nameWidth} countsRoom={countsRoom} traffic={api.traffic} width={width} />
                  ))}
                </Box>
              ) : (
                snapshot.apis[0] && <LatencyPane traffic={snapshot.apis[0].traffic} width={width} />
              )}
            </>
          )}
        </Box>
        <KeyBar notice={notice} keys={!stopping} quit={quits} />
      </Box>
    </>
  );
}

export interface DevTuiOptions {
  stdout?: NodeJS.WriteStream;
  stdin?: NodeJS.ReadStream;
  /** Quits as q does when aborted (the command aborts it on SIGTERM, SIGHUP…). */
  quit?: AbortSignal;
  /** A second Ctrl-C, as a second SIGINT does (src/cli/commands/dev.ts). */
  stopNow?: () => void;
  quits?: QuitEffect;
}

/** Draws the session until `q`, Ctrl-C or `quit`, which stop the session and then resolve waitUntilExit. */
export function renderDevTui(session: SessionView, options: DevTuiOptions = {}): { waitUntilExit(): Promise<void>; unmount(): void } {
  const instance = render(<DevApp session={session} quit={options.quit} onForceQuit={options.stopNow} quits={options.quits} />, {
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

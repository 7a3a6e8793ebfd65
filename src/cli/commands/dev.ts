import type { Command } from 'commander';
import { chooseBackend, startBackend } from '../../backends/select.js';
import { claimKindCluster, claimSession, refuseGatewayPortOfSession, type Claim } from '../../dev/claims.js';
import { ControlServer } from '../../dev/control.js';
import { DevSession } from '../../dev/session.js';
import { runningSessions } from '../../dev/session-file.js';
import { defaultClusterName } from '../../kube/kind.js';
import { loadSpec } from '../../spec/index.js';
import { canDrawLive } from '../../tui/can-draw.js';
import { printLines } from '../../tui/lines.js';
import { printImageProgress } from '../image-progress.js';
import { parsePort } from '../options.js';

interface DevFlags {
  backend?: string;
  base?: string;
  port: number;
  tui: boolean;
  keep?: boolean;
}

const stopSignals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** How long a second Ctrl-C waits for the replicas it kills (a container's removal) before exiting anyway. */
const killBoundMs = 5_000;

/**
 * What a second Ctrl-C or kill does, from the live view or as a signal: the replicas are
 * killed instead of drained, and the process exits once they are gone; a third exits at once.
 * A replica that outlives the bound is named, never left behind in silence.
 */
function stopperNow(session: DevSession): () => void {
  let asked = false;
  return () => {
    if (asked) process.exit(130);
    asked = true;
    process.stderr.write('cortex: stopping now: killing replicas without waiting for them to drain\n');
    void session.stopNow(killBoundMs).then((left) => {
      if (left.length > 0) process.stderr.write(`cortex: ${left.join(', ')} still running after ${killBoundMs / 1000} s, left behind (${session.snapshot().backend.name} backend)\n`);
      process.exit(130);
    });
  };
}

/**
 * Resolves on the first of Ctrl-C, `kill` or a closed terminal; a second Ctrl-C or kill calls
 * `again` (a closed terminal may hang up twice: the signal, then the failed write). The
 * listeners stay until the process ends: with none left, Ink's signal-exit would re-raise
 * the signal and kill the process before the replicas are stopped.
 */
function stopRequested(again: () => void): Promise<void> {
  return new Promise((resolve) => {
    let requested = false;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (requested && signal !== 'SIGHUP') return again();
      requested = true;
      resolve();
    };
    for (const signal of stopSignals) process.on(signal, onSignal);
  });
}

export function registerDev(program: Command): void {
  program
    .command('dev')
    .description('run every api in DIR locally with hot reload, a gateway, autoscaling and a live view')
    .argument('[dir]', 'folder with cortex.yaml', '.')
    .option('--backend <name>', "where replicas run: kind (the default when the cortex kind cluster is up: cortex cluster up), docker (the default when a Docker daemon answers and can run this machine's node_modules) or process")
    .option('--base <image>', 'base image for the runtime image (docker and kind backends)')
    .option('--keep', 'kind: leave the apis running in the cluster when dev stops (by default they are removed)')
    .option('-p, --port <port>', 'gateway port', parsePort, 8888)
    .option('--no-tui', 'print plain timestamped lines instead of the live view')
    .action(async (dir: string, flags: DevFlags) => {
      // A mistake in cortex.yaml is one line before anything slow (an image build, a cluster) starts.
      await loadSpec(dir);
      const claim = await claimSession(dir);
      let cluster: Claim | undefined;
      const release = async () => {
        await cluster?.release();
        await claim.release();
      };
      let session: DevSession;
      try {
        const choice = await chooseBackend(flags.backend);
        // The kind backend serves on the cluster's port, whatever --port says.
        if (choice.backend === 'kind') cluster = await claimKindCluster(defaultClusterName, claim.dir);
        else refuseGatewayPortOfSession(flags.port, await runningSessions());
        const { backend, reason } = await startBackend(choice, { base: flags.base, keep: flags.keep, onImageEvent: printImageProgress(), onLine: (line) => console.log(line) });
        session = await DevSession.start({ dir, port: flags.port, backend, backendReason: reason });
      } catch (err) {
        await release();
        throw err;
      }
      const control = new ControlServer(session);
      const stopNow = stopperNow(session);
      const stop = stopRequested(stopNow);
      try {
        await control.start(session.snapshot().gateway, claim);
        if (flags.tui && canDrawLive(process.stdout, process.stdin)) {
          const quit = new AbortController();
          void stop.then(() => quit.abort());
          const quits = session.snapshot().backend.name !== 'kind' ? 'stop' : flags.keep ? 'keep' : 'remove';
          const { renderDevTui } = await import('../../tui/dev-app.js');
          await renderDevTui(session, { quit: quit.signal, stopNow, quits }).waitUntilExit();
        } else {
          // Subscribed until the end, so the replicas stopping show too.
          const unsubscribe = printLines(session, process.stdout);
          await stop;
          await session.stop();
          unsubscribe();
        }
      } finally {
        await session.stop();
        await control.stop();
        await release();
      }
    });
}

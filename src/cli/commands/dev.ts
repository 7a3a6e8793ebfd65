import type { Command } from 'commander';
import { LocalBackend } from '../../dev/backends/local.js';
import { selectLauncher } from '../../dev/backends/select.js';
import { ControlServer, readSessionFile } from '../../dev/control.js';
import { DevSession } from '../../dev/session.js';
import { renderDevTui } from '../../tui/dev-app.js';
import { printLines } from '../../tui/lines.js';
import { UserError } from '../../user-error.js';
import { printImageProgress } from '../image-progress.js';
import { parsePort } from '../options.js';

interface DevFlags {
  backend?: string;
  base?: string;
  port: number;
  tui: boolean;
}

export function registerDev(program: Command): void {
  program
    .command('dev')
    .description('run every api in DIR locally with hot reload, a gateway, autoscaling and a live view')
    .argument('[dir]', 'folder with cortex.yaml', '.')
    .option('--backend <name>', 'where replicas run: docker (default when a Docker daemon answers) or process')
    .option('--base <image>', 'base image for the runtime image (docker backend)')
    .option('-p, --port <port>', 'gateway port', parsePort, 8888)
    .option('--no-tui', 'print plain timestamped lines instead of the live view')
    .action(async (dir: string, flags: DevFlags) => {
      const running = await readSessionFile();
      if (running) throw new UserError(`a dev session is already running (pid ${running.pid}, ${running.gateway}); stop it first`);

      const { launcher, reason } = await selectLauncher({ backend: flags.backend, base: flags.base, onImageEvent: printImageProgress() });
      const session = await DevSession.start({ dir, port: flags.port, backend: new LocalBackend(launcher), backendReason: reason });
      const control = new ControlServer(session);
      // Ctrl-C outside the TUI, `kill`, or closing the terminal stop the session the way q does.
      const signalled = new Promise<void>((resolve) => {
        for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(signal, () => resolve());
      });
      try {
        await control.start(session.snapshot().gateway, dir);
        if (flags.tui && process.stdout.isTTY && process.stdin.isTTY) {
          const tui = renderDevTui(session);
          await Promise.race([tui.waitUntilExit(), signalled]);
          tui.unmount();
        } else {
          const unsubscribe = printLines(session, process.stdout);
          await signalled;
          unsubscribe();
        }
      } finally {
        await session.stop();
        await control.stop();
      }
    });
}

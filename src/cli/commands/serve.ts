import type { Command } from 'commander';
import { exitOnSignals } from '../../../runtime/drain.js';
import { serve } from '../../dev/serve.js';
import { parsePort } from '../options.js';

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('serve one replica of each api in DIR on one port: no watcher, no autoscaling, no TUI')
    .argument('[dir]', 'folder with cortex.yaml', '.')
    .option('--api <name>', 'serve only this api')
    .option('-p, --port <port>', 'port to listen on', parsePort, 8888)
    .option('--host <host>', 'address to bind', '127.0.0.1')
    .action(async (dir: string, opts: { api?: string; port: number; host: string }) => {
      const serving = await serve({ dir, ...opts });
      for (const e of serving.endpoints) console.log(`${e.api.deployment}/${e.api.name} (version ${e.version}): ${e.url}`);
      // Ctrl-C or SIGTERM drains and exits the process; until then the server keeps it alive.
      exitOnSignals({ log: serving.log, stop: serving.close, deadlineMs: serving.drainTimeoutMs });
    });
}

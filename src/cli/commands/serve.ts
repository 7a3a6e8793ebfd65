import type { Command } from 'commander';
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
      await new Promise<void>((resolve) => {
        const stop = () => {
          process.off('SIGINT', stop).off('SIGTERM', stop);
          console.log('stopping: finishing in-flight requests');
          void serving.close().then(resolve);
        };
        process.on('SIGINT', stop).on('SIGTERM', stop);
      });
    });
}

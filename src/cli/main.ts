// The `cortex` binary. Commands only parse flags and call into src/dev (and friends); a
// mistake the user can fix is one line on stderr and exit code 2, stack traces only with --debug.
import { createRequire } from 'node:module';
import { Command, CommanderError } from 'commander';
import { UserError } from '../user-error.js';
import { registerBuild } from './commands/build.js';
import { registerDev } from './commands/dev.js';
import { registerServe } from './commands/serve.js';
import { registerSessionCommands } from './commands/session.js';

process.setSourceMapsEnabled(true);
// `cortex get --watch | head` or `cortex logs API | grep -m1 …`: the reader has what it wanted.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});
const { version } = createRequire(import.meta.url)('../../../package.json') as { version: string };

const program = new Command('cortex')
  .description('Serve a TypeScript predictor as an autoscaling HTTP API')
  .version(version)
  .option('--debug', 'print stack traces for errors')
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride();

registerBuild(program);
registerDev(program);
registerServe(program);
registerSessionCommands(program);

function isUserError(err: unknown): err is Error {
  return err instanceof UserError || (err as { exitCode?: unknown })?.exitCode === 2;
}

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : 2);
  if (isUserError(err) && !program.opts().debug) {
    console.error(`cortex: ${err.message}`);
    process.exit(2);
  }
  console.error(err);
  process.exit(1);
}

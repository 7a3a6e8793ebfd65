// The `cortex` binary. Commands only parse flags and call into src/dev (and friends); a
// mistake the user can fix is one line on stderr and exit code 2, stack traces only with --debug.
// Each command's module is loaded only when that command runs (all of them for help): `cortex
// get` has no business loading Ink, esbuild, dockerode or sharp.
import { createRequire } from 'node:module';
import { Command, CommanderError } from 'commander';
import { UserError } from '../user-error.js';

type Register = (program: Command) => void;
const sessionCommands = async (): Promise<Register> => (await import('./commands/session.js')).registerSessionCommands;
/** Every command, in the order help lists them, and the module that registers it. */
const commands: Record<string, () => Promise<Register>> = {
  build: async () => (await import('./commands/build.js')).registerBuild,
  cluster: async () => (await import('./commands/cluster.js')).registerCluster,
  cloud: async () => (await import('./commands/cloud.js')).registerCloud,
  deploy: async () => (await import('./commands/deploy.js')).registerDeploy,
  dev: async () => (await import('./commands/dev.js')).registerDev,
  serve: async () => (await import('./commands/serve.js')).registerServe,
  get: sessionCommands,
  logs: sessionCommands,
  predict: sessionCommands,
  delete: sessionCommands,
};

/** The command named on the command line: the first word that is not an option (the only global options take no value). */
function commandNamed(args: readonly string[]): string | undefined {
  return args.find((a) => !a.startsWith('-'));
}

process.setSourceMapsEnabled(true);
// The reader went away (`cortex get --watch | head`) or the terminal closed under the live
// view: nothing more can be shown. That is a hangup: a command that handles SIGHUP (dev,
// which must stop its replicas first) hears it once; any other just ends.
let outputGone = false;
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE' && err.code !== 'EIO') throw err;
    if (outputGone) return;
    outputGone = true;
    if (process.listenerCount('SIGHUP') > 0) process.emit('SIGHUP', 'SIGHUP');
    else process.exit(0);
  });
}
const { version } = createRequire(import.meta.url)('../../../package.json') as { version: string };

/**
 * Commander's unknown command is a bare "error: unknown command 'deploy'". This one says, on
 * one line, which commands exist (at that level: `cortex cluster bogus` lists up, down, info),
 * keeps commander's "did you mean", and where help is.
 */
class CortexCommand extends Command {
  override createCommand(name?: string): Command {
    return new CortexCommand(name);
  }

  override error(message: string, options?: { code?: string; exitCode?: number }): never {
    if (options?.code !== 'commander.unknownCommand') return super.error(message, options);
    const unknown = /unknown command '(.*)'/.exec(message)?.[1] ?? '';
    const similar = /\(Did you mean (.+)\?\)/.exec(message)?.[1];
    const names = this.createHelp().visibleCommands(this).map((command) => command.name()).filter((name) => name !== 'help');
    const path: string[] = [];
    for (let command: Command | null = this; command; command = command.parent) path.unshift(command.name());
    const line = `${path.join(' ')}: unknown command '${unknown}'${similar ? ` (did you mean ${similar}?)` : ''}; commands: ${names.join(', ')}; see ${path.join(' ')} --help`;
    this.configureOutput().writeErr?.(`${line}\n`);
    throw new CommanderError(2, 'commander.unknownCommand', line);
  }
}

const program = new CortexCommand('cortex')
  .description('Serve a TypeScript predictor as an autoscaling HTTP API')
  .version(version)
  .option('--debug', 'print stack traces for errors')
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride();

const named = commandNamed(process.argv.slice(2));
const loaders = named !== undefined && Object.hasOwn(commands, named) ? [commands[named]!] : [...new Set(Object.values(commands))];
for (const register of await Promise.all(loaders.map((load) => load()))) register(program);

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

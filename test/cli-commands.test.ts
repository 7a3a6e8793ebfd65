// What the binary says for a command it does not have: one line naming the commands that exist
// (at that level), commander's "did you mean", where help is, and exit code 2.
import test from 'ava';
import { cortex } from './helpers/cli.js';

/** The command names `--help` lists, in its order. */
async function helpCommands(args: string[]): Promise<string[]> {
  const help = await cortex([...args, '--help']);
  const section = help.stdout.split('Commands:\n')[1] ?? '';
  return [...section.matchAll(/^ {2}([a-z][\w-]*)/gm)].map((m) => m[1]!).filter((name) => name !== 'help');
}

test('an unknown command lists the commands that exist, on one line, exit code 2', async (t) => {
  const r = await cortex(['start', 'examples/image-classifier']);
  t.is(r.exitCode, 2, r.all);
  const names = await helpCommands([]);
  t.true(names.includes('dev') && names.includes('serve') && names.includes('get'), names.join(' '));
  t.is(r.all, `cortex: unknown command 'start'; commands: ${names.join(', ')}; see cortex --help`);
});

test('a near miss keeps the suggestion', async (t) => {
  const r = await cortex(['gte']);
  t.is(r.exitCode, 2);
  t.regex(r.all, /^cortex: unknown command 'gte' \(did you mean get\?\); commands: [a-z, ]+; see cortex --help$/);
});

test('an unknown subcommand lists that command\'s subcommands', async (t) => {
  const r = await cortex(['cluster', 'bogus']);
  t.is(r.exitCode, 2);
  t.is(r.all, `cortex cluster: unknown command 'bogus'; commands: ${(await helpCommands(['cluster'])).join(', ')}; see cortex cluster --help`);
});

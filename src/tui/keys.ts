// The one key-binding table (Gemini CLI's keyBindings.ts): the input handler, the key bar and
// the help screen all read it, so they can never disagree.

export enum Command {
  Quit = 'quit',
  Reload = 'reload',
  ToggleLogs = 'toggle-logs',
  Help = 'help',
}

export interface Key {
  input: string;
  ctrl?: boolean;
}

export interface KeyBinding {
  command: Command;
  keys: readonly Key[];
  /** A word for the key bar. */
  label: string;
  /** A sentence for the help screen. */
  description: string;
}

/**
 * What quitting does where the replicas run: local ones stop; on the kind backend cortex is
 * removed from the cluster (apis, gateway, autoscaler), or with --keep left running there for the
 * next session to adopt. Said before the key is pressed, since a removal is not undone by starting again.
 */
export type QuitEffect = 'stop' | 'remove' | 'keep';

const quitWords: Record<QuitEffect, Pick<KeyBinding, 'label' | 'description'>> = {
  stop: { label: 'quit', description: 'stop every replica, then exit' },
  remove: { label: 'quit (removes the apis from the cluster)', description: 'remove the apis from the cluster, then exit; --keep keeps them' },
  keep: { label: 'quit (the apis keep running: --keep)', description: 'exit, leaving the apis running in the kind cluster (--keep)' },
};

export const keyBindings: readonly KeyBinding[] = [
  { command: Command.Quit, keys: [{ input: 'q' }, { input: 'c', ctrl: true }], ...quitWords.stop },
  { command: Command.Reload, keys: [{ input: 'r' }], label: 'reload', description: 'rebuild and push every predictor now' },
  { command: Command.ToggleLogs, keys: [{ input: 'l' }], label: 'logs', description: 'hide log output, or show it again with what came meanwhile' },
  { command: Command.Help, keys: [{ input: '?' }], label: 'help', description: 'show or hide this help' },
];

/** The table as the key bar and help show it, the quit key worded for what quitting does here. */
export function shownBindings(quit: QuitEffect = 'stop'): readonly KeyBinding[] {
  return keyBindings.map((b) => (b.command === Command.Quit ? { ...b, ...quitWords[quit] } : b));
}

/** The command a key press (as Ink's useInput reports it) is bound to. */
export function commandFor(input: string, modifiers: { ctrl: boolean }): Command | undefined {
  return keyBindings.find((b) => b.keys.some((k) => k.input === input && (k.ctrl ?? false) === modifiers.ctrl))?.command;
}

export function keyName(key: Key): string {
  return key.ctrl ? `Ctrl-${key.input.toUpperCase()}` : key.input;
}

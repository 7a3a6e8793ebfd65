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

export const keyBindings: readonly KeyBinding[] = [
  {
    command: Command.Quit,
    keys: [{ input: 'q' }, { input: 'c', ctrl: true }],
    label: 'quit',
    description: 'stop every replica, then exit',
  },
  { command: Command.Reload, keys: [{ input: 'r' }], label: 'reload', description: 'rebuild and push every predictor now' },
  { command: Command.ToggleLogs, keys: [{ input: 'l' }], label: 'logs', description: 'hide log output, or show it again with what came meanwhile' },
  { command: Command.Help, keys: [{ input: '?' }], label: 'help', description: 'show or hide this help' },
];

/** The command a key press (as Ink's useInput reports it) is bound to. */
export function commandFor(input: string, modifiers: { ctrl: boolean }): Command | undefined {
  return keyBindings.find((b) => b.keys.some((k) => k.input === input && (k.ctrl ?? false) === modifiers.ctrl))?.command;
}

export function keyName(key: Key): string {
  return key.ctrl ? `Ctrl-${key.input.toUpperCase()}` : key.input;
}

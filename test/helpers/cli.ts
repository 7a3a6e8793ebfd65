// The `cortex` binary as a user runs it.
import { execa, type ResultPromise } from 'execa';
import { join } from 'node:path';
import { repoRoot } from './shared.js';

export const cortexBin = join(repoRoot, 'bin/cortex.js');

export function cortex(args: string[], options: { cwd?: string; env?: Record<string, string> } = {}) {
  return execa(process.execPath, [cortexBin, ...args], { reject: false, all: true, ...options });
}

/** Starts a long-running command and resolves once its output matches `ready`. */
export async function cortexUntil(args: string[], ready: RegExp, options: { cwd?: string; env?: Record<string, string>; timeout?: number } = {}) {
  const child: ResultPromise<{ reject: false; all: true }> = execa(process.execPath, [cortexBin, ...args], { reject: false, all: true, ...options });
  let output = '';
  const match = await new Promise<RegExpMatchArray>((resolve, reject) => {
    child.all.on('data', (chunk: Buffer) => {
      output += chunk;
      const m = output.match(ready);
      if (m) resolve(m);
    });
    void child.then((r) => reject(new Error(`cortex ${args.join(' ')} exited (${r.exitCode}) before it was ready:\n${output}`)));
  });
  return { child, match, output: () => output };
}

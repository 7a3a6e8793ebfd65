// Image build progress for a person: which base, each step, bytes as they go; never silence.
import type { ImageEvent } from '../image/index.js';

const inMib = (n: number) => (n / 1024 / 1024).toFixed(1);
const transfers = { context: 'build context: sent', base: 'base image: sent', pull: 'registry base: downloaded' } as const;
/** A line of bytes at most this often per transfer, and always the last one. */
const bytesEveryMs = 1_000;

export function printImageProgress(out: NodeJS.WritableStream = process.stderr, now: () => number = Date.now): (event: ImageEvent) => void {
  const printed = new Map<string, number>();
  return (event) => {
    switch (event.type) {
      case 'base':
        out.write(`base image: ${event.base.reason}\n`);
        break;
      case 'step':
        out.write(`${event.text}\n`);
        break;
      case 'output':
        out.write(`  ${event.text}\n`);
        break;
      case 'bytes': {
        const finished = event.done >= event.total;
        if (!finished && now() - (printed.get(event.what) ?? -Infinity) < bytesEveryMs) break;
        printed.set(event.what, now());
        const amount = finished ? `${inMib(event.total)} MiB` : `${inMib(event.done)} of ${inMib(event.total)} MiB (${Math.floor((100 * event.done) / event.total)}%)`;
        out.write(`  ${transfers[event.what]} ${amount}\n`);
        break;
      }
    }
  };
}

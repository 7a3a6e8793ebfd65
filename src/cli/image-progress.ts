// Image build progress for a person: which base, each step, bytes as they go; never silence.
import type { ImageEvent } from '../image/index.js';

const mib = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;

export function printImageProgress(out: NodeJS.WritableStream = process.stderr): (event: ImageEvent) => void {
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
      case 'bytes':
        if (event.done === event.total) out.write(`  sent ${mib(event.total)} of ${event.what === 'context' ? 'build context' : 'base image'}\n`);
        break;
    }
  };
}

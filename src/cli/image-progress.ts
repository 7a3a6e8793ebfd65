// Image build progress for a person: which base, each step, bytes as they go; never silence.
import type { LayerState, PushEvent } from '../cloud/push.js';
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

const layerDone: Partial<Record<LayerState, string>> = { pushed: 'pushed', exists: 'already there', mounted: 'mounted from another repository' };

/** Push progress for a person: the login, each layer as it is done (sent, or already there), bytes as they go. */
export function printPushProgress(out: NodeJS.WritableStream = process.stderr, now: () => number = Date.now): (event: PushEvent) => void {
  let printedAt = -Infinity;
  return (event) => {
    switch (event.type) {
      case 'login':
        out.write(`push: logged in to ${event.registry}\n`);
        break;
      case 'layer': {
        const done = layerDone[event.state];
        if (done) out.write(`  layer ${event.id}: ${done}\n`);
        break;
      }
      case 'bytes': {
        const finished = event.done >= event.total;
        if (!finished && now() - printedAt < bytesEveryMs) break;
        printedAt = now();
        out.write(`  push: sent ${finished ? `${inMib(event.total)} MiB` : `${inMib(event.done)} of ${inMib(event.total)} MiB (${Math.floor((100 * event.done) / event.total)}%)`}\n`);
        break;
      }
      case 'pushed':
        out.write(`push: ${event.reference}@${event.digest}\n`);
        break;
    }
  };
}

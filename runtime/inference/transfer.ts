// Tensors cross threads by structured clone; the large ones are moved instead of copied.
import type { Tensor } from '../contract.js';

const taken = new WeakSet<ArrayBufferLike>();

/**
 * The buffers to transfer with `feeds`: input arrays that own their whole buffer are moved to
 * the other thread rather than copied (a batch of images is tens of MB, and copying it would
 * stall the event loop). Views into a larger or shared buffer are copied as usual. A buffer
 * moved once is empty, so passing it again is an error that says so.
 */
export function takeBuffers(feeds: Record<string, Tensor>): ArrayBuffer[] {
  const transfer: ArrayBuffer[] = [];
  for (const [name, { data }] of Object.entries(feeds)) {
    const buffer = data.buffer;
    if (taken.has(buffer)) {
      throw new Error(`input "${name}" was already passed to run() and moved to the inference thread; pass a new tensor, or a copy (data.slice())`);
    }
    if (buffer instanceof ArrayBuffer && data.byteOffset === 0 && data.byteLength === buffer.byteLength && data.byteLength > 0) {
      taken.add(buffer);
      transfer.push(buffer);
    }
  }
  return transfer;
}

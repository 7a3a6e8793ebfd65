// Requests written over node:net, for what fetch cannot send: a body that never ends, a
// Content-Length larger than the body, headers that never finish, a body that drips.
import { connect } from 'node:net';

export interface Stalled {
  /** Written at once. */
  head: string;
  /** Then one byte of this every `gapMs`. */
  drip?: string;
  gapMs?: number;
}

export function stalledRequests(path: string): Record<string, Stalled> {
  const start = `POST ${path} HTTP/1.1\r\nHost: cortex\r\nContent-Type: application/json\r\n`;
  return {
    'a chunked body that never ends': { head: `${start}Transfer-Encoding: chunked\r\n\r\n1\r\n{\r\n` },
    'a Content-Length larger than the body': { head: `${start}Content-Length: 100\r\n\r\n{"a":` },
    'headers that never finish': { head: start },
    'a body that drips a byte every 200 ms': { head: `${start}Content-Length: 200\r\n\r\n`, drip: ' '.repeat(200), gapMs: 200 },
  };
}

export interface RawReply {
  status: number | undefined;
  headers: string;
  body: unknown;
  /** From the first byte sent to the connection closing. */
  ms: number;
}

/**
 * Sends `request` and resolves with what came back once the server closes the connection, or
 * once `giveUpMs` have passed (then `status` is undefined if nothing came).
 */
export function sendRaw(url: string, request: Stalled, giveUpMs: number): { written: Promise<void>; reply: Promise<RawReply> } {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  const started = performance.now();
  const giveUp = setTimeout(() => socket.destroy(), giveUpMs);
  let data = '';
  let drip: NodeJS.Timeout | undefined;
  socket.on('data', (chunk) => (data += chunk));
  // Writes after the server has closed fail; that is the point.
  socket.on('error', () => undefined);
  const written = new Promise<void>((resolve) => socket.write(request.head, () => resolve()));
  if (request.drip) {
    let at = 0;
    drip = setInterval(() => {
      if (at < request.drip!.length && !socket.destroyed) socket.write(request.drip![at++]!);
    }, request.gapMs);
  }
  const reply = new Promise<RawReply>((resolve) =>
    socket.on('close', () => {
      clearInterval(drip);
      clearTimeout(giveUp);
      const split = data.indexOf('\r\n\r\n');
      const headers = split === -1 ? data : data.slice(0, split);
      let body: unknown = data.slice(split + 4);
      try {
        body = JSON.parse(body as string);
      } catch {
        // not JSON
      }
      resolve({ status: Number(/^HTTP\/1\.1 (\d+)/.exec(data)?.[1]) || undefined, headers, body, ms: performance.now() - started });
    }),
  );
  return { written, reply };
}

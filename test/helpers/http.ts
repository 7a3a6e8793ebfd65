import { createReadStream, existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { extname, join } from 'node:path';
import type { AddressInfo } from 'node:net';

export interface Reply {
  status: number;
  headers: Headers;
  body: unknown;
  text: string;
}

export async function post(url: string, body: string | Buffer | object, type = 'application/json', headers: Record<string, string> = {}): Promise<Reply> {
  const payload = typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
  const res = await fetch(url, { method: 'POST', body: payload, headers: { 'content-type': type, ...headers } });
  return read(res);
}

export async function read(res: Response): Promise<Reply> {
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: res.status, headers: res.headers, body, text };
}

export function listen(server: Server): Promise<string> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
}

const types: Record<string, string> = { '.jpg': 'image/jpeg', '.png': 'image/png', '.txt': 'text/plain', '.html': 'text/html' };

/** A static file server standing in for the internet: image URLs in tests point here. */
export async function staticServer(dir: string, pages: Record<string, [type: string, body: string]> = {}): Promise<{ url: string; close: () => Promise<void> }> {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const page = pages[path];
    if (page) {
      res.writeHead(200, { 'content-type': page[0] }).end(page[1]);
      return;
    }
    const file = join(dir, path);
    if (!file.startsWith(dir) || !existsSync(file)) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream' });
    createReadStream(file).pipe(res);
  });
  const url = await listen(server);
  return { url, close: () => new Promise((r) => server.close(() => r())) };
}

/** A loopback port nothing listens on. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  const url = await listen(server);
  await new Promise((r) => server.close(r));
  return Number(new URL(url).port);
}

// Replicas log JSON lines (pino); people read `HH:MM:SS LEVEL message key=value`.
import { Writable } from 'node:stream';

const levels: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const skipped = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'reqId', 'err']);

export interface LogLine {
  time: Date;
  level: string;
  message: string;
}

/** A pino JSON line as a readable line; anything else (a predictor's console.log) as is. */
export function parseLogLine(raw: string): LogLine {
  if (raw.startsWith('{')) {
    try {
      const entry = JSON.parse(raw) as Record<string, unknown>;
      if (typeof entry.level === 'number' && typeof entry.msg === 'string') {
        const extras = Object.entries(entry)
          .filter(([k]) => !skipped.has(k))
          .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
        const err = entry.err as { stack?: string } | undefined;
        const message = [entry.msg, ...extras].join(' ') + (err?.stack && entry.level >= 50 ? `\n${err.stack}` : '');
        return { time: new Date(typeof entry.time === 'number' ? entry.time : Date.now()), level: levels[entry.level] ?? 'INFO', message };
      }
    } catch {
      // not JSON after all: fall through
    }
  }
  return { time: new Date(), level: 'LOG', message: raw };
}

export function formatLogLine({ time, level, message }: LogLine): string {
  return `${time.toTimeString().slice(0, 8)} ${level.padEnd(5)} ${message}`;
}

/** A stream for Fastify's logger that prints readable lines instead of JSON. */
export function readableLogStream(out: NodeJS.WritableStream = process.stdout): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const raw of chunk.toString('utf8').split('\n')) if (raw) out.write(formatLogLine(parseLogLine(raw)) + '\n');
      done();
    },
  });
}

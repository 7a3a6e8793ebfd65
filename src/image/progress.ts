// What an image build tells the user while it runs: which base, each Dockerfile step and its
// output, bytes sent or downloaded; and, when a step fails, that step's last lines of output.
import { Transform } from 'node:stream';
import type { BaseImage } from './base.js';

export type ImageEvent =
  | { type: 'base'; base: BaseImage }
  | { type: 'step'; text: string }
  | { type: 'output'; text: string }
  /** Bytes sent (context, base) or downloaded (pull); a pull's total grows as layers start. */
  | { type: 'bytes'; what: 'context' | 'base' | 'pull'; done: number; total: number };

/** One JSON message of the daemon's build or pull stream. */
export interface DaemonMessage {
  stream?: string;
  status?: string;
  error?: string;
  errorDetail?: { message?: string };
  aux?: { ID?: string };
}

const tailLines = 20;

/** Follows a legacy-builder stream: reports steps and output, keeps what a failure must show. */
export class BuildLog {
  step: string | undefined;
  error: string | undefined;
  /** The current step's last lines of output, without the builder's own bookkeeping. */
  readonly tail: string[] = [];
  private partial = '';

  constructor(private readonly onEvent: (event: ImageEvent) => void) {}

  take(message: DaemonMessage): void {
    if (message.stream) {
      const lines = (this.partial + message.stream).split('\n');
      this.partial = lines.pop()!;
      for (const line of lines) this.line(line);
    }
    if (message.error || message.errorDetail) this.error = message.errorDetail?.message ?? message.error;
  }

  end(): void {
    if (this.partial) this.line(this.partial);
    this.partial = '';
  }

  private line(raw: string): void {
    // The builder colours a step's stderr with terminal escapes.
    const text = raw.replace(/\x1b\[[0-9;]*m/g, '').trimEnd();
    if (!text) return;
    if (/^Step \d+\/\d+ : /.test(text)) {
      this.step = text;
      this.tail.length = 0;
      this.onEvent({ type: 'step', text });
      return;
    }
    this.onEvent({ type: 'output', text });
    if (/^ ---> |^Removing intermediate container /.test(text)) return;
    this.tail.push(text);
    if (this.tail.length > tailLines) this.tail.shift();
  }
}

/** The one-line summary of a failed build with what to do, then the failing step's output. */
export function buildFailure(log: Pick<BuildLog, 'step' | 'error' | 'tail'>, advice: string, what = 'the runtime image'): string {
  const where = log.step ? ` at "${log.step}"` : '';
  const output = log.tail.length ? `\n${log.tail.map((line) => `  ${line}`).join('\n')}` : '';
  return `${what} build failed${where}: ${log.error ?? 'unknown error'}; ${advice}${output}`;
}

/** Passes bytes through, reporting progress every twentieth of `total` and at the end. */
export function countBytes(what: 'context' | 'base', total: number, onEvent: (event: ImageEvent) => void): Transform {
  let done = 0;
  let reported = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      done += chunk.length;
      if (done - reported >= total / 20) {
        reported = done;
        onEvent({ type: 'bytes', what, done, total });
      }
      callback(null, chunk);
    },
    flush(callback) {
      onEvent({ type: 'bytes', what, done, total: Math.max(total, done) });
      callback();
    },
  });
}

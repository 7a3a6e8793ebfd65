// Where a predictor thread stuck in synchronous code is stuck. The thread cannot answer, but
// the inspector can still pause it (V8 interrupts a running loop), so the main thread attaches
// to it, pauses it, reads the innermost frame of the bundle and maps it back to the user's
// source through the bundle's inline source map.
import { Session } from 'node:inspector/promises';
import { SourceMap } from 'node:module';

interface CallFrame {
  location: { scriptId: string; lineNumber: number; columnNumber: number };
}

function inlineSourceMap(code: string): SourceMap | undefined {
  const m = /\/\/# sourceMappingURL=data:application\/json;base64,([A-Za-z0-9+/=]+)\s*$/.exec(code);
  if (!m) return undefined;
  try {
    return new SourceMap(JSON.parse(Buffer.from(m[1]!, 'base64').toString('utf8')));
  } catch {
    return undefined;
  }
}

/**
 * The user's file:line:column that the thread started with the Worker option `name` runs now,
 * if it can be told within `timeoutMs`. The inspector's own worker ids are not thread ids; the
 * title it reports carries the name.
 */
export async function stuckFrame(name: string, bundleUrl: string, code: string, timeoutMs = 2000): Promise<string | undefined> {
  const map = inlineSourceMap(code);
  const session = new Session();
  session.connect();
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), timeoutMs)));
  try {
    const frames = await Promise.race([pausedFrames(session, name), expired]);
    if (!frames) return undefined;
    for (const { url, line, column } of frames) {
      if (url !== bundleUrl) continue;
      const entry = map?.findEntry(line, column) as { originalSource?: string; originalLine?: number; originalColumn?: number } | undefined;
      if (!entry?.originalSource || entry.originalSource.includes('/node_modules/')) continue;
      return `${entry.originalSource.replace(/^file:\/\//, '')}:${entry.originalLine! + 1}:${entry.originalColumn! + 1}`;
    }
    return undefined;
  } catch {
    return undefined;
  } finally {
    clearTimeout(timer);
    session.disconnect();
  }
}

async function pausedFrames(session: Session, name: string): Promise<Array<{ url: string; line: number; column: number }>> {
  const attached = new Promise<string>((resolve) => {
    session.on('NodeWorker.attachedToWorker', ({ params }) => {
      if (params.workerInfo.title.endsWith(` ${name}`)) resolve(params.sessionId);
    });
  });
  const scripts = new Map<string, string>();
  const paused = new Promise<CallFrame[]>((resolve) => {
    session.on('NodeWorker.receivedMessageFromWorker', ({ params }) => {
      const msg = JSON.parse(params.message) as { method?: string; params?: { scriptId: string; url: string; callFrames: CallFrame[] } };
      if (msg.method === 'Debugger.scriptParsed') scripts.set(msg.params!.scriptId, msg.params!.url);
      if (msg.method === 'Debugger.paused') resolve(msg.params!.callFrames);
    });
  });
  await session.post('NodeWorker.enable', { waitForDebuggerOnStart: false });
  const sessionId = await attached;
  let id = 0;
  const send = (method: string) => session.post('NodeWorker.sendMessageToWorker', { sessionId, message: JSON.stringify({ id: ++id, method }) });
  await send('Debugger.enable');
  await send('Debugger.pause');
  const frames = await paused;
  // Left paused, the thread could not be terminated cleanly.
  await send('Debugger.resume');
  return frames.map((f) => ({ url: scripts.get(f.location.scriptId) ?? '', line: f.location.lineNumber, column: f.location.columnNumber }));
}

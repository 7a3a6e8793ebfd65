// A pod's log, followed through the API server's log API (what `kubectl logs -f` reads), line by
// line. A follow ends when the container does (a crash, a restart); the caller follows again from
// where it was, so a restarted container's lines keep coming.
export interface LogFollow {
  /** Settles when the stream ends: the container stopped, the pod went, or stop() was called. */
  ended: Promise<void>;
  stop(): void;
}

export interface LogTarget {
  server: string;
  namespace: string;
  pod: string;
  container: string;
  /** Only lines after this (a follow that resumes). */
  sinceTime?: Date;
  /** Keep the stream open for new lines (the default), or end after what the log holds. */
  follow?: boolean;
}

export function followPodLog(send: typeof fetch, o: LogTarget, onLine: (line: string) => void): LogFollow {
  const controller = new AbortController();
  const query = new URLSearchParams({ container: o.container, follow: String(o.follow ?? true), ...(o.sinceTime ? { sinceTime: o.sinceTime.toISOString() } : {}) });
  const ended = (async () => {
    try {
      const res = await send(`${o.server}/api/v1/namespaces/${encodeURIComponent(o.namespace)}/pods/${encodeURIComponent(o.pod)}/log?${query}`, { signal: controller.signal });
      // Not started yet (ContainerCreating) or already gone: nothing to show; the caller tries again.
      if (!res.ok || !res.body) return void (await res.body?.cancel());
      let rest = '';
      for await (const chunk of res.body.pipeThrough(new TextDecoderStream())) {
        const lines = (rest + chunk).split('\n');
        rest = lines.pop()!;
        for (const line of lines) if (line) onLine(line.replace(/\r$/, ''));
      }
      if (rest) onLine(rest);
    } catch {
      // Aborted, or the connection dropped: the stream has ended either way.
    }
  })();
  return { ended, stop: () => controller.abort() };
}

// Reloads of one api run one after another, so an older bundle never lands last; one that fails
// does not hold up the next. Both the local backends and the kind backend keep such a queue per api.
export interface ReloadQueue {
  reloads: Promise<unknown>;
}

export function afterEarlierReloads<T>(api: ReloadQueue, run: () => Promise<T>): Promise<T> {
  const next = api.reloads.then(run);
  api.reloads = next.catch(() => undefined);
  return next;
}

// The key bar's line while the session stops: what it still waits for, and the way out.
import { stoppingReplicas, type ApiSnapshot } from '../model/status.js';
import { replicaCount } from './format.js';

/** "stopping 2 replicas (1 draining, 1 in init)… Ctrl-C kills them now"; "stopping…" once none is left. */
export function stoppingNotice(apis: ReadonlyArray<Pick<ApiSnapshot, 'replicas'>>): string {
  const { draining, inInit } = stoppingReplicas(apis);
  const total = draining + inInit;
  if (total === 0) return 'stopping… Ctrl-C exits now';
  const which = draining > 0 && inInit > 0 ? `${draining} draining, ${inInit} in init` : draining > 0 ? 'draining' : 'in init';
  return `stopping ${replicaCount(total)} (${which})… Ctrl-C kills ${total === 1 ? 'it' : 'them'} now`;
}

// Rendered objects into a cluster: server-side apply under one field manager, so cortex owns
// exactly the fields it renders (replicas stay the autoscaler's), and apis no longer in
// cortex.yaml are pruned by label. kind and EKS go through this same code.
import { KubernetesObjectApi, PatchStrategy, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { fieldManager, labels } from './names.js';
import type { KubeObject } from './render.js';

export interface ApplyOptions {
  /** Ask the API server to check everything (admission included) and persist nothing. */
  dryRun?: boolean;
}

// The kinds rendered per api, in the order pruning looks for them.
const apiKinds: Array<[apiVersion: string, kind: string]> = [
  ['apps/v1', 'Deployment'],
  ['v1', 'Service'],
  ['v1', 'ConfigMap'],
];

export class ClusterClient {
  private readonly objects: KubernetesObjectApi;

  constructor(readonly kubeConfig: KubeConfig) {
    this.objects = KubernetesObjectApi.makeApiClient(kubeConfig);
  }

  /** Applies `objects` in order (a namespace before what lives in it); forced, since cortex is the only owner of what it renders. */
  async apply(objects: readonly KubeObject[], { dryRun = false }: ApplyOptions = {}): Promise<KubernetesObject[]> {
    const applied: KubernetesObject[] = [];
    for (const object of objects) {
      try {
        applied.push(await this.objects.patch(object as KubernetesObject, undefined, dryRun ? 'All' : undefined, fieldManager, true, PatchStrategy.ServerSideApply));
      } catch (err) {
        throw new Error(`applying ${object.kind} ${object.metadata?.namespace ? `${object.metadata.namespace}/` : ''}${object.metadata?.name}: ${apiMessage(err)}`);
      }
    }
    return applied;
  }

  /** Deletes the objects of `deployment`'s apis that are not in `keep`; returns what went, as kind/name. */
  async pruneApis(namespace: string, deployment: string, keep: readonly string[]): Promise<string[]> {
    return this.deleteSelected(namespace, `${labels.deployment}=${deployment}${keep.length ? `,${labels.api} notin (${keep.join(',')})` : ''}`);
  }

  /**
   * Deletes the objects of every api in the namespace but `deployment`'s `keep`, whichever cortex
   * deployment they belong to (kind: a dev session owns its namespace, so what an earlier session
   * left there, or a renamed deployment's objects, must not stay routed); returns what went, as kind/name.
   */
  async pruneOtherApis(namespace: string, deployment: string, keep: readonly string[]): Promise<string[]> {
    const others = await this.deleteSelected(namespace, `${labels.component}=api,${labels.deployment}!=${deployment}`);
    return [...others, ...(await this.pruneApis(namespace, deployment, keep))];
  }

  /** Deletes one api's objects (`cortex delete --cloud`); returns what went, as kind/name. */
  async removeApi(namespace: string, deployment: string, api: string): Promise<string[]> {
    return this.deleteSelected(namespace, `${labels.deployment}=${deployment},${labels.api}=${api}`);
  }

  private async deleteSelected(namespace: string, selector: string): Promise<string[]> {
    const removed: string[] = [];
    for (const [apiVersion, kind] of apiKinds) {
      const { items } = await this.objects.list(apiVersion, kind, namespace, undefined, undefined, undefined, undefined, selector);
      for (const item of items) {
        // In the background: the objects go at once, their pods drain on their own (the runtime's SIGTERM).
        await this.objects.delete({ apiVersion, kind, metadata: { name: item.metadata!.name!, namespace } }, undefined, undefined, undefined, undefined, 'Background').catch((err: unknown) => {
          if (statusCode(err) !== 404) throw err;
        });
        removed.push(`${kind}/${item.metadata!.name}`);
      }
    }
    return removed;
  }
}

function statusCode(err: unknown): number | undefined {
  return (err as { code?: number }).code;
}

/** The API server's own reason, not the client library's wrapping of it. */
export function apiMessage(err: unknown): string {
  const body = (err as { body?: unknown }).body;
  if (typeof body === 'string') {
    try {
      return (JSON.parse(body) as { message?: string }).message ?? body;
    } catch {
      return body;
    }
  }
  return err instanceof Error ? err.message : String(err);
}

import type { JsonValue } from '../../runtime/contract.js';
import { createReplica, type Replica } from '../../runtime/replica.js';
import { replicaDefaults, type ReplicaSettings } from '../../runtime/settings.js';
import { createServer } from '../../runtime/server.js';
import { bundleOnce } from '../../src/dev/bundler.js';
import { cacheDir, modelMirror } from './shared.js';

export interface TestReplica {
  url: string;
  replica: Replica;
  token: string;
  close(): Promise<void>;
}

/** A real replica (Fastify + worker-thread inference) on a loopback port, running `predictor`. */
export async function startReplica(predictor: string, config: Record<string, JsonValue>, overrides: Partial<ReplicaSettings> = {}): Promise<TestReplica> {
  const token = 'test-token';
  const app = createServer({ logLevel: 'fatal' });
  const replica = createReplica({
    ...replicaDefaults,
    api: { name: 'api', deployment: 'test' },
    assets: { baseDir: process.cwd(), cacheDir, mirrorDir: modelMirror, downloadTimeoutMs: 1000 },
    adminToken: token,
    inferenceThreads: 2,
    processMetrics: false,
    ...overrides,
  });
  await app.register(replica.plugin);
  const { code } = await bundleOnce(predictor);
  await replica.slot.load({ code, config }).catch(async (err: unknown) => {
    await replica.close();
    throw err;
  });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    url,
    replica,
    token,
    close: async () => {
      await app.close();
      await replica.close();
    },
  };
}

export async function pushBundle(r: TestReplica, predictor: string, config: Record<string, JsonValue>) {
  return pushCode(r, (await bundleOnce(predictor)).code, config);
}

/** PUT /-/predictor with code bundled already, so that a caller can time the swap alone. */
export async function pushCode(r: TestReplica, code: string, config: Record<string, JsonValue>) {
  const res = await fetch(`${r.url}/-/predictor`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${r.token}` },
    body: JSON.stringify({ code, config }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

// The bundle a replica starts with (CORTEX_PREDICTOR_BUNDLE): a plain ESM file, configured by
// CORTEX_PREDICTOR_CONFIG (process and docker backends), or a gzipped JSON body of
// PUT /-/predictor, `{"code", "config"}` (a Kubernetes ConfigMap, where one object carries both
// so that a reload replaces them together).
import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import type { JsonValue } from './contract.js';
import type { Bundle } from './predictor-slot.js';

export async function readBundleFile(path: string, config: Record<string, JsonValue>): Promise<Bundle> {
  if (!path.endsWith('.json.gz')) return { code: await readFile(path, 'utf8'), config };
  const body = JSON.parse(gunzipSync(await readFile(path)).toString('utf8')) as Partial<Bundle>;
  if (typeof body.code !== 'string' || typeof body.config !== 'object' || body.config === null) {
    throw new Error(`${path} is not a gzipped {"code", "config"} bundle`);
  }
  return { code: body.code, config: body.config };
}

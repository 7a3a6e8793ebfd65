// Where a process writes predictor bundles so that `import()` can load them: one folder per
// process, one subfolder per replica.
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const bundlesRoot = join(tmpdir(), `cortex-bundles-${process.pid}`);

export function replicaBundleDir(api: { deployment: string; name: string }): string {
  return join(bundlesRoot, `${api.deployment}-${api.name}`);
}

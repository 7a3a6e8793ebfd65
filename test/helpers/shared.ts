// The real model, labels and photos live outside the repo (../shared); CI may point elsewhere.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

export const repoRoot = resolve(new URL('../../..', import.meta.url).pathname);
export const sharedDir = resolve(process.env.CORTEX_SHARED_DIR ?? resolve(repoRoot, '../shared'));
export const modelsDir = resolve(sharedDir, 'models');
export const imagesDir = resolve(sharedDir, 'images');
export const fixtures = resolve(repoRoot, 'test/fixtures');
export const exampleDir = resolve(repoRoot, 'examples/image-classifier');

if (!existsSync(modelsDir)) throw new Error(`the shared models are missing at ${modelsDir}; set CORTEX_SHARED_DIR`);
process.env.CORTEX_MODEL_MIRROR ??= modelsDir;

// The bundler's compile errors, located the way a person reads them.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { BuildError, bundleOnce, displayLocation } from '../src/dev/bundler.js';

test('a compile error outside the working directory is located by its absolute path, not ../../', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cortex-bundler-'));
  await writeFile(join(dir, 'predictor.ts'), 'export function predict() {\n  return [1;\n}\n');
  const error = await t.throwsAsync(bundleOnce(join(dir, 'predictor.ts')), { instanceOf: BuildError });
  t.is(error?.location, `${join(dir, 'predictor.ts')}:2:12`);
  t.is(error?.message, `${join(dir, 'predictor.ts')}:2:12: Expected "]" but found ";"`);
});

test('a location under the working directory is relative to it, from either form', (t) => {
  t.is(displayLocation(join(process.cwd(), 'examples/x/predictor.ts:3:5')), 'examples/x/predictor.ts:3:5');
  t.is(displayLocation('examples/x/predictor.ts:3:5'), 'examples/x/predictor.ts:3:5');
  t.is(displayLocation('/elsewhere/predictor.ts:3:5'), '/elsewhere/predictor.ts:3:5');
});

// A predictor project of its own, outside this repo, gets cortex's types the way any package's
// types arrive: cortex in its node_modules (npm install --save-dev), `import type … from 'cortex'`.
import { cp, mkdir, mkdtemp, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { execa } from 'execa';
import { exampleDir, repoRoot } from './helpers/shared.js';

async function project(predictor: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'cortex-predictor-project-'));
  await mkdir(join(dir, 'node_modules/@types'), { recursive: true });
  // What `npm install --save-dev <cortex>` and `npm install --save-dev @types/node` leave.
  await symlink(repoRoot, join(dir, 'node_modules/cortex'));
  await symlink(join(repoRoot, 'node_modules/@types/node'), join(dir, 'node_modules/@types/node'));
  await writeFile(join(dir, 'package.json'), JSON.stringify({ type: 'module', devDependencies: { cortex: '*', '@types/node': '*' } }));
  await writeFile(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { strict: true, module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', noEmit: true, types: ['node'] }, include: ['*.ts'] }));
  await writeFile(join(dir, 'predictor.ts'), predictor);
  return dir;
}

const tsc = (dir: string) => execa(join(repoRoot, 'node_modules/.bin/tsc'), ['-p', dir], { reject: false, all: true });

test('the example predictor typechecks in a project of its own, with cortex installed as a dev dependency', async (t) => {
  const dir = await project('');
  await cp(join(exampleDir, 'predictor.ts'), join(dir, 'predictor.ts'));
  const r = await tsc(dir);
  t.is(r.exitCode, 0, r.all);
});

test('and the types are real: a predictor that misuses them does not typecheck there', async (t) => {
  const dir = await project(["import type { InitContext } from 'cortex';", 'export async function init(context: InitContext) {', '  await context.helpers.loadModel(42);', '}', ''].join('\n'));
  const r = await tsc(dir);
  t.is(r.exitCode, 2);
  t.regex(r.all, /predictor\.ts\(3,\d+\): error TS2345: Argument of type 'number' is not assignable to parameter of type 'string'/);
});

// The file-system edge of the spec: find cortex.yaml, read it, and check the predictor files
// it names exist, so `cortex dev` fails on a typo before it starts anything.
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { SpecError } from './errors.js';
import { analyse } from './parse.js';
import type { Spec } from './types.js';

const SPEC_NAMES = ['cortex.yaml', 'cortex.yml'];

/** Loads DIR/cortex.yaml (or cortex.yml), or the given file. Throws SpecError for any user error. */
export async function loadSpec(dirOrFile: string): Promise<Spec> {
  const file = await findSpecFile(path.resolve(dirOrFile));
  const { spec, errorAt } = analyse(await read(file), file);
  for (const api of spec.apis) {
    const kind = await kindOf(api.predictor.path);
    if (kind !== 'file') {
      const problem = kind === 'missing' ? 'does not exist' : 'is a directory, not a file';
      throw errorAt(api, ['predictor', 'path'], `predictor.path: ${api.predictor.path} ${problem}; the path is relative to the folder of cortex.yaml`);
    }
  }
  return spec;
}

async function findSpecFile(target: string): Promise<string> {
  const kind = await kindOf(target);
  if (kind === 'file') return target;
  if (kind === 'missing') throw new SpecError({ file: target, problem: 'no such file or directory' });
  for (const name of SPEC_NAMES) {
    const candidate = path.join(target, name);
    if ((await kindOf(candidate)) === 'file') return candidate;
  }
  throw new SpecError({ file: target, problem: `no ${SPEC_NAMES.join(' or ')} in this folder; pass the folder that holds it, or the file itself` });
}

async function kindOf(target: string): Promise<'file' | 'directory' | 'missing'> {
  try {
    return (await stat(target)).isDirectory() ? 'directory' : 'file';
  } catch (error) {
    const { code } = error as NodeJS.ErrnoException;
    if (code === 'ENOENT' || code === 'ENOTDIR') return 'missing';
    throw error;
  }
}

async function read(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw new SpecError({ file, problem: `cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})` });
  }
}

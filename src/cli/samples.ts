// The file the `curl:` line posts: found beside a project's cortex.yaml, for `cortex get API` (the
// dev session's folder, or with --cloud the project in the working directory) and for
// `cortex deploy --cloud` (the project it deployed).
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { shownPath } from '../spec/errors.js';
import { loadSpec } from '../spec/index.js';
import { contentTypeOf } from './content-types.js';
import type { Sample } from './get-view.js';

/**
 * A file beside cortex.yaml that the curl line can post: sample.json or sample.txt first, else
 * the first image. None: the curl line says so rather than naming a file that is not there.
 */
export async function findSample(dir: string): Promise<Sample | undefined> {
  const names = (await readdir(dir).catch(() => [] as string[])).sort();
  const images = names.filter((n) => contentTypeOf(n).startsWith('image/'));
  const name = ['sample.json', 'sample.txt'].find((n) => names.includes(n)) ?? images[0];
  return name === undefined ? undefined : { path: shownPath(join(dir, name)), contentType: contentTypeOf(name) };
}

/**
 * `get API --cloud` has no session to say where the project is: the one in `dir` (the working
 * directory) counts when its cortex.yaml has that api, as after `cortex deploy --cloud` from there.
 * Any other folder, or a cortex.yaml that does not load, gives no sample.
 */
export async function projectSample(api: string, dir: string = process.cwd()): Promise<Sample | undefined> {
  const spec = await loadSpec(dir).catch(() => undefined);
  return spec?.apis.some((a) => a.name === api) ? findSample(spec.dir) : undefined;
}

import type { Command } from 'commander';
import { ensureRuntimeImage, registryBase } from '../../image/index.js';
import { loadSpec } from '../../spec/index.js';
import { printImageProgress } from '../image-progress.js';

export function registerBuild(program: Command): void {
  program
    .command('build')
    .description('build the runtime image every replica runs (tagged by content: an unchanged runtime is never rebuilt)')
    .argument('[dir]', 'folder with cortex.yaml, checked before building', '.')
    .option('--base <image>', `build on this image instead of choosing (${registryBase()}, or an offline base)`)
    .action(async (dir: string, opts: { base?: string }) => {
      await loadSpec(dir);
      const image = await ensureRuntimeImage({ base: opts.base, onEvent: printImageProgress(process.stdout) });
      const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
      const size = `${Math.round(image.sizeBytes / 1e6)} MB`;
      console.log(
        image.cached
          ? `${image.tag}: cached (checked in ${seconds(image.checkMs)}), ${size}, base ${image.base.ref}`
          : `${image.tag}: built in ${seconds(image.checkMs + image.buildMs)}, ${size}, base ${image.base.ref}`,
      );
    });
}

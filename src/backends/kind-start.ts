// Everything the kind backend needs before its first apply: the cluster's kubeconfig and gateway
// port, the runtime image (built as for the docker backend, cached) on the node, and the node
// folders the pods mount. Each missing piece is one line saying what to run.
import { ensureRuntimeImage, type ImageEvent } from '../image/index.js';
import { gatewayHostPort, kindKubeConfig, loadImage, nodeHasDir, nodePaths } from '../kube/kind.js';
import { kindGatewayNodePort, profiles } from '../kube/render.js';
import { UserError } from '../user-error.js';
import { KindBackend } from './kind.js';

export interface KindStartOptions {
  name: string;
  base?: string;
  keep?: boolean;
  onImageEvent?: (event: ImageEvent) => void;
  onLine?: (line: string) => void;
  env?: NodeJS.ProcessEnv;
}

export async function startKindBackend(options: KindStartOptions): Promise<{ backend: KindBackend; description: string }> {
  const { name, env = process.env } = options;
  const kc = await kindKubeConfig(name);
  const port = await gatewayHostPort(name);
  if (port === undefined) throw new UserError(`the kind cluster "${name}" does not publish port ${kindGatewayNodePort}, where cortex's gateway listens; run cortex cluster down, then cortex cluster up`);
  const image = await ensureRuntimeImage({ base: options.base, onEvent: options.onImageEvent, otherwise: 'use --backend docker or --backend process' });
  const loadStarted = Date.now();
  const { loaded } = await loadImage(name, image.tag, options.onLine);
  if (loaded) options.onLine?.(`loaded ${image.tag} into the kind cluster "${name}" in ${((Date.now() - loadStarted) / 1000).toFixed(1)} s`);
  // The cluster mounts the mirror and the model cache when `cortex cluster up` created it so.
  const [mirror, cache] = await Promise.all([nodeHasDir(name, nodePaths.mirror), nodeHasDir(name, nodePaths.cache)]);
  if (env.CORTEX_MODEL_MIRROR && !mirror) {
    throw new UserError(`CORTEX_MODEL_MIRROR is set, but the kind cluster "${name}" was created without it, so pods cannot read it; run cortex cluster down, then cortex cluster up with CORTEX_MODEL_MIRROR set`);
  }
  const profile = profiles.kind({ ...(mirror ? { mirrorPath: nodePaths.mirror } : {}), ...(cache ? { cachePath: nodePaths.cache } : {}) });
  const gateway = `http://localhost:${port}`;
  const backend = new KindBackend({ kc, image: image.tag, profile, gateway, keep: options.keep });
  return { backend, description: `pods in the kind cluster "${name}" (${image.tag}${image.cached ? ', cached' : ''}; gateway ${gateway})` };
}

// The product's one runtime image (`cortex build`, the docker backend; kind and EKS later):
// tagged by the digest of its context and base, so an unchanged runtime is never rebuilt, and
// the check that says so costs a hash of the context and two image lookups.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHash } from 'node:crypto';
import type Docker from 'dockerode';
import { execa } from 'execa';
import { UserError } from '../user-error.js';
import { chooseBase, localImageId, pull, requireValidBase, type BaseImage, type PullLimits } from './base.js';
import { contextDigest, dockerfile, runtimeContext, type RuntimeContext } from './context.js';
import { cudaDockerfile, defaultCudaBases, type CudaBases } from './cuda.js';
import { connectDocker, daemonMessage, DockerUnavailable } from './docker-client.js';
import { daemonPlatformProblem } from './platform.js';
import { BuildLog, buildFailure, countBytes, type DaemonMessage, type ImageEvent } from './progress.js';

export const runtimeRepository = 'cortex-runtime';

/** This cortex's own package directory (dist/src/image → the root). */
const thisPackageRoot = fileURLToPath(new URL('../../../', import.meta.url)).replace(/\/$/, '');

export interface RuntimeImageOptions {
  docker?: Docker;
  /** Build on this image instead of choosing a base (--base). */
  base?: string;
  onEvent?: (event: ImageEvent) => void;
  /** The cortex checkout or install whose runtime goes in; this one by default. */
  packageRoot?: string;
  /** The image's repository; tests use their own so as not to disturb the product's tags. */
  repository?: string;
  /** What the user can do without Docker, appended to the errors that say it cannot be used. */
  otherwise?: string;
}

export interface RuntimeImage {
  tag: string;
  base: BaseImage;
  /** The image was already there: nothing was built. */
  cached: boolean;
  /** Hashing the context and finding the base and the image (assembling an offline base the first time counts here). */
  checkMs: number;
  /** The docker build; 0 when cached. */
  buildMs: number;
  sizeBytes: number;
}

export function runtimeImageTag(contextDigest: string, baseId: string, repository = runtimeRepository): string {
  return `${repository}:${createHash('sha256').update(`${contextDigest}\0${baseId}`).digest('hex').slice(0, 12)}`;
}

/** The runtime image for this cortex, built unless an identical one exists. */
export async function ensureRuntimeImage(options: RuntimeImageOptions = {}): Promise<RuntimeImage> {
  const started = performance.now();
  const onEvent = options.onEvent ?? (() => {});
  if (options.base !== undefined) requireValidBase(options.base);
  const docker = await connectDocker(options.docker, { otherwise: options.otherwise });
  const platform = await daemonPlatformProblem(docker, { checkLibc: options.base === undefined });
  if (platform) throw new DockerUnavailable(platform, options.otherwise);
  const context = runtimeContext(options.packageRoot ?? thisPackageRoot);
  const digest = contextDigest(context);
  const base = await chooseBase(docker, { override: options.base, nativeFiles: context.nativeFiles, onEvent });
  onEvent({ type: 'base', base });
  const tag = runtimeImageTag(digest, base.id, options.repository);
  const existing = await localImageId(docker, tag);
  const checkMs = Math.round(performance.now() - started);
  if (existing) return { tag, base, cached: true, checkMs, buildMs: 0, sizeBytes: await imageSize(docker, tag) };

  const buildStarted = performance.now();
  const text = dockerfile(base.ref, context, { 'cortex.image': 'runtime', 'cortex.context': digest.slice(0, 12), 'cortex.base': base.ref });
  const advice = base.kind === 'override' ? `check that ${base.ref} has node ≥ 20 on glibc, or leave out --base` : 'this is a bug in cortex: please report it with this output';
  await build(docker, context, text, tag, advice, onEvent);
  return { tag, base, cached: false, checkMs, buildMs: Math.round(performance.now() - buildStarted), sizeBytes: await imageSize(docker, tag) };
}

async function imageSize(docker: Docker, tag: string): Promise<number> {
  return (await docker.getImage(tag).inspect()).Size;
}

async function build(docker: Docker, context: RuntimeContext, text: string, tag: string, advice: string, onEvent: (event: ImageEvent) => void, what = 'the runtime image'): Promise<void> {
  const staging = mkdtempSync(join(tmpdir(), 'cortex-context-'));
  try {
    writeFileSync(join(staging, 'Dockerfile'), text);
    for (const file of context.generated) {
      mkdirSync(dirname(join(staging, file.path)), { recursive: true });
      writeFileSync(join(staging, file.path), file.content);
    }
    const tar = packContext(context, staging);
    const packed = tar.catch((err: { stderr?: string; message: string }) => {
      throw new UserError(`packing ${what}'s files failed: ${err.stderr?.trim() || err.message}`);
    });
    const total = context.files.reduce((sum, f) => sum + f.size, 0);
    const built = docker.buildImage(tar.stdout.pipe(countBytes('context', total, onEvent)), { t: tag, rm: true, forcerm: true }).then(
      (response) => followBuild(docker, response, new BuildLog(onEvent), advice, what),
      (err: unknown) => Promise.reject(new UserError(`the daemon refused ${what} build: ${daemonMessage(err)}`)),
    );
    await Promise.all([built, packed]).catch(async (err: unknown) => {
      tar.kill();
      await packed.catch(() => {});
      throw err;
    });
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/** The context as a tar stream: the generated files from `staging`, the rest from the layout root. */
function packContext(context: RuntimeContext, staging: string) {
  // Owned by root and readable by all: the container may run as the user's own uid.
  const options = ['--create', '--file=-', '--dereference', '--owner=0', '--group=0', '--numeric-owner', '--mode=a+rX', '--null', '--verbatim-files-from', '--no-recursion'];
  const generated = ['-C', staging, 'Dockerfile', ...context.generated.map((f) => f.path)];
  return execa('tar', [...options, ...generated, '-C', context.root, '--files-from=-'], {
    input: context.files.map((f) => f.path).join('\0'),
    buffer: { stdout: false },
  });
}

function followBuild(docker: Docker, response: NodeJS.ReadableStream, log: BuildLog, advice: string, what: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    docker.modem.followProgress(
      response,
      (err: Error | null) => {
        log.end();
        if (err) log.error ??= err.message;
        if (log.error) reject(new UserError(buildFailure(log, advice, what)));
        else resolve();
      },
      (message: DaemonMessage) => log.take(message),
    );
  });
}

export const cudaRepository = 'cortex-runtime-cuda';

export interface CudaImageOptions {
  docker?: Docker;
  onEvent?: (event: ImageEvent) => void;
  packageRoot?: string;
  repository?: string;
  bases?: CudaBases;
  /** How long a pull of a base may wait for the registry (base.ts's defaults when absent). */
  pullLimits?: PullLimits;
  /** The apis that need it, for the messages. */
  apis?: readonly string[];
}

export interface CudaImage {
  tag: string;
  bases: CudaBases;
  cached: boolean;
  checkMs: number;
  buildMs: number;
  sizeBytes: number;
}

/** The CUDA image could not be built here: one line saying why and what to do instead. */
export class CudaImageUnavailable extends UserError {
  override name = 'CudaImageUnavailable';
}

const cudaPullLimits: PullLimits = { firstAnswerMs: 30_000, idleMs: 60_000 };

/**
 * The CUDA variant of the runtime image (cuda.ts's Dockerfile, for apis with compute.gpu > 0),
 * built unless an identical one exists: tagged by the context, both bases' image IDs and the
 * Dockerfile. Its bases (NVIDIA's CUDA runtime, the official Node image) come from Docker Hub and
 * its CUDA provider libraries from NuGet while it builds; where either cannot be reached it is one
 * line that says so, before anything is built.
 */
export async function ensureCudaImage(options: CudaImageOptions = {}): Promise<CudaImage> {
  const started = performance.now();
  const onEvent = options.onEvent ?? (() => {});
  const forApis = options.apis?.length ? ` (for ${options.apis.join(', ')}, compute.gpu > 0)` : '';
  const instead = 'or pass --cuda-image with a CUDA runtime image the cluster can pull';
  const docker = await connectDocker(options.docker, { otherwise: instead });
  // onnxruntime-node has CUDA provider libraries for linux-x64 only: that is what the image holds.
  const context = runtimeContext(options.packageRoot ?? thisPackageRoot, 'linux-x64');
  const digest = contextDigest(context);
  const bases = options.bases ?? defaultCudaBases();
  const ids: string[] = [];
  for (const ref of [bases.cuda, bases.node]) {
    let id = await localImageId(docker, ref);
    if (!id) {
      onEvent({ type: 'step', text: `pulling ${ref} for the CUDA runtime image` });
      const failed = await pull(docker, ref, options.pullLimits ?? cudaPullLimits, onEvent).then(
        () => undefined,
        (err: Error) => err.message,
      );
      if (failed !== undefined) {
        throw new CudaImageUnavailable(
          `the CUDA runtime image${forApis} cannot be built here: pulling ${ref} failed (${failed}); it needs Docker Hub for its bases and NuGet for onnxruntime's CUDA libraries while it builds: run cortex deploy where they answer, ${instead}`,
        );
      }
      id = await localImageId(docker, ref);
      if (!id) throw new Error(`${ref} is not on this machine after it was pulled`);
    }
    ids.push(id);
  }
  const tag = `${options.repository ?? cudaRepository}:${createHash('sha256').update([digest, ...ids, cudaDockerfile(context, bases)].join('\0')).digest('hex').slice(0, 12)}`;
  const checkMs = Math.round(performance.now() - started);
  if (await localImageId(docker, tag)) return { tag, bases, cached: true, checkMs, buildMs: 0, sizeBytes: await imageSize(docker, tag) };
  const buildStarted = performance.now();
  const text = cudaDockerfile(context, bases, { 'cortex.image': 'runtime-cuda', 'cortex.context': digest.slice(0, 12), 'cortex.base': bases.cuda });
  await build(docker, context, text, tag, 'check that NuGet (api.nuget.org) answers: onnxruntime-node fetches its CUDA libraries from there while the image builds', onEvent, 'the CUDA runtime image');
  return { tag, bases, cached: false, checkMs, buildMs: Math.round(performance.now() - buildStarted), sizeBytes: await imageSize(docker, tag) };
}

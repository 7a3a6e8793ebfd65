// Models and label files named by URL or path. A URL is looked up, in order, in the offline
// mirror (CORTEX_MODEL_MIRROR/<basename>), in the cache (CORTEX_CACHE_DIR), and only then
// downloaded into the cache, so a machine without network can still serve.
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { basename, isAbsolute, join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';

export interface AssetSettings {
  /** Relative paths resolve against this (the api's folder). */
  baseDir: string;
  cacheDir: string;
  mirrorDir?: string;
  downloadTimeoutMs: number;
}

const inFlight = new Map<string, Promise<string>>();

function isRemote(source: string): boolean {
  return /^https?:\/\//i.test(source);
}

export function urlBasename(url: string): string {
  return basename(new URL(url).pathname) || 'index';
}

export function cachePath(url: string, cacheDir: string): string {
  const digest = createHash('sha256').update(url).digest('hex').slice(0, 16);
  return join(cacheDir, `${digest}-${urlBasename(url)}`);
}

/** The local file for `source`, downloading it if it is a URL found in neither mirror nor cache. */
export async function resolveAsset(source: string, settings: AssetSettings): Promise<string> {
  if (source.startsWith('file:')) return requireFile(fileURLToPath(source), source);
  if (!isRemote(source)) return requireFile(isAbsolute(source) ? source : resolve(settings.baseDir, source), source);

  if (settings.mirrorDir) {
    const mirrored = join(resolve(settings.mirrorDir), urlBasename(source));
    if (existsSync(mirrored)) return mirrored;
  }
  const cached = cachePath(source, settings.cacheDir);
  if (existsSync(cached)) return cached;

  let download = inFlight.get(cached);
  if (!download) {
    download = downloadTo(source, cached, settings).finally(() => inFlight.delete(cached));
    inFlight.set(cached, download);
  }
  return download;
}

function requireFile(path: string, source: string): string {
  if (!existsSync(path)) throw new Error(`file not found: ${path}${path === source ? '' : ` (from "${source}")`}`);
  return path;
}

async function downloadTo(url: string, dest: string, settings: AssetSettings): Promise<string> {
  const tmp = `${dest}.${process.pid}.part`;
  try {
    await mkdir(settings.cacheDir, { recursive: true });
    const res = await fetch(url, { signal: AbortSignal.timeout(settings.downloadTimeoutMs) });
    if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
    await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), createWriteStream(tmp));
    await rename(tmp, dest);
    return dest;
  } catch (err) {
    await rm(tmp, { force: true });
    const cause = (err as { cause?: { message?: string } }).cause?.message ?? (err as Error).message;
    const mirrorHint = settings.mirrorDir
      ? `${join(resolve(settings.mirrorDir), urlBasename(url))}`
      : `$CORTEX_MODEL_MIRROR/${urlBasename(url)} (set CORTEX_MODEL_MIRROR=DIR)`;
    throw new Error(`could not download ${url} (${cause}); without network, put the file at ${mirrorHint} or at ${dest}`);
  }
}

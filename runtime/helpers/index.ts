import { readFile } from 'node:fs/promises';
import type { Helpers } from '../contract.js';
import type { InferencePool } from '../inference/pool.js';
import { resolveAsset, type AssetSettings } from './assets.js';
import { fetchImage } from './fetch-image.js';
import { imageToTensor } from './image.js';
import { softmax, topK } from './math.js';

export function createHelpers(assets: AssetSettings, pool: InferencePool): Helpers {
  return {
    loadModel: async (source) => pool.load(await resolveAsset(source, assets)),
    loadJson: async (source) => JSON.parse(await readFile(await resolveAsset(source, assets), 'utf8')),
    fetchImage,
    imageToTensor,
    topK,
    softmax,
  };
}

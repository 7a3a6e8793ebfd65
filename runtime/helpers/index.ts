import { readFile } from 'node:fs/promises';
import type { Helpers, Model } from '../contract.js';
import { resolveAsset, type AssetSettings } from './assets.js';
import { fetchImage } from './fetch-image.js';
import { imageToTensor } from './image.js';
import { softmax, topK } from './math.js';

/** The helpers a predictor gets; `loadModelFile` puts a local ONNX file into the inference pool (`source`: what the predictor named). */
export function createHelpers(assets: AssetSettings, loadModelFile: (path: string, source: string) => Promise<Model>): Helpers {
  return {
    loadModel: async (source) => loadModelFile(await resolveAsset(source, assets), source),
    loadJson: async (source) => JSON.parse(await readFile(await resolveAsset(source, assets), 'utf8')),
    fetchImage,
    imageToTensor,
    topK,
    softmax,
  };
}

// The seed's predictor.py in TypeScript: MobileNetV2 (int8) from the ONNX Model Zoo,
// labels from imagenet-simple-labels. POST {"url": "…"} or the image bytes → "hot dog".
import type { Helpers, InitContext, JsonValue, Model, Sample } from 'cortex';

interface Config {
  model: string;
  labels: string;
}

let model: Model;
let labels: string[];
let helpers: Helpers;

export async function init(context: InitContext<Config>) {
  helpers = context.helpers;
  [model, labels] = await Promise.all([helpers.loadModel(context.config.model), helpers.loadJson<string[]>(context.config.labels)]);
}

export async function predict(sample: Sample) {
  const image = Buffer.isBuffer(sample) ? sample : await helpers.fetchImage(urlOf(sample));
  const input = await helpers.imageToTensor(image);
  const outputs = await model.run({ [model.inputs[0]!.name]: input });
  const [best] = helpers.topK(outputs[model.outputs[0]!.name]!.data as Float32Array, 1);
  return labels[best!.index];
}

function urlOf(sample: JsonValue): string {
  const url = typeof sample === 'object' && sample !== null && !Array.isArray(sample) ? sample.url : undefined;
  if (typeof url === 'string') return url;
  throw Object.assign(new Error('send {"url": "https://…"} as JSON, or the image bytes as image/*'), { status: 400 });
}

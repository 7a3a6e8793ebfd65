// Module hooks for ort-redirect.mjs: only the bare specifier `onnxruntime-node` is redirected.
import path from 'node:path';
import { pathToFileURL } from 'node:url';

let target;
export function initialize(data) {
  target = data.target;
}

export async function resolve(specifier, context, next) {
  if (specifier === 'onnxruntime-node' && target) return { url: pathToFileURL(path.join(target, 'dist', 'index.js')).href, format: 'commonjs', shortCircuit: true };
  return next(specifier, context);
}

// `node --import ./test/gpu/ort-redirect.mjs …`: `import 'onnxruntime-node'` resolves to the copy at
// $CORTEX_GPU_ORT (onnxruntime-node with the CUDA provider libraries beside libonnxruntime), in the
// main thread and in every worker thread (they inherit --import), so the real runtime runs on it
// while node_modules stays as it is. Used by cuda-check.mjs; without CORTEX_GPU_ORT it does nothing.
import { register } from 'node:module';

if (process.env.CORTEX_GPU_ORT) register('./ort-redirect-hooks.mjs', import.meta.url, { data: { target: process.env.CORTEX_GPU_ORT } });

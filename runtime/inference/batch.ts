// Server-side batching's tensor work, pure: which `model.run` calls can share one run, their
// inputs stacked along the first (batch) dimension, and the outputs cut back per call. The
// inference worker uses these; the pool (pool.ts) decides when a batch is full enough to run.
import type { Tensor, TensorData, ValueInfo } from '../contract.js';

/**
 * Why a model cannot be batched, or undefined when every input and output has a free first
 * dimension. A fixed first dimension (an export with batch size 1) means each run takes exactly
 * that many rows, so requests cannot share a run: refused when the model loads, with the fix.
 */
export function unbatchable(model: string, inputs: readonly ValueInfo[], outputs: readonly ValueInfo[]): string | undefined {
  for (const [kind, values] of [['input', inputs], ['output', outputs]] as const) {
    for (const v of values) {
      const shape = v.shape;
      if (!shape) continue; // not a tensor (a map or sequence): onnxruntime says so at run
      const first = shape[0];
      if (shape.length === 0 || typeof first === 'number') {
        const what = shape.length === 0 ? 'is a scalar (no batch dimension)' : `has a fixed batch dimension of ${first} (shape [${shape.join(', ')}])`;
        return `model ${model}: ${kind} "${v.name}" ${what}, so predictor.server_side_batching cannot put several requests in one run; ` +
          'export the model with a dynamic first dimension (torch.onnx.export(..., dynamic_axes={"' + v.name + '": {0: "batch"}}), ' +
          'or onnx: set that dim_param to "batch"), or remove server_side_batching from the api in cortex.yaml';
      }
    }
  }
  return undefined;
}

/** A call's feeds as a batch sees them: same names, types and trailing dimensions batch together. */
export function signature(feeds: Record<string, Tensor>, inputs: readonly ValueInfo[]): string | undefined {
  const names = Object.keys(feeds).sort();
  if (names.length !== inputs.length || names.some((n) => !inputs.some((i) => i.name === n))) return undefined;
  const parts: string[] = [];
  for (const name of names) {
    const t = feeds[name]!;
    const declared = inputs.find((i) => i.name === name)!;
    if (!Array.isArray(t.dims) || t.dims.length === 0 || !t.dims.every((d) => Number.isInteger(d) && d >= 0)) return undefined;
    if (!t.data || typeof t.data.length !== 'number' || t.data.length !== t.dims.reduce((a, b) => a * b, 1) || t.dims[0]! < 1) return undefined;
    if (declared.type && declared.type !== t.type) return undefined;
    const shape = declared.shape;
    if (shape) {
      if (shape.length !== t.dims.length) return undefined;
      // Trailing dimensions the model fixes must match; a bad one fails alone, with onnxruntime's own error.
      for (let i = 1; i < shape.length; i++) if (typeof shape[i] === 'number' && shape[i] !== t.dims[i]) return undefined;
    }
    parts.push(`${name}:${t.type}:${t.dims.slice(1).join('x')}`);
  }
  return parts.join(';');
}

/** Rows a call contributes: the first dimension of its inputs (all equal, or it runs alone). */
export function rowsOf(feeds: Record<string, Tensor>): number | undefined {
  const firsts = new Set(Object.values(feeds).map((t) => t.dims?.[0]));
  return firsts.size === 1 ? ([...firsts][0] as number) : undefined;
}

/** An array of data's type, not zeroed: stack() writes every element. */
function like(data: TensorData, length: number): TensorData {
  const Type = data.constructor as { new (buffer: ArrayBuffer): TensorData; BYTES_PER_ELEMENT: number };
  return new Type(Buffer.allocUnsafeSlow(length * Type.BYTES_PER_ELEMENT).buffer);
}

/** The calls' inputs stacked along the first dimension (same signature, so same names and trailing dims). */
export function stack(items: ReadonlyArray<Record<string, Tensor>>): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const name of Object.keys(items[0]!)) {
    const parts = items.map((f) => f[name]!);
    const total = parts.reduce((n, t) => n + t.data.length, 0);
    const data = like(parts[0]!.data, total);
    let at = 0;
    for (const t of parts) {
      (data as Float32Array).set(t.data as Float32Array, at);
      at += t.data.length;
    }
    out[name] = { type: parts[0]!.type, data, dims: [parts.reduce((n, t) => n + t.dims[0]!, 0), ...parts[0]!.dims.slice(1)] };
  }
  return out;
}

/**
 * The batched outputs cut back per call, `rows[i]` rows each, each a copy that owns its buffer
 * (so it can move to the caller's thread). Undefined when an output's first dimension is not
 * the batch (the model does not batch that way): the caller then runs the calls one by one.
 */
export function split(outputs: Record<string, Tensor>, rows: readonly number[]): Array<Record<string, Tensor>> | undefined {
  const total = rows.reduce((a, b) => a + b, 0);
  const each: Array<Record<string, Tensor>> = rows.map(() => ({}));
  for (const [name, t] of Object.entries(outputs)) {
    if (t.dims.length === 0 || t.dims[0] !== total || t.data.length % total !== 0) return undefined;
    const perRow = t.data.length / total;
    let at = 0;
    rows.forEach((r, i) => {
      each[i]![name] = { type: t.type, data: t.data.slice(at * perRow, (at + r) * perRow), dims: [r, ...t.dims.slice(1)] };
      at += r;
    });
  }
  return each;
}

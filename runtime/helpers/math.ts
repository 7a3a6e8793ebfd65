// NaN compares false with everything, which would let it take any place in the ranking; it
// ranks below every number instead, so one bad score cannot come out on top.
const above = (a: number, b: number) => a > b || (Number.isNaN(b) && !Number.isNaN(a));

export function topK(scores: ArrayLike<number>, k: number): Array<{ index: number; score: number }> {
  if (!Number.isInteger(k) || k < 0) throw new RangeError(`topK: k must be an integer ≥ 0, got ${k}`);
  const best: Array<{ index: number; score: number }> = [];
  if (k === 0) return best;
  for (let index = 0; index < scores.length; index++) {
    const score = scores[index]!;
    if (best.length === k && !above(score, best[k - 1]!.score)) continue;
    let at = best.length;
    while (at > 0 && above(score, best[at - 1]!.score)) at--;
    best.splice(at, 0, { index, score });
    if (best.length > k) best.pop();
  }
  return best;
}

export function softmax(logits: ArrayLike<number>): Float32Array {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]!);
  const out = new Float32Array(logits.length);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += out[i] = Math.exp(logits[i]! - max);
  for (let i = 0; i < out.length; i++) out[i] = out[i]! / sum;
  return out;
}

// What an embedded ICC profile says it is, read from its own bytes (ICC.1: a 128-byte header,
// then a tag table): the image helpers skip the colour transform of a profile that is sRGB,
// since transforming sRGB into sRGB gives back the same pixels at two to three times the cost
// of the whole decode.

/** The profile's description ('desc' tag: v2 textDescriptionType or v4 multiLocalizedUnicode), if it has one. */
export function iccDescription(icc: Uint8Array): string | undefined {
  if (icc.byteLength < 132) return undefined;
  const view = new DataView(icc.buffer, icc.byteOffset, icc.byteLength);
  const tag = (at: number) => String.fromCharCode(icc[at]!, icc[at + 1]!, icc[at + 2]!, icc[at + 3]!);
  const count = view.getUint32(128);
  for (let i = 0; i < count && 132 + 12 * (i + 1) <= icc.byteLength; i++) {
    const entry = 132 + 12 * i;
    if (tag(entry) !== 'desc') continue;
    const offset = view.getUint32(entry + 4);
    const size = view.getUint32(entry + 8);
    if (offset + size > icc.byteLength || size < 12) return undefined;
    const type = tag(offset);
    if (type === 'desc') {
      const length = view.getUint32(offset + 8);
      if (offset + 12 + length > icc.byteLength) return undefined;
      return Buffer.from(icc.subarray(offset + 12, offset + 12 + length)).toString('latin1').replace(/\0+$/, '');
    }
    if (type === 'mluc' && size >= 28) {
      const records = view.getUint32(offset + 8);
      if (records < 1) return undefined;
      const length = view.getUint32(offset + 20);
      const start = offset + view.getUint32(offset + 24);
      if (start + length > icc.byteLength) return undefined;
      let text = '';
      for (let k = 0; k + 1 < length; k += 2) text += String.fromCharCode(view.getUint16(start + k));
      return text.replace(/\0+$/, '');
    }
    return undefined;
  }
  return undefined;
}

/**
 * An RGB display profile that names itself sRGB ("sRGB IEC61966-2.1", "sRGB built-in", …).
 * Any other profile (Display P3, Adobe RGB, a camera's own) is transformed as before.
 */
export function isSrgbProfile(icc: Uint8Array | undefined): boolean {
  if (!icc || icc.byteLength < 132) return false;
  const colourSpace = String.fromCharCode(icc[16]!, icc[17]!, icc[18]!, icc[19]!);
  if (colourSpace !== 'RGB ') return false;
  return /\bsRGB\b/.test(iccDescription(icc) ?? '');
}

/**
 * A matrix/TRC RGB profile (Adobe RGB, Display P3, ProPhoto, most camera profiles) as what
 * converting it to sRGB needs: a curve per channel to linear light, and one 3×3 matrix from its
 * linear RGB to sRGB's (through the D50 connection space). Undefined for anything else (LUT-based
 * profiles, grey, CMYK), which sharp's colour management still handles.
 */
export interface MatrixShaper {
  /** 256 entries per channel: the 8-bit value in linear light. */
  linear: [Float32Array, Float32Array, Float32Array];
  /** Row-major: sRGB linear = matrix × profile linear. */
  matrix: number[];
}

// XYZ (D50, as ICC's connection space is) → linear sRGB, Bradford-adapted: what lcms' own sRGB profile inverts to.
const xyzD50ToSrgb = [3.1338561, -1.6168667, -0.4906146, -0.9787684, 1.9161415, 0.033454, 0.0719453, -0.2289914, 1.4052427];

export function matrixShaper(icc: Uint8Array | undefined): MatrixShaper | undefined {
  if (!icc || icc.byteLength < 132) return undefined;
  const view = new DataView(icc.buffer, icc.byteOffset, icc.byteLength);
  const sig = (at: number) => String.fromCharCode(icc[at]!, icc[at + 1]!, icc[at + 2]!, icc[at + 3]!);
  if (sig(16) !== 'RGB ' || sig(20) !== 'XYZ ') return undefined;
  const tags = new Map<string, { offset: number; size: number }>();
  const count = view.getUint32(128);
  for (let i = 0; i < count && 132 + 12 * (i + 1) <= icc.byteLength; i++) {
    const entry = 132 + 12 * i;
    const offset = view.getUint32(entry + 4);
    const size = view.getUint32(entry + 8);
    if (offset + size <= icc.byteLength) tags.set(sig(entry), { offset, size });
  }
  // A profile with LUTs says how to convert in them, and they win over the matrix: leave it to lcms.
  if (tags.has('A2B0') || tags.has('A2B1') || tags.has('A2B2')) return undefined;
  const s15 = (at: number) => view.getInt32(at) / 65536;
  const xyz = (name: string): number[] | undefined => {
    const t = tags.get(name);
    if (!t || t.size < 20 || sig(t.offset) !== 'XYZ ') return undefined;
    return [s15(t.offset + 8), s15(t.offset + 12), s15(t.offset + 16)];
  };
  const curve = (name: string): Float32Array | undefined => {
    const t = tags.get(name);
    if (!t || t.size < 12) return undefined;
    const type = sig(t.offset);
    const out = new Float32Array(256);
    if (type === 'curv') {
      const n = view.getUint32(t.offset + 8);
      if (t.size < 12 + 2 * n) return undefined;
      if (n === 0) for (let v = 0; v < 256; v++) out[v] = v / 255;
      else if (n === 1) {
        const gamma = view.getUint16(t.offset + 12) / 256;
        for (let v = 0; v < 256; v++) out[v] = (v / 255) ** gamma;
      } else {
        for (let v = 0; v < 256; v++) {
          const x = (v / 255) * (n - 1);
          const i = Math.min(n - 2, Math.floor(x));
          const a = view.getUint16(t.offset + 12 + 2 * i) / 65535;
          const b = view.getUint16(t.offset + 14 + 2 * i) / 65535;
          out[v] = a + (b - a) * (x - i);
        }
      }
      return out;
    }
    if (type === 'para') {
      const fn = view.getUint16(t.offset + 8);
      const want = [1, 3, 4, 5, 7][fn];
      if (want === undefined || t.size < 12 + 4 * want) return undefined;
      const [g = 1, a = 1, b = 0, c = 0, d = 0, e = 0, f = 0] = Array.from({ length: want }, (_, k) => s15(t.offset + 12 + 4 * k));
      for (let v = 0; v < 256; v++) {
        const x = v / 255;
        let y: number;
        if (fn === 0) y = x ** g;
        else if (fn === 1) y = x >= -b / a ? (a * x + b) ** g : 0;
        else if (fn === 2) y = x >= -b / a ? (a * x + b) ** g + c : c;
        else if (fn === 3) y = x >= d ? (a * x + b) ** g : c * x;
        else y = x >= d ? (a * x + b) ** g + e : c * x + f;
        out[v] = Math.min(1, Math.max(0, y));
      }
      return out;
    }
    return undefined;
  };
  const [r, g, b] = [xyz('rXYZ'), xyz('gXYZ'), xyz('bXYZ')];
  const curves = [curve('rTRC'), curve('gTRC'), curve('bTRC')];
  if (!r || !g || !b || curves.some((c) => !c)) return undefined;
  // Profile linear RGB → XYZ: the colorants are its columns.
  const toXyz = [r[0]!, g[0]!, b[0]!, r[1]!, g[1]!, b[1]!, r[2]!, g[2]!, b[2]!];
  const matrix: number[] = [];
  for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) matrix.push(xyzD50ToSrgb[3 * i]! * toXyz[j]! + xyzD50ToSrgb[3 * i + 1]! * toXyz[3 + j]! + xyzD50ToSrgb[3 * i + 2]! * toXyz[6 + j]!);
  return { linear: curves as [Float32Array, Float32Array, Float32Array], matrix };
}

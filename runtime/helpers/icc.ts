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

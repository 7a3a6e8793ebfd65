// The image helpers' WebAssembly (planes.wat, srgb.wat) is shipped as base64 in a TypeScript
// module and instantiated once per thread that uses it, synchronously: the modules are a few
// hundred bytes, and each thread that runs predictors has its own.

// What is used of the WebAssembly global, which this project's type libraries (ES2023, Node's) do not declare.
interface WebAssemblyApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: unknown };
}

/** The module's exports, or null where this Node has no WebAssembly (--jitless). */
export function instantiate<Exports extends { memory: { buffer: ArrayBuffer } }>(base64: string): Exports | null {
  const api = (globalThis as { WebAssembly?: WebAssemblyApi }).WebAssembly;
  if (!api) return null;
  return new api.Instance(new api.Module(Buffer.from(base64, 'base64'))).exports as Exports;
}

// The image helpers' WebAssembly (planes.wat, srgb.wat) is shipped as base64 in a TypeScript
// module and instantiated once per thread that uses it, synchronously: the modules are a few
// hundred bytes, and each thread that runs predictors has its own.

// What is used of the WebAssembly global, which this project's type libraries (ES2023, Node's) do not declare.
interface WebAssemblyApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: unknown };
}

/**
 * A getter for this thread's instance of the module, made on first use: what `make` builds from
 * its exports (views into its memory, tables written there), or null where this Node has no
 * WebAssembly (--jitless), which is remembered too.
 */
export function perThread<Exports extends { memory: { buffer: ArrayBuffer } }, Instance>(base64: string, make: (exports: Exports) => Instance): () => Instance | null {
  let made: Instance | null | undefined;
  return () => {
    if (made !== undefined) return made;
    const api = (globalThis as { WebAssembly?: WebAssemblyApi }).WebAssembly;
    return (made = api ? make(new api.Instance(new api.Module(Buffer.from(base64, 'base64'))).exports as Exports) : null);
  };
}

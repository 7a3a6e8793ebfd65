// The runtime's WebAssembly is written as text (runtime/helpers/*.wat) and shipped as a TypeScript
// module of its bytes, so neither the runtime nor its image needs an assembler. This assembles the
// text with wabt; test/planes.test.ts checks that the shipped bytes are the text's, and
// `npm run wasm` writes them again after an edit.
import { readFile, writeFile } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import wabt from 'wabt';

export async function assemble(watFile: string): Promise<Uint8Array> {
  const module = (await wabt()).parseWat(basename(watFile), await readFile(watFile, 'utf8'));
  try {
    module.validate();
    return module.toBinary({}).buffer;
  } finally {
    module.destroy();
  }
}

/** The TypeScript module for `watFile`'s bytes: the same name with -wasm.ts for .wat. */
export function moduleFor(watFile: string, bytes: Uint8Array): { file: string; text: string } {
  const name = basename(watFile, '.wat');
  const exported = `${name.replace(/-(\w)/g, (_, c: string) => c.toUpperCase())}Wasm`;
  const text = `// Generated from ${name}.wat by \`npm run wasm\`; edit the .wat, not this.\nexport const ${exported} = '${Buffer.from(bytes).toString('base64')}';\n`;
  return { file: watFile.replace(/\.wat$/, '-wasm.ts'), text };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  for (const wat of process.argv.slice(2)) {
    const { file, text } = moduleFor(resolve(wat), await assemble(resolve(wat)));
    await writeFile(file, text);
    console.log(`wrote ${file}`);
  }
}

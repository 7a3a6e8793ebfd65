#!/usr/bin/env node
// Thin launcher for the compiled CLI (npm ci builds it through the "prepare" script).
import { existsSync } from 'node:fs';

const main = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(main)) {
  console.error('cortex: not built yet; run `npm run build` in the cortex folder');
  process.exit(2);
}
await import(main.href);

// How `npm ci` stays offline-safe: onnxruntime-node's postinstall downloads CUDA provider
// libraries from NuGet on linux/x64 (node_modules/onnxruntime-node/script/install.js) and fails
// the install where NuGet cannot be reached. package.json's allowScripts denies that one script
// (npm ≥ 11 honours it); older npm is told to set ONNXRUNTIME_NODE_INSTALL=skip, which the
// script reads itself. Neither makes npm warn on every call, as an unknown .npmrc key did.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { execa } from 'execa';
import { repoRoot } from './helpers/shared.js';

const readJson = async (file: string) => JSON.parse(await readFile(join(repoRoot, file), 'utf8')) as Record<string, unknown>;

test('npm reads this project\'s config without a warning', async (t) => {
  const r = await execa('npm', ['pkg', 'get', 'name'], { cwd: repoRoot, reject: false });
  t.is(r.exitCode, 0, r.stderr);
  t.notRegex(r.stderr, /Unknown project config/);
  t.is(r.stdout.trim(), '"cortex"');
});

test('every dependency with an install script has a decision in allowScripts; onnxruntime-node\'s is no', async (t) => {
  const pkg = await readJson('package.json');
  const policy = pkg.allowScripts as Record<string, boolean>;
  t.is(policy['onnxruntime-node'], false);
  const lock = await readJson('package-lock.json');
  const withScripts = Object.entries(lock.packages as Record<string, { hasInstallScript?: boolean }>)
    .filter(([where, entry]) => where !== '' && entry.hasInstallScript)
    .map(([where]) => where.slice(where.lastIndexOf('node_modules/') + 'node_modules/'.length));
  t.true(withScripts.includes('onnxruntime-node'));
  // Unreviewed scripts print a notice at each install (npm 11) or are skipped (npm 12, which would break esbuild).
  for (const name of withScripts) t.true(typeof policy[name] === 'boolean', `allowScripts has no entry for ${name}`);
});

test('the fallback for older npm: ONNXRUNTIME_NODE_INSTALL=skip ends the script before any download', async (t) => {
  const script = join(repoRoot, 'node_modules/onnxruntime-node/script/install.js');
  // An address that cannot answer: were a download tried, it would fail, not hang.
  const r = await execa(process.execPath, [script], {
    env: { ONNXRUNTIME_NODE_INSTALL: 'skip', GLOBAL_AGENT_HTTPS_PROXY: 'http://127.0.0.1:9' },
    reject: false,
    timeout: 30_000,
  });
  t.is(r.exitCode, 0, r.stderr);
  t.notRegex(`${r.stdout}${r.stderr}`, /Downloading|nuget/i);
});

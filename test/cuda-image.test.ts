// The CUDA variant's Dockerfile, as text (no registry here to build it): its steps in order, the
// installer switch onnxruntime-node really reads, and its library check run for real by sh.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { runtimeContext } from '../src/image/context.js';
import { cudaBase, cudaDockerfile, defaultCudaBases, ortCudaInstall, ortPackageDir } from '../src/image/cuda.js';
import { repoRoot } from './helpers/shared.js';

const context = {
  files: [
    { path: 'dist/runtime/main.js', source: '', size: 0 },
    { path: 'node_modules/onnxruntime-node/package.json', source: '', size: 0 },
    { path: 'node_modules/sharp/package.json', source: '', size: 0 },
  ],
  generated: [{ path: 'package.json', content: '{}' }],
  workdir: '/app',
  entry: '/app/dist/runtime/main.js',
};
const bases = { cuda: cudaBase, node: 'node:20-bookworm-slim' };
const text = cudaDockerfile(context, bases, { 'cortex.dev/variant': 'cuda' });
const instructions = text.split('\n').filter((l) => l && !l.startsWith('#'));
const ortLib = '/app/node_modules/onnxruntime-node/bin/napi-v6/linux/x64';

const steps: Array<[string, string | RegExp]> = [
  ['Node comes from the official image of the same major', 'FROM node:20-bookworm-slim AS node'],
  ['on NVIDIA\'s CUDA 13 + cuDNN 9 runtime (onnxruntime 1.30\'s NuGet GPU package is a CUDA 13 build)', 'FROM nvidia/cuda:13.0.1-cudnn-runtime-ubuntu24.04'],
  ['the node binary is copied from it', 'COPY --from=node /usr/local/bin/node /usr/local/bin/node'],
  ['production mode', 'ENV NODE_ENV=production'],
  ['the dependencies first', 'COPY node_modules /app/node_modules'],
  ['onnxruntime-node\'s installer fetches the CUDA provider libraries (its legacy v12 switch)', 'RUN cd /app/node_modules/onnxruntime-node && ONNXRUNTIME_NODE_INSTALL_CUDA=v12 node script/install.js'],
  ['the provider\'s libraries are checked with ldd, libcuda.so.1 aside', new RegExp(`^RUN set -e; cd ${ortLib}; .*ldd libonnxruntime_providers_cuda\\.so \\| grep 'not found' \\| grep -v 'libcuda\\\\\\.so\\\\\\.1'`)],
  ['then the runtime', 'COPY dist /app/dist'],
  ['and its package.json', 'COPY package.json /app/package.json'],
  ['in its folder', 'WORKDIR /app'],
  ['the native modules load on this base', `RUN ["node", "-e", "require('onnxruntime-node'); require('sharp')"]`],
  ['not root, by number', 'USER 1000:1000'],
  ['a writable home', 'ENV HOME=/tmp'],
  ['cuda first by default', 'ENV CORTEX_EXECUTION_PROVIDERS=cuda,cpu'],
  ['the runtime\'s port', 'EXPOSE 8080'],
  ['the runtime', 'ENTRYPOINT ["node", "/app/dist/runtime/main.js"]'],
  ['labels last', 'LABEL cortex.dev/variant="cuda"'],
];
test('the CUDA Dockerfile has these steps, in this order, and no other', (t) => {
  t.is(instructions.length, steps.length, text);
  steps.forEach(([why, want], i) => {
    if (typeof want === 'string') t.is(instructions[i], want, why);
    else t.regex(instructions[i]!, want, why);
  });
});

test('the default bases: NVIDIA\'s CUDA 13.0 + cuDNN runtime, and the Node image of the Node running cortex', (t) => {
  t.deepEqual(defaultCudaBases('20.20.2'), { cuda: 'nvidia/cuda:13.0.1-cudnn-runtime-ubuntu24.04', node: 'node:20-bookworm-slim' });
  t.regex(cudaDockerfile(context), new RegExp(`^FROM node:${process.versions.node.split('.')[0]}-bookworm-slim AS node$`, 'm'));
});

test('only linux-x64, and only with onnxruntime-node in the context: otherwise one line that says why', (t) => {
  t.throws(() => cudaDockerfile(context, bases, {}, 'linux-arm64'), { message: /for linux-x64 only \(onnxruntime-node has CUDA provider libraries for no other platform\), not linux-arm64/ });
  t.throws(() => cudaDockerfile({ ...context, files: context.files.filter((f) => !f.path.includes('onnxruntime')) }, bases), { message: /no onnxruntime-node: run npm ci/ });
});

test('onnxruntime-node is found wherever the real context puts it', (t) => {
  const real = runtimeContext(repoRoot);
  const dir = ortPackageDir(real.files);
  t.regex(dir, /^\/app\/(?:.*\/)?node_modules\/onnxruntime-node$/);
  t.true(cudaDockerfile(real, bases).includes(`RUN cd ${dir} && ${ortCudaInstall} node script/install.js`));
});

test('the installer switch is the one onnxruntime-node reads: v12 means its cuda12 manifest (a legacy name: it downloads the NuGet package of its exact version)', (t) => {
  // script/install-utils.js of the installed version, asked directly (no download happens).
  const require = createRequire(join(repoRoot, 'package.json'));
  const { parseInstallFlag } = require('onnxruntime-node/script/install-utils.js') as { parseInstallFlag(): unknown };
  const saved = { ...process.env };
  try {
    delete process.env.ONNXRUNTIME_NODE_INSTALL;
    delete process.env.npm_config_onnxruntime_node_install;
    delete process.env.npm_config_onnxruntime_node_install_cuda;
    process.env.ONNXRUNTIME_NODE_INSTALL_CUDA = ortCudaInstall.split('=')[1];
    t.is(parseInstallFlag(), 'cuda12');
    // The newer spelling with a name is dropped by this version's parser (left to "install if missing").
    delete process.env.ONNXRUNTIME_NODE_INSTALL_CUDA;
    process.env.ONNXRUNTIME_NODE_INSTALL = 'cuda12';
    t.is(parseInstallFlag(), undefined);
  } finally {
    for (const key of ['ONNXRUNTIME_NODE_INSTALL', 'ONNXRUNTIME_NODE_INSTALL_CUDA']) if (saved[key] === undefined) delete process.env[key];
    else process.env[key] = saved[key];
  }
  const metadata = require('onnxruntime-node/script/install-metadata.js') as {
    requirements: Record<string, string[]>;
    manifests: Record<string, Record<string, unknown>>;
    packages: Record<string, { name: string; versions: Array<{ feed: string; version: string }> }>;
    feeds: Record<string, { index: string }>;
  };
  t.deepEqual(metadata.requirements['linux/x64'], ['cuda12']);
  t.deepEqual(Object.keys(metadata.manifests['linux/x64:cuda12']!).sort(), ['./libonnxruntime_providers_cuda.so', './libonnxruntime_providers_shared.so', './libonnxruntime_providers_tensorrt.so']);
  // What decides the base: the "cuda12" manifest is nuget.org's default GPU package of this exact
  // version, and from onnxruntime 1.27 on that package is a CUDA 13 build (the CUDA 12 ones are on a
  // feed the installer does not read). Should the installer ever name another feed or package, the
  // base must be chosen again.
  const { version } = require('onnxruntime-node/package.json') as { version: string };
  t.deepEqual(metadata.packages['nuget:linux/x64:cuda12'], { name: 'Microsoft.ML.OnnxRuntime.Gpu.Linux', versions: [{ feed: 'nuget', version }] });
  t.is(metadata.feeds.nuget!.index, 'https://api.nuget.org/v3/index.json');
  const [major, minor] = version.split('.').map(Number) as [number, number];
  t.true(major > 1 || minor >= 27, `onnxruntime-node ${version}`);
  t.regex(cudaBase, /^nvidia\/cuda:13\.0\.\d+-cudnn-runtime-/);
});

/** The Dockerfile's library check, run by sh on `dir` in place of the image's folder. */
function libraryCheck(dir: string, env: NodeJS.ProcessEnv = process.env) {
  const run = instructions.find((l) => l.startsWith('RUN set -e;'))!.slice('RUN '.length).replace(ortLib, dir);
  const result = spawnSync('sh', ['-c', run], { encoding: 'utf8', env });
  return { code: result.status, stderr: result.stderr.trim() };
}

test('the library check fails the build when the installer left a library out, or one the provider links is missing', (t) => {
  const ort = join(repoRoot, 'node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1');
  const dir = mkdtempSync(join(tmpdir(), 'cortex-cuda-check-'));
  t.deepEqual(libraryCheck(dir), { code: 1, stderr: "onnxruntime-node's installer did not install libonnxruntime_providers_cuda.so" });
  // Libraries that load (libonnxruntime itself stands in): the check passes.
  copyFileSync(ort, join(dir, 'libonnxruntime_providers_cuda.so'));
  copyFileSync(ort, join(dir, 'libonnxruntime_providers_shared.so'));
  t.deepEqual(libraryCheck(dir), { code: 0, stderr: '' });
  // A library linking one that is not there (built here, then removed): named by the loader.
  writeFileSync(join(dir, 'stub.c'), 'int stub(void) { return 0; }\n');
  const cc = (args: string[]) => spawnSync('cc', args, { encoding: 'utf8' });
  const made = cc(['-shared', '-fPIC', '-o', join(dir, 'libnotthere.so'), join(dir, 'stub.c')]);
  if (made.status !== 0) return t.log(`no C compiler to make a library with a missing dependency: ${made.stderr || made.error}`);
  t.is(cc(['-shared', '-fPIC', '-o', join(dir, 'libonnxruntime_providers_cuda.so'), join(dir, 'stub.c'), `-L${dir}`, '-Wl,--no-as-needed', '-lnotthere']).status, 0);
  rmSync(join(dir, 'libnotthere.so'));
  const check = libraryCheck(dir);
  t.is(check.code, 1);
  t.regex(check.stderr, /^libonnxruntime_providers_cuda\.so cannot load here: \s*libnotthere\.so => not found$/);
});

// The GPU check's copy of the real CUDA provider library (PyPI's onnxruntime-gpu), where it exists.
const gpuCache = join(process.env.CORTEX_GPU_CACHE ?? join(homedir(), '.cache', 'cortex-gpu'));
const pypiLibs = existsSync(gpuCache) ? readdirSync(gpuCache).map((d) => join(gpuCache, d, 'node_modules/onnxruntime-node/bin/napi-v6/linux/x64')).find((d) => existsSync(join(d, 'libonnxruntime_providers_cuda.so'))) : undefined;
(pypiLibs ? test : test.skip)('on the real CUDA provider library: the CUDA libraries missing fail it by name; with them only libcuda.so.1 is missing, which passes', (t) => {
  const without = libraryCheck(pypiLibs!, { ...process.env, LD_LIBRARY_PATH: '' });
  t.is(without.code, 1);
  t.regex(without.stderr, /^libonnxruntime_providers_cuda\.so cannot load here: .*libcublasLt\.so\.\d+ => not found/s);
  const wheels = execFileSync('sh', ['-c', `find ${join(pypiLibs!, '../../../../../../python/nvidia')} -name '*.so*' -printf '%h\\n' | sort -u | tr '\\n' ':'`], { encoding: 'utf8' });
  t.deepEqual(libraryCheck(pypiLibs!, { ...process.env, LD_LIBRARY_PATH: wheels }), { code: 0, stderr: '' });
});

// The CUDA variant's build path against the real Docker daemon. Here no registry answers, so with
// its real bases it stops before building, in one line that names the base, what it needs and what
// to do instead; with stand-in bases that are on this machine, the daemon really builds the CUDA
// Dockerfile, up to the step that fetches onnxruntime's CUDA libraries, and the failure names it.
import test from 'ava';
import Docker from 'dockerode';
import { CudaImageUnavailable, ensureCudaImage, ensureRuntimeImage, type ImageEvent } from '../src/image/index.js';
import { dockerTest } from './helpers/docker.js';

// Where Docker Hub answers, the first test would pull NVIDIA's CUDA base (gigabytes): say so to skip it.
const offlineTest: typeof dockerTest = process.env.CORTEX_REGISTRY_REACHABLE === '1' ? (title, implementation) => test.skip(title, implementation) : dockerTest;

offlineTest('the CUDA image with its real bases and no registry: one line naming the base, what it needs and the way out', async (t) => {
  const started = Date.now();
  const events: ImageEvent[] = [];
  const error = await t.throwsAsync(ensureCudaImage({ apis: ['gpu-classifier'], repository: 'cortex-test-cuda', onEvent: (e) => events.push(e), pullLimits: { firstAnswerMs: 20_000, idleMs: 20_000 } }), { instanceOf: CudaImageUnavailable });
  t.log(`${Date.now() - started} ms: ${error.message}`);
  t.false(error.message.includes('\n'), 'one line');
  t.regex(
    error.message,
    /^the CUDA runtime image \(for gpu-classifier, compute\.gpu > 0\) cannot be built here: pulling nvidia\/cuda:13\.0\.1-cudnn-runtime-ubuntu24\.04 failed \(.+\); it needs Docker Hub for its bases and NuGet for onnxruntime's CUDA libraries while it builds: run cortex deploy where they answer, or pass --cuda-image with a CUDA runtime image the cluster can pull$/,
  );
  t.deepEqual(events[0], { type: 'step', text: 'pulling nvidia/cuda:13.0.1-cudnn-runtime-ubuntu24.04 for the CUDA runtime image' });
});

dockerTest('the CUDA Dockerfile built by the daemon on stand-in bases: the context goes in, and the build stops at the CUDA library step, named', async (t) => {
  t.timeout(10 * 60_000, 'a cold runtime image build comes first where no earlier test made it');
  // The runtime image has node at /usr/local/bin/node, as the official Node image does, but no shell: the RUN that
  // fetches the CUDA libraries is where a build without NuGet (or, here, without /bin/sh) stops.
  const { tag: standIn } = await ensureRuntimeImage();
  const events: ImageEvent[] = [];
  const error = await t.throwsAsync(ensureCudaImage({ bases: { cuda: standIn, node: standIn }, repository: 'cortex-test-cuda', onEvent: (e) => events.push(e) }));
  t.log(error.message.split('\n')[0]);
  t.regex(error.message, /^the CUDA runtime image build failed at "Step \d+\/\d+ : RUN cd \/app\/.*node_modules\/onnxruntime-node && ONNXRUNTIME_NODE_INSTALL_CUDA=v12 node script\/install\.js": .*; check that NuGet \(api\.nuget\.org\) answers/);
  const steps = events.filter((e): e is Extract<ImageEvent, { type: 'step' }> => e.type === 'step').map((e) => e.text);
  t.regex(steps[0]!, new RegExp(`^Step 1/\\d+ : FROM ${standIn} AS node$`));
  t.true(steps.some((s) => /COPY --from=node \/usr\/local\/bin\/node \/usr\/local\/bin\/node/.test(s)), steps.join('\n'));
  t.true(events.some((e) => e.type === 'bytes' && e.what === 'context' && e.done === e.total), 'the context was sent');
  // Nothing was tagged.
  t.deepEqual((await new Docker().listImages({ filters: { reference: ['cortex-test-cuda'] } })).length, 0);
});

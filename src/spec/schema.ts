// The shape of one cortex.yaml item. Every field states its whole rule once (e.g. "an integer
// ≥ 1") as the zod error of each of its checks, so whichever check fails, errors.ts can say
// "<field> must be <rule>, got <value>" instead of zod's generic wording.
import path from 'node:path';
import { z } from 'zod';
import type { JsonValue } from '../../runtime/contract.js';
import { unknownKeysRule } from './errors.js';
import { fieldsBelow, type FieldMeta } from './fields.js';
import { CPU, DURATION, MEMORY, readCpu, readDuration, readMemory } from './quantities.js';
import type { ApiSpec } from './types.js';

const rule = (what: string) => ({ error: what });

/** What a field does and its default in words, for the README's table (fields.ts reads it). */
const doc = (description: string, more: Omit<FieldMeta, 'description'> = {}): FieldMeta => ({ description, ...more });

const duration = () => reader(readDuration, DURATION).meta({ format: 'duration' } satisfies FieldMeta);

function integer(min: number) {
  const e = rule(`an integer ≥ ${min}`);
  return z.number(e).int(e).min(min, e);
}

function reader<T>(read: (value: unknown) => T | undefined, what: string) {
  return z.unknown().transform((value, ctx) => {
    const result = read(value);
    if (result !== undefined) return result;
    ctx.addIssue({ code: 'custom', message: what });
    return z.NEVER;
  });
}

/** Unknown keys are errors: a typo such as "autoscalling" must not silently mean "defaults". */
function mapping<Shape extends z.ZodRawShape>(shape: Shape) {
  const allowed = Object.keys(shape).join(', ');
  // For unknown keys the "rule" is the list of allowed ones and of the fields below them
  // (unknownKeysRule); errors.ts turns it into "did you mean …?" or the list.
  const unknown = unknownKeysRule(shape, fieldsBelow(shape));
  return z.strictObject(shape, {
    error: (issue) => (issue.code === 'unrecognized_keys' ? unknown : `a mapping with fields ${allowed}`),
  });
}

/** An optional section; a bare `compute:` (null) reads as an empty one, i.e. all defaults. */
function section<Shape extends z.ZodRawShape>(shape: Shape) {
  return z.preprocess((value) => value ?? {}, mapping(shape));
}

const DNS_LABEL_RULE =
  'a DNS-1123 label (lowercase letters, digits and "-", starting and ending with a letter or digit, at most 63 characters)';
const dnsLabel = z
  .string(rule(DNS_LABEL_RULE))
  .max(63, rule(DNS_LABEL_RULE))
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, rule(DNS_LABEL_RULE));

// What esbuild bundles; a predictor.py carried over from Python Cortex gets told so up front.
const PREDICTOR_PATH_RULE =
  'the path of a TypeScript or JavaScript predictor (.ts, .mts, .cts, .tsx, .js, .mjs, .cjs, .jsx), relative to cortex.yaml';
const predictorPath = z
  .string(rule(PREDICTOR_PATH_RULE))
  .regex(/\.(ts|mts|cts|tsx|js|mjs|cjs|jsx)$/, rule(PREDICTOR_PATH_RULE));

function isJson(value: unknown): value is JsonValue {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value); // YAML's .inf and .nan are not JSON
  if (Array.isArray(value)) return value.every(isJson);
  return typeof value === 'object' && Object.values(value).every(isJson);
}
const config = z.record(
  z.string(),
  z.custom<JsonValue>(isJson, rule('JSON data (strings, finite numbers, booleans, null, lists, mappings)')),
  rule('a mapping'),
);

const ENV_NAME_RULE = 'environment variable names (letters, digits and "_", not starting with a digit)';
const env = z.record(
  z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, rule(ENV_NAME_RULE)),
  // Environment values are strings; `PORT: 80` in YAML is a number the user meant as "80".
  z.union([z.string(), z.number(), z.boolean()], rule('a string, number or boolean')).transform(String),
  rule('a mapping of variable names to strings'),
);

function positive(what: string, check: (n: number) => boolean) {
  return z.number(rule(what)).refine(check, rule(what));
}

const COUNT_OR_PERCENT_RULE = 'an integer ≥ 0 or a percentage like "25%"';
function readCountOrPercent(value: unknown): number | string | undefined {
  if (typeof value === 'number') return Number.isInteger(value) && value >= 0 ? value : undefined;
  return typeof value === 'string' && /^\d+%$/.test(value) ? value : undefined;
}

const ENDPOINT_RULE = 'a URL path starting with "/" (letters, digits, "-", ".", "_", "~" and "/")';
const endpoint = z.string(rule(ENDPOINT_RULE)).regex(/^\/[A-Za-z0-9\-._~/]*$/, rule(ENDPOINT_RULE));

export const deploymentItem = mapping({
  kind: z.literal('deployment').meta(doc('`deployment`: the one item that names the deployment')),
  name: dnsLabel.meta(doc('the deployment\'s name, the first part of every api\'s path (`/<deployment>/<api>`)')),
});

/** One `kind: api` item, turned into an ApiSpec with Cortex v0.20 defaults. */
export function apiItem(context: { deployment: string; dir: string }) {
  return mapping({
    name: dnsLabel.meta(doc('the api\'s name, unique in the file: the last part of its path, and how commands name it')),
    kind: z.literal('api').meta(doc('`api`: one item per api')),
    predictor: mapping({
      path: predictorPath.meta(doc('the predictor file (`init` and `predict`), relative to cortex.yaml; bundled with esbuild')),
      config: z.preprocess((value) => value ?? {}, config).meta(doc('any JSON data, given to `init` as `context.config`', { shownDefault: '{}' })),
      env: z.preprocess((value) => value ?? {}, env).meta(doc('environment variables of the replicas (values are strings)', { shownDefault: '{}' })),
      // Cortex v0.20's field: both settings are required once the section is there; no section, no batching.
      server_side_batching: mapping({
        max_batch_size: integer(1).meta(doc('server-side batching: the most rows one inference run takes; concurrent `model.run` calls on one model are stacked along the first dimension into one run and the outputs split back per call')),
        batch_interval: duration().meta(doc('server-side batching: the longest a call waits for others to fill its batch on a GPU (`"5ms"`, `"500us"`, `0`: batch only what queues while the threads are busy, which is what a model on the CPU always does); a lone request never waits')),
      }).optional(),
    }),
    compute: section({
      cpu: reader(readCpu, CPU).default(0.2).meta(doc('cores per replica (`1`, `0.5`, `"200m"`): a container\'s CPU limit, a pod\'s request, and the inference threads')),
      mem: reader(readMemory, MEMORY).nullable().default(null).meta(doc('memory per replica (`"1Gi"`, `"512Mi"`): a container\'s limit, a pod\'s request and limit; none means no limit')),
      gpu: integer(0).default(0).meta(doc('NVIDIA GPUs per replica, on EKS (`nvidia.com/gpu`); local replicas run on CPU')),
    }),
    autoscaling: section({
      min_replicas: integer(1).default(1).meta(doc('the fewest replicas the autoscaler keeps')),
      max_replicas: integer(1).default(100).meta(doc('the most replicas the autoscaler asks for')),
      init_replicas: integer(1).optional().meta(doc('replicas at start, before the autoscaler has measured anything', { shownDefault: 'min_replicas' })),
      target_replica_concurrency: positive('a number > 0', (n) => n > 0).default(1).meta(doc('in-flight requests per replica the autoscaler aims for')),
      max_replica_concurrency: integer(1).default(1024).meta(doc('in-flight requests a replica takes before it answers 503 with `Retry-After`')),
      window: duration().default(60_000).meta(doc('how long in-flight requests are averaged over')),
      downscale_stabilization_period: duration().default(300_000).meta(doc('a step down goes no lower than the highest recommendation of this period, and none comes in the first period after start')),
      upscale_stabilization_period: duration().default(60_000).meta(doc('a step up goes no higher than the lowest recommendation of this period, and none comes in the first period after start')),
      max_downscale_factor: positive('a number between 0 and 1 (exclusive)', (n) => n > 0 && n < 1).default(0.75).meta(doc('one step down keeps at least this share of the replicas (one fewer is always allowed)')),
      max_upscale_factor: positive('a number > 1', (n) => n > 1).default(1.5).meta(doc('one step up at most multiplies the replicas by this (one more is always allowed)')),
      downscale_tolerance: positive('a number ≥ 0', (n) => n >= 0).default(0.05).meta(doc('a load this share or less below what the replicas are sized for changes nothing')),
      upscale_tolerance: positive('a number ≥ 0', (n) => n >= 0).default(0.05).meta(doc('a load this share or less above what the replicas are sized for changes nothing')),
    }),
    update_strategy: section({
      max_surge: reader(readCountOrPercent, COUNT_OR_PERCENT_RULE).default('25%').meta(doc('extra pods a rolling update may start (Kubernetes backends)')),
      max_unavailable: reader(readCountOrPercent, COUNT_OR_PERCENT_RULE).default('25%').meta(doc('pods a rolling update may take down at once (Kubernetes backends)')),
    }),
    networking: section({
      endpoint: endpoint.optional().meta(doc('the api\'s path on the gateway', { shownDefault: '/<deployment>/<api>' })),
    }),
  }).transform(
    (item): ApiSpec => ({
      name: item.name,
      deployment: context.deployment,
      predictor: {
        path: path.resolve(context.dir, item.predictor.path),
        config: item.predictor.config,
        env: item.predictor.env,
        ...(item.predictor.server_side_batching
          ? { serverSideBatching: { maxBatchSize: item.predictor.server_side_batching.max_batch_size, batchIntervalMs: item.predictor.server_side_batching.batch_interval } }
          : {}),
      },
      compute: item.compute,
      autoscaling: {
        minReplicas: item.autoscaling.min_replicas,
        maxReplicas: item.autoscaling.max_replicas,
        initReplicas: item.autoscaling.init_replicas ?? item.autoscaling.min_replicas,
        targetReplicaConcurrency: item.autoscaling.target_replica_concurrency,
        maxReplicaConcurrency: item.autoscaling.max_replica_concurrency,
        windowMs: item.autoscaling.window,
        downscaleStabilizationMs: item.autoscaling.downscale_stabilization_period,
        upscaleStabilizationMs: item.autoscaling.upscale_stabilization_period,
        maxDownscaleFactor: item.autoscaling.max_downscale_factor,
        maxUpscaleFactor: item.autoscaling.max_upscale_factor,
        downscaleTolerance: item.autoscaling.downscale_tolerance,
        upscaleTolerance: item.autoscaling.upscale_tolerance,
      },
      updateStrategy: {
        maxSurge: item.update_strategy.max_surge,
        maxUnavailable: item.update_strategy.max_unavailable,
      },
      networking: { endpoint: item.networking.endpoint ?? `/${context.deployment}/${item.name}` },
    }),
  );
}

// The shape of one cortex.yaml item. Every field states its whole rule once (e.g. "an integer
// ≥ 1") as the zod error of each of its checks, so whichever check fails, errors.ts can say
// "<field> must be <rule>, got <value>" instead of zod's generic wording.
import path from 'node:path';
import { z } from 'zod';
import type { JsonValue } from '../../runtime/contract.js';
import { CPU, DURATION, MEMORY, readCpu, readDuration, readMemory } from './quantities.js';
import type { ApiSpec } from './types.js';

const rule = (what: string) => ({ error: what });

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
  return z.strictObject(shape, {
    // For unknown keys the "rule" is the list of allowed ones; errors.ts phrases it.
    error: (issue) => (issue.code === 'unrecognized_keys' ? allowed : `a mapping with fields ${allowed}`),
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
  kind: z.literal('deployment'),
  name: dnsLabel,
});

/** One `kind: api` item, turned into an ApiSpec with Cortex v0.20 defaults. */
export function apiItem(context: { deployment: string; dir: string }) {
  return mapping({
    name: dnsLabel,
    kind: z.literal('api'),
    predictor: mapping({
      path: predictorPath,
      config: z.preprocess((value) => value ?? {}, config),
      env: z.preprocess((value) => value ?? {}, env),
    }),
    compute: section({
      cpu: reader(readCpu, CPU).default(0.2),
      mem: reader(readMemory, MEMORY).nullable().default(null),
      gpu: integer(0).default(0),
    }),
    autoscaling: section({
      min_replicas: integer(1).default(1),
      max_replicas: integer(1).default(100),
      init_replicas: integer(1).optional(),
      target_replica_concurrency: positive('a number > 0', (n) => n > 0).default(1),
      max_replica_concurrency: integer(1).default(1024),
      window: reader(readDuration, DURATION).default(60_000),
      downscale_stabilization_period: reader(readDuration, DURATION).default(300_000),
      upscale_stabilization_period: reader(readDuration, DURATION).default(60_000),
      max_downscale_factor: positive('a number between 0 and 1 (exclusive)', (n) => n > 0 && n < 1).default(0.75),
      max_upscale_factor: positive('a number > 1', (n) => n > 1).default(1.5),
      downscale_tolerance: positive('a number ≥ 0', (n) => n >= 0).default(0.05),
      upscale_tolerance: positive('a number ≥ 0', (n) => n >= 0).default(0.05),
    }),
    update_strategy: section({
      max_surge: reader(readCountOrPercent, COUNT_OR_PERCENT_RULE).default('25%'),
      max_unavailable: reader(readCountOrPercent, COUNT_OR_PERCENT_RULE).default('25%'),
    }),
    networking: section({
      endpoint: endpoint.optional(),
    }),
  }).transform(
    (item): ApiSpec => ({
      name: item.name,
      deployment: context.deployment,
      predictor: {
        path: path.resolve(context.dir, item.predictor.path),
        config: item.predictor.config,
        env: item.predictor.env,
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

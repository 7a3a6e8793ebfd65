// Rules that relate fields to each other, checked once every field is valid on its own.
import { dotted, type Problem, type YamlPath } from './errors.js';
import type { ApiSpec } from './types.js';

export interface PlacedApi {
  api: ApiSpec;
  /** Position of the api's item in the cortex.yaml list. */
  index: number;
}

const isZero = (value: number | string): boolean => (typeof value === 'number' ? value : Number.parseInt(value, 10)) === 0;

/** Problems within one api, e.g. min_replicas above max_replicas. */
export function apiProblems({ api, index }: PlacedApi): Problem[] {
  const problems: Problem[] = [];
  const add = (fields: YamlPath, text: string) => problems.push({ path: [index, ...fields], text });
  const { minReplicas: min, maxReplicas: max, initReplicas: init } = api.autoscaling;
  if (min > max) {
    add(['autoscaling', 'min_replicas'], `autoscaling.min_replicas (${min}) must be ≤ autoscaling.max_replicas (${max})`);
  } else if (init < min || init > max) {
    add(['autoscaling', 'init_replicas'], `autoscaling.init_replicas (${init}) must be between min_replicas (${min}) and max_replicas (${max})`);
  }
  // Above max_replica_concurrency a replica sheds load with 503s, so the autoscaler could never see the target.
  const { targetReplicaConcurrency: target, maxReplicaConcurrency: ceiling } = api.autoscaling;
  if (target > ceiling) {
    add(
      ['autoscaling', 'target_replica_concurrency'],
      `autoscaling.target_replica_concurrency (${target}) must be ≤ autoscaling.max_replica_concurrency (${ceiling})`,
    );
  }
  // Kubernetes refuses a rolling update that may neither add nor remove a replica.
  if (isZero(api.updateStrategy.maxSurge) && isZero(api.updateStrategy.maxUnavailable)) {
    add(['update_strategy', 'max_surge'], 'update_strategy.max_surge and max_unavailable cannot both be 0; raise one of them');
  }
  return problems;
}

/** Problems between apis: names and endpoints must be unique. */
export function crossApiProblems(apis: PlacedApi[], lineOf: (path: YamlPath) => number | undefined): Problem[] {
  const problems: Problem[] = [];
  const names = new Map<string, PlacedApi>();
  const endpoints = new Map<string, PlacedApi>();
  for (const placed of apis) {
    const { api, index } = placed;
    const sameName = names.get(api.name);
    if (sameName) {
      problems.push({
        path: [index, 'name'],
        text: `name "${api.name}" is already used by the api at line ${lineOf([sameName.index])}; api names must be unique`,
      });
      continue;
    }
    names.set(api.name, placed);
    const sameEndpoint = endpoints.get(api.networking.endpoint);
    if (sameEndpoint) {
      const fields = ['networking', 'endpoint'];
      problems.push({
        path: [index, ...fields],
        text: `${dotted(fields)} "${api.networking.endpoint}" is already used by api "${sameEndpoint.api.name}"; endpoints must be unique`,
      });
      continue;
    }
    endpoints.set(api.networking.endpoint, placed);
  }
  return problems;
}

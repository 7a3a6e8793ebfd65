// cortex.yaml text → Spec, in stages: YAML syntax, the list and its kinds, each item's fields,
// then rules across fields and items. A stage runs only when the one before found nothing, so
// the reported problem is never a consequence of an earlier one.
import path from 'node:path';
import type { z } from 'zod';
import { apiProblems, crossApiProblems, type PlacedApi } from './checks.js';
import { SpecError, describeValue, dotted, lineOf, problemsFromIssue, readYaml, type Problem, type YamlPath } from './errors.js';
import { apiItem, deploymentItem } from './schema.js';
import type { ApiSpec, Spec } from './types.js';

const KINDS = ['deployment', 'api'];
const LIST_HINT = 'a cortex.yaml is a list: "- kind: deployment" with a name, then one "- kind: api" item per api';

export interface Analysis {
  spec: Spec;
  /** A SpecError pointing at a field of an api, for checks made after parsing (e.g. files exist). */
  errorAt(api: ApiSpec, fields: YamlPath, problem: string): SpecError;
}

/** Parses and validates cortex.yaml text; `file` only names it in errors and anchors relative paths. */
export function parseSpec(text: string, file: string): Spec {
  return analyse(text, file).spec;
}

export function analyse(text: string, file: string): Analysis {
  const { absolute, doc, counter, data } = readYaml(text, file);
  if (!Array.isArray(data)) {
    const problem = data === null || data === undefined ? `is empty; ${LIST_HINT}` : `must be a list, got ${describeValue(data)}; ${LIST_HINT}`;
    throw new SpecError({ file: absolute, problem });
  }
  const items: unknown[] = data;
  const locate = (fields: YamlPath) => lineOf(doc, counter, fields);
  const toError = (problem: Problem): SpecError => {
    const [index, ...fields] = problem.path;
    const item = typeof index === 'number' ? items[index] : undefined;
    return new SpecError({
      file: absolute,
      line: problem.path.length > 0 ? locate(problem.path) : undefined,
      ...scopeOf(item),
      field: fields.length > 0 ? dotted(fields) : undefined,
      problem: problem.text,
    });
  };
  const throwFirst = (problems: Problem[]): void => {
    const errors = problems.map(toError).sort((a, b) => (a.line ?? Infinity) - (b.line ?? Infinity));
    if (errors[0]) throw errors[0];
  };

  throwFirst(items.flatMap(kindProblems));
  const indexesOf = (kind: string) => items.flatMap((item, index) => (isRecord(item) && item.kind === kind ? [index] : []));
  const [deploymentIndex, ...extraDeployments] = indexesOf('deployment');
  if (deploymentIndex === undefined) {
    throw new SpecError({ file: absolute, problem: `no "kind: deployment" item; add one to the list: "- kind: deployment" with "name: <name>"` });
  }
  throwFirst(extraDeployments.map((index) => ({
    path: [index],
    text: `a second "kind: deployment" item (the first is at line ${locate([deploymentIndex])}); a cortex.yaml has exactly one`,
  })));
  const apiIndexes = indexesOf('api');
  if (apiIndexes.length === 0) {
    throw new SpecError({ file: absolute, problem: `no "kind: api" item; add one per api: "- kind: api" with a name and "predictor: { path: predictor.ts }"` });
  }

  const deploymentResult = deploymentItem.safeParse(items[deploymentIndex]);
  // An invalid deployment name still lets the apis be checked, so the first problem by line wins.
  const deployment = deploymentResult.success ? deploymentResult.data.name : '';
  const schema = apiItem({ deployment, dir: path.dirname(absolute) });
  const parsed = apiIndexes.map((index) => ({ index, result: schema.safeParse(items[index]) }));
  throwFirst([
    ...(deploymentResult.error?.issues ?? []).flatMap((issue) => problemsFromIssue(issue, items[deploymentIndex], [deploymentIndex])),
    ...parsed.flatMap(({ index, result }) => explained(result.error?.issues ?? [], items[index]).flatMap((issue) => problemsFromIssue(issue, items[index], [index]))),
  ]);

  const apis: PlacedApi[] = parsed.flatMap(({ index, result }) => (result.success ? [{ api: result.data, index }] : []));
  throwFirst([...apis.flatMap(apiProblems), ...crossApiProblems(apis, locate)]);

  return {
    spec: { file: absolute, dir: path.dirname(absolute), deployment, apis: apis.map(({ api }) => api) },
    errorAt(api, fields, problem) {
      const index = apis.find((placed) => placed.api === api)?.index;
      return toError({ path: index === undefined ? [] : [index, ...fields], text: problem });
    },
  };
}

/**
 * A mapping with an unknown key and a missing field is most often one typo (`max_batch: 8` for
 * `max_batch_size`): the unknown key, with its "did you mean", is the problem to show, so the
 * missing fields of that same mapping are left out.
 */
function explained(issues: readonly z.core.$ZodIssue[], item: unknown): z.core.$ZodIssue[] {
  const typoed = new Set(issues.filter((i) => i.code === 'unrecognized_keys').map((i) => JSON.stringify(i.path)));
  if (typoed.size === 0) return [...issues];
  const missing = (i: z.core.$ZodIssue) => {
    let value = item;
    for (const key of i.path) value = value !== null && typeof value === 'object' ? (value as Record<PropertyKey, unknown>)[key as PropertyKey] : undefined;
    return value === undefined;
  };
  return issues.filter((i) => !(i.code !== 'unrecognized_keys' && missing(i) && typoed.has(JSON.stringify(i.path.slice(0, -1)))));
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function kindProblems(item: unknown, index: number): Problem[] {
  const allowed = KINDS.join(', ');
  if (!isRecord(item)) return [{ path: [index], text: `item ${index + 1} must be a mapping with a kind (${allowed}), got ${describeValue(item)}` }];
  if (item.kind === undefined) return [{ path: [index], text: `item ${index + 1} has no kind; add "kind: <${KINDS.join(' | ')}>"` }];
  if (typeof item.kind !== 'string' || !KINDS.includes(item.kind)) {
    return [{ path: [index, 'kind'], text: `kind must be one of: ${allowed}, got ${describeValue(item.kind)}` }];
  }
  return [];
}

/** `api "classifier"` or `deployment "image"`: who the problem belongs to, as the user named it. */
function scopeOf(item: unknown): { scope?: string; api?: string } {
  if (!isRecord(item) || typeof item.kind !== 'string' || !KINDS.includes(item.kind)) return {};
  const name = typeof item.name === 'string' ? item.name : undefined;
  return {
    scope: name === undefined ? item.kind : `${item.kind} "${name}"`,
    ...(item.kind === 'api' && name !== undefined ? { api: name } : {}),
  };
}

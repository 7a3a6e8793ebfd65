// A bad cortex.yaml is a user error: one line naming the file, line, api and field, what is
// wrong and what is allowed. The CLI prints the message as is (exit code 2), without a stack.
import path from 'node:path';
import { isAlias, isMap, isNode, isScalar, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import { UserError } from '../user-error.js';

export interface SpecErrorInit {
  file: string;
  line?: number | undefined;
  /** What the problem belongs to, e.g. `api "classifier"`; shown before the problem. */
  scope?: string | undefined;
  api?: string | undefined;
  /** Dotted YAML path inside the item, snake_case as written, e.g. "autoscaling.min_replicas". */
  field?: string | undefined;
  problem: string;
}

export class SpecError extends UserError {
  override readonly name = 'SpecError';
  readonly file: string;
  readonly line: number | undefined;
  readonly api: string | undefined;
  readonly field: string | undefined;

  constructor(init: SpecErrorInit) {
    const where = init.line === undefined ? shownPath(init.file) : `${shownPath(init.file)}:${init.line}`;
    super(init.scope ? `${where}: ${init.scope}: ${init.problem}` : `${where}: ${init.problem}`);
    this.file = init.file;
    this.line = init.line;
    this.api = init.api;
    this.field = init.field;
  }
}

/** A user's file as messages name it: short when under the working directory, absolute elsewhere (never ../../). */
export function shownPath(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative === '' || relative.startsWith('..') || path.isAbsolute(relative) ? file : relative;
}

export type YamlPath = ReadonlyArray<string | number>;

/** One thing wrong, located by its path from the document root (item index first). */
export interface Problem {
  path: YamlPath;
  text: string;
}

export const dotted = (fields: YamlPath): string => fields.join('.');

/** How a value reads in a message: strings quoted, collections named rather than dumped. */
export function describeValue(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (value !== null && typeof value === 'object') return 'a mapping';
  if (typeof value !== 'string') return String(value);
  return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
}

function valueAt(data: unknown, fields: YamlPath): unknown {
  let value = data;
  for (const field of fields) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string | number, unknown>)[field];
  }
  return value;
}

/**
 * Turns a zod issue from validating `item` (found at `base` in the document) into problems.
 * The schema puts the rule of each field in issue.message (see schema.ts); this phrases it.
 */
export function problemsFromIssue(issue: z.core.$ZodIssue, item: unknown, base: YamlPath): Problem[] {
  const fields = issue.path.map((key) => (typeof key === 'number' ? key : String(key)));
  if (issue.code === 'unrecognized_keys') {
    const { allowed, deeper } = readUnknownKeysRule(issue.message);
    return issue.keys.map((key) => {
      const guess = closestField(key, allowed, deeper);
      return {
        path: [...base, ...fields, key],
        text: guess === undefined
          ? `unknown field "${dotted([...fields, key])}"; allowed: ${allowed.join(', ')}`
          : `unknown field "${dotted([...fields, key])}"; did you mean "${dotted([...fields, guess])}"?`,
      };
    });
  }
  if (issue.code === 'invalid_key') {
    const rule = issue.issues[0]?.message ?? issue.message;
    const key = fields.at(-1);
    return [{ path: [...base, ...fields], text: `${dotted(fields.slice(0, -1))} has an invalid key "${key}"; keys must be ${rule}` }];
  }
  const value = valueAt(item, fields);
  const field = dotted(fields);
  return [{
    path: [...base, ...fields],
    text: value === undefined ? `missing ${field}; it must be ${issue.message}` : `${field} must be ${issue.message}, got ${describeValue(value)}`,
  }];
}

/**
 * What a strict mapping's zod error says for an unknown key (its "rule"): the fields it allows,
 * then, after "; ", the dotted paths of the fields of its sub-mappings, so that a field written
 * one level too high ("min_replicas" beside "autoscaling") can be pointed to where it belongs.
 */
export function unknownKeysRule(shape: Record<string, unknown>, deeper: readonly string[] = []): string {
  const allowed = Object.keys(shape).join(', ');
  return deeper.length === 0 ? allowed : `${allowed}; ${deeper.join(', ')}`;
}

function readUnknownKeysRule(message: string): { allowed: string[]; deeper: string[] } {
  const [allowed = '', deeper = ''] = message.split('; ');
  const list = (text: string) => text.split(', ').filter((name) => name !== '');
  return { allowed: list(allowed), deeper: list(deeper) };
}

/** How a name is compared: case, "_" and "-" ignored, so minReplicas and min-replicas find min_replicas. */
const folded = (name: string): string => name.toLowerCase().replace(/[_-]/g, '');

/** Optimal string alignment distance: insertions, deletions, substitutions and swaps of neighbours. */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

/** The one candidate `key` most likely means, or undefined when none is close or two are equally so. */
function closest(key: string, candidates: readonly string[], nameOf: (candidate: string) => string): string | undefined {
  const typed = folded(key);
  // A third of the name may be wrong (at least one letter), or the name may be cut short ("mem" for "memory").
  const scored = candidates.flatMap((candidate) => {
    const name = folded(nameOf(candidate));
    const distance = editDistance(typed, name);
    const near = distance <= Math.max(1, Math.floor(Math.max(typed.length, name.length) / 3));
    const prefix = Math.min(typed.length, name.length) >= 3 && (name.startsWith(typed) || typed.startsWith(name));
    return near || prefix ? [{ candidate, distance }] : [];
  });
  const best = Math.min(...scored.map((s) => s.distance));
  const winners = scored.filter((s) => s.distance === best);
  return winners.length === 1 ? winners[0]!.candidate : undefined;
}

/**
 * The field a mistyped `key` most likely means: one of this mapping's (`allowed`), else one of a
 * sub-mapping's (`deeper`, dotted) by its own name, e.g. "min_replicas" → "autoscaling.min_replicas".
 */
export function closestField(key: string, allowed: readonly string[], deeper: readonly string[] = []): string | undefined {
  // "predictor_path" is predictor.path written flat: that beats "predictor" as a prefix.
  const flat = deeper.find((dottedPath) => folded(dottedPath.replace(/\./g, '')) === folded(key));
  return flat ?? closest(key, allowed, (name) => name) ?? closest(key, deeper, (dottedPath) => dottedPath.split('.').at(-1) ?? dottedPath);
}

/**
 * The 1-based line of the node at `fields`: the line of its key for a mapping entry, of the
 * item for a list entry. A path that does not exist (a missing field) gets its parent's line.
 */
export function lineOf(doc: Document, counter: LineCounter, fields: YamlPath): number | undefined {
  let node: unknown = doc.contents;
  let offset = isNode(node) ? node.range?.[0] : undefined;
  for (const field of fields) {
    if (isAlias(node)) node = node.resolve(doc);
    let next: { start: number | undefined; node: unknown } | undefined;
    if (isMap(node)) {
      const pair = node.items.find((p) => String(isScalar(p.key) ? p.key.value : p.key) === String(field));
      if (pair) next = { start: isNode(pair.key) ? pair.key.range?.[0] : undefined, node: pair.value };
    } else if (isSeq(node) && typeof field === 'number') {
      const entry = node.items[field];
      if (entry !== undefined) next = { start: isNode(entry) ? entry.range?.[0] : undefined, node: entry };
    }
    if (!next) break;
    offset = next.start ?? offset;
    node = next.node;
  }
  return offset === undefined ? undefined : counter.linePos(offset).line;
}

/** A YAML file parsed for checking: the document and its line counter locate fields for errors. */
export interface YamlFile {
  absolute: string;
  doc: Document;
  counter: LineCounter;
  data: unknown;
}

/** Parses `text`; a syntax error is a SpecError at its line (with a hint for tabs, which YAML forbids). */
export function readYaml(text: string, file: string): YamlFile {
  const absolute = path.resolve(file);
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, prettyErrors: false });
  const syntax = doc.errors[0];
  if (syntax) {
    const { line } = counter.linePos(syntax.pos[0]);
    const tabs = /^ *\t/.test(text.split('\n')[line - 1] ?? '') ? '; indent with spaces, YAML does not allow tabs' : '';
    throw new SpecError({ file: absolute, line, problem: `YAML syntax error: ${syntax.message}${tabs}` });
  }
  return { absolute, doc, counter, data: doc.toJS() };
}

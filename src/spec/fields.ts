// The fields of a cortex.yaml item as the schema itself declares them: their dotted paths (for
// "did you mean autoscaling.min_replicas?") and, for the README's table, each one's default and
// what it does. Read from the zod schemas in schema.ts, so the documentation cannot drift from
// what is validated.
import { z } from 'zod';
import { formatDuration } from './quantities.js';

/** What schema.ts says of a field beside its checks (zod's `.meta()`; a type, not an interface, so it fits meta's index signature). */
export type FieldMeta = {
  /** What the field does, one sentence, for the README. */
  description?: string;
  /** The default in words, where it is not a constant (e.g. "min_replicas"). */
  shownDefault?: string;
  /** How the default is written in cortex.yaml when it is stored in other units. */
  format?: 'duration';
};

type Schema = z.core.$ZodType;

const defOf = (schema: Schema) => schema._zod.def as z.core.$ZodTypeDef & {
  innerType?: Schema; in?: Schema; out?: Schema; shape?: Record<string, Schema>; defaultValue?: unknown;
};

/** The object schema a field holds once wrappers (preprocess, default, optional, nullable, transform) are peeled off. */
export function objectShape(schema: Schema): Record<string, Schema> | undefined {
  const def = defOf(schema);
  switch (def.type) {
    case 'object': return def.shape;
    case 'default': case 'optional': case 'nullable': case 'prefault': return def.innerType && objectShape(def.innerType);
    // z.preprocess is pipe(transform → schema); an object with a .transform after it is pipe(object → transform).
    case 'pipe': { const next = isPreprocess(schema) ? def.out : def.in; return next && objectShape(next); }
    default: return undefined;
  }
}

/** The dotted paths of every field inside the sub-mappings of `shape` (not its own fields). */
export function fieldsBelow(shape: Record<string, Schema>): string[] {
  return Object.entries(shape).flatMap(([key, value]) => {
    const inner = objectShape(value);
    return inner ? Object.keys(inner).flatMap((sub) => [`${key}.${sub}`, ...fieldsBelow({ [`${key}.${sub}`]: inner[sub]! })]) : [];
  });
}

export interface FieldDoc {
  /** Dotted path inside the item, e.g. "autoscaling.min_replicas". */
  path: string;
  required: boolean;
  /** As written in cortex.yaml ("60s", 0.2, "25%"), or in words; undefined when required or without one. */
  shownDefault: string | undefined;
  description: string;
  /** Set for a field required only once its optional section is written: that section's path. */
  requiredWith?: string;
}

function metaOf(schema: Schema): FieldMeta {
  // Layers are read outside in, and the outermost word wins: `.meta()` after `.default()` is the field's.
  const own = (z.globalRegistry.get(schema) ?? {}) as FieldMeta;
  const def = defOf(schema);
  const inner = def.type === 'default' || def.type === 'optional' || def.type === 'nullable' || def.type === 'prefault'
    ? def.innerType
    : def.type === 'pipe' ? (isPreprocess(schema) ? def.out : def.in) : undefined;
  return inner ? { ...metaOf(inner), ...own } : own;
}

/** The default zod fills in, if any: the outermost `.default()`, seen through meta and optional wrappers. */
function defaultOf(schema: Schema): { value: unknown } | undefined {
  const def = defOf(schema);
  if (def.type === 'default') return { value: def.defaultValue };
  if (def.type === 'optional' || def.type === 'nullable') return undefined;
  if (isPreprocess(schema) && def.out) return defaultOf(def.out);
  return undefined;
}

/** z.preprocess(fill, schema): how schema.ts makes a bare or missing field read as empty. */
function isPreprocess(schema: Schema): boolean {
  const def = defOf(schema);
  return def.type === 'pipe' && def.in !== undefined && defOf(def.in).type === 'transform';
}

/** A field that may be left out: zod marks optional and defaulted ones so; a preprocess fills it in. */
const optional = (schema: Schema): boolean => schema._zod.optin !== undefined || isPreprocess(schema);

function shown(value: unknown, meta: FieldMeta): string {
  if (meta.format === 'duration' && typeof value === 'number') return formatDuration(value);
  if (typeof value === 'string') return value;
  return JSON.stringify(value);
}

/**
 * Every leaf field of an item schema, depth first in declaration order. A section (a mapping
 * of fields) is not a row of its own: its fields are. A field without a description is an
 * error, so a new field cannot reach the README undocumented.
 */
export function describeFields(shape: Record<string, Schema>, prefix = '', within?: string): FieldDoc[] {
  return Object.entries(shape).flatMap(([key, value]): FieldDoc[] => {
    const path = `${prefix}${key}`;
    const inner = objectShape(value);
    // Fields of an optional section are required only when it is there.
    if (inner) return describeFields(inner, `${path}.`, within ?? (optional(value) && defaultOf(value) === undefined && !isPreprocess(value) ? path : undefined));
    const meta = metaOf(value);
    if (!meta.description) throw new Error(`cortex.yaml field ${path} has no description in src/spec/schema.ts`);
    const fallback = defaultOf(value);
    const isRequired = !optional(value);
    return [{
      path,
      required: isRequired && !within,
      ...(isRequired && within ? { requiredWith: within } : {}),
      shownDefault: meta.shownDefault ?? (fallback === undefined || fallback.value === null ? undefined : shown(fallback.value, meta)),
      description: meta.description,
    }];
  });
}

/** The README's table of fields: one row per field, `| field | default | what it does |`. */
export function fieldTable(rows: readonly FieldDoc[]): string {
  const cell = (doc: FieldDoc) => (doc.required ? 'required' : doc.requiredWith ? `required in \`${doc.requiredWith}\`` : doc.shownDefault === undefined ? 'none' : `\`${doc.shownDefault}\``);
  return [
    '| field | default | |',
    '| --- | --- | --- |',
    ...rows.map((doc) => `| \`${doc.path}\` | ${cell(doc)} | ${doc.description.replace(/\|/g, '\\|')} |`),
  ].join('\n');
}

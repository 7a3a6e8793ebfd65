// The README's "cortex.yaml fields" tables, generated from the schema (see fields.ts);
// test/spec-fields.test.ts checks the README holds exactly this text.
import { describeFields, fieldTable, objectShape, type FieldDoc } from './fields.js';
import { apiItem, deploymentItem } from './schema.js';

export const README_BEGIN = '<!-- cortex.yaml fields: generated from src/spec/schema.ts (test/spec-fields.test.ts checks it) -->';
export const README_END = '<!-- end of cortex.yaml fields -->';

function fieldsOf(schema: Parameters<typeof objectShape>[0]): FieldDoc[] {
  const shape = objectShape(schema);
  if (!shape) throw new Error('an item schema must be a mapping');
  return describeFields(shape);
}

/** The documented fields of each kind of item. */
export function specFields(): { deployment: FieldDoc[]; api: FieldDoc[] } {
  return {
    deployment: fieldsOf(deploymentItem),
    // The context only shapes the output (paths, the default endpoint), not the fields.
    api: fieldsOf(apiItem({ deployment: 'deployment', dir: '.' })),
  };
}

/** The README's block, markers included. */
export function readmeFieldsSection(): string {
  const { deployment, api } = specFields();
  return [
    README_BEGIN,
    'The `kind: deployment` item:',
    '',
    fieldTable(deployment),
    '',
    'Each `kind: api` item:',
    '',
    fieldTable(api),
    README_END,
  ].join('\n');
}

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { expect } from 'vitest';
import { SCHEMAS } from './cli.js';

const ajv = new Ajv({ strict: true, allErrors: true });

/** Assert that `doc` matches schemas/<name>.schema.json (validated independently of src/). */
export function expectSchema(name: string, doc: unknown): void {
  const id = `https://stella-ops.org/schemas/stella-evidence/${name}.schema.json`;
  const validate = ajv.getSchema(id) ?? ajv.compile(JSON.parse(readFileSync(join(SCHEMAS, `${name}.schema.json`), 'utf8')) as object);
  const ok = validate(doc);
  expect(ok, `${name} schema: ${ajv.errorsText(validate.errors)}`).toBe(true);
}

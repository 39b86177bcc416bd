import { readFileSync } from 'node:fs';
import { Ajv, type ValidateFunction } from 'ajv';

/**
 * JSON Schemas live in schemas/ at the package root. They are compiled on first use only,
 * so commands that never validate (help, keygen) do not pay for ajv at start-up.
 */
export type SchemaName = 'manifest' | 'envelope' | 'trust' | 'verify-report' | 'diff-report' | 'export-result' | 'keygen-result' | 'config' | 'store-record' | 'audit-event';

const SCHEMA_DIR = new URL('../../schemas/', import.meta.url);
let ajv: Ajv | undefined;
const cache = new Map<SchemaName, ValidateFunction>();

export function schemaPath(name: SchemaName): URL {
  return new URL(`${name}.schema.json`, SCHEMA_DIR);
}

export function validator(name: SchemaName): ValidateFunction {
  let v = cache.get(name);
  if (!v) {
    ajv ??= new Ajv({ strict: true, allErrors: false });
    v = ajv.compile(JSON.parse(readFileSync(schemaPath(name), 'utf8')) as object);
    cache.set(name, v);
  }
  return v;
}

/** Returns null when valid, else a short description of the first problem. */
export function schemaProblem(name: SchemaName, value: unknown): string | null {
  const v = validator(name);
  if (v(value)) return null;
  const e = v.errors?.[0];
  if (!e) return 'does not match the schema';
  return `${e.instancePath || '(root)'} ${e.message ?? 'is invalid'}`;
}

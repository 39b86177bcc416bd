import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Ajv, ValidateFunction } from 'ajv';

/**
 * JSON Schemas live in schemas/ at the package root, the single source. They are compiled
 * on first use only, so commands that never validate (help, keygen) do not pay for ajv.
 */
export type SchemaName = 'manifest' | 'envelope' | 'trust' | 'verify-report' | 'diff-report' | 'export-result' | 'keygen-result' | 'config' | 'store-record' | 'audit-event';

const SCHEMA_DIR = new URL('../../schemas/', import.meta.url);
let ajv: Ajv | undefined;
const cache = new Map<SchemaName, ValidateFunction>();

export function schemaPath(name: SchemaName): URL {
  return new URL(`${name}.schema.json`, SCHEMA_DIR);
}

const require = createRequire(import.meta.url);
type Precompiled = Record<string, ValidateFunction> & { __digests: Record<string, string> };
let precompiled: Precompiled | null | undefined;

export function validator(name: SchemaName): ValidateFunction {
  let v = cache.get(name);
  if (!v) {
    const bytes = readFileSync(schemaPath(name));
    // Validators compiled at build time (scripts/gen-validators.mjs) save ajv's start-up
    // and compile time; one is used only if built from exactly this schema file.
    if (precompiled === undefined) {
      try {
        precompiled = require('./validators.cjs') as Precompiled;
      } catch {
        precompiled = null; // running from sources, or built by a bare tsc
      }
    }
    const built = precompiled?.[name];
    if (built && precompiled!.__digests[name] === createHash('sha256').update(bytes).digest('hex')) v = built;
    else {
      if (!ajv) {
        const { Ajv: AjvClass } = require('ajv') as { Ajv: typeof Ajv };
        ajv = new AjvClass({ strict: true, allErrors: false });
      }
      v = ajv.compile(JSON.parse(bytes.toString('utf8')) as object);
    }
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

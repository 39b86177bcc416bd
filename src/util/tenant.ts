import { usageError } from '../errors.js';

/** Lowercase slug; the same rule everywhere a tenant id enters the program. */
export const TENANT_PATTERN = /^[a-z0-9][a-z0-9._-]{0,62}$/;

export function isTenantId(s: unknown): s is string {
  return typeof s === 'string' && TENANT_PATTERN.test(s);
}

export function requireTenantId(s: string | undefined, where = '--tenant'): string {
  if (s === undefined || s === '') {
    throw usageError(
      'TENANT_REQUIRED',
      `no tenant given: pass ${where} (there is no default or anonymous tenant)`,
    );
  }
  if (!isTenantId(s)) {
    throw usageError(
      'TENANT_INVALID',
      `invalid tenant id ${JSON.stringify(s)} in ${where}: use a lowercase slug matching [a-z0-9][a-z0-9._-]{0,62}`,
    );
  }
  return s;
}

/** Optional sub-scoping recorded beside the tenant; it never replaces it. */
export const SCOPE_NAMES = ['environment', 'project', 'workspace'] as const;
export type ScopeName = (typeof SCOPE_NAMES)[number];
export type Scope = Partial<Record<ScopeName, string>>;

const SCOPE_VALUE = /^[A-Za-z0-9][A-Za-z0-9._:@/-]{0,127}$/;

export function parseScopeArgs(pairs: readonly string[]): Scope {
  const scope: Scope = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    const name = eq < 0 ? pair : pair.slice(0, eq);
    const value = eq < 0 ? '' : pair.slice(eq + 1);
    if (!(SCOPE_NAMES as readonly string[]).includes(name)) {
      throw usageError(
        'SCOPE_INVALID',
        `invalid --scope ${JSON.stringify(pair)}: the name must be one of ${SCOPE_NAMES.join(', ')}`,
      );
    }
    if (!SCOPE_VALUE.test(value)) {
      throw usageError(
        'SCOPE_INVALID',
        `invalid --scope ${JSON.stringify(pair)}: give NAME=VALUE with a value of letters, digits and ._:@/- (at most 128)`,
      );
    }
    const key = name as ScopeName;
    if (scope[key] !== undefined && scope[key] !== value) {
      throw usageError('SCOPE_INVALID', `--scope ${name} given twice with different values`);
    }
    scope[key] = value;
  }
  return scope;
}

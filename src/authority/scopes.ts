/**
 * The Authority scopes each kind of command requires. A command names what it needs;
 * the token must grant every one of them.
 */
export const SCOPE = {
  ingest: 'evidence:write',
  list: 'evidence:read',
  export: 'export:run',
  audit: 'audit:read',
  crossTenant: 'export:cross-tenant',
} as const;

export type RequiredScope = (typeof SCOPE)[keyof typeof SCOPE];

const PURPOSE: Record<RequiredScope, string> = {
  'evidence:write': 'to ingest evidence',
  'evidence:read': 'to list evidence',
  'export:run': 'to export',
  'audit:read': 'to read the audit log',
  'export:cross-tenant': 'to export across tenants',
};

export function purposeOf(scope: string): string {
  return Object.hasOwn(PURPOSE, scope) ? PURPOSE[scope as RequiredScope] : 'for this command';
}

/** Required scopes the grant lacks, in a stable order. */
export function missingScopes(granted: readonly string[], required: readonly string[]): string[] {
  const have = new Set(granted);
  return [...new Set(required)].filter((s) => !have.has(s)).sort();
}

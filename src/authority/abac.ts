import { tenantError } from '../errors.js';
import { compareUtf8 } from '../bundle/layout.js';
import { SCOPE_NAMES, type Scope, type ScopeName } from '../util/tenant.js';
import { CLAIM } from './token.js';

/**
 * ABAC claims narrow, never widen: a token bound to `environment=prod` sees only
 * artifacts whose environment is prod, writes only prod, and a request naming any other
 * value is refused rather than silently trimmed to what the token may see.
 */

/** Whether an artifact with this sub-scope is visible under the claims (no claims: everything). */
export function abacAllows(abac: Scope, scope: Scope): boolean {
  for (const name of SCOPE_NAMES) {
    const want = abac[name];
    if (want !== undefined && scope[name] !== want) return false;
  }
  return true;
}

/**
 * The sub-scope an ingest (or a loose-file export) records: the claims' values fill in
 * what the request left open; a requested value that contradicts a claim is refused.
 */
export function narrowScope(abac: Scope, requested: Scope, flag = '--scope'): Scope {
  const out: Scope = { ...requested };
  for (const name of SCOPE_NAMES) {
    const want = abac[name];
    if (want === undefined) continue;
    const got = requested[name];
    if (got !== undefined && got !== want) throw abacRefusal(name, want, `${flag} ${name}=${got}`);
    out[name] = want;
  }
  return out;
}

/**
 * Selector checks for reads: a selector on a sub-scope name bound by a claim may only
 * name the claim's value. Unbound names and other selectors pass untouched.
 */
export function checkAbacSelectors(abac: Scope, selectors: ReadonlyArray<{ name: string; value: string }>, flag = '--select'): void {
  for (const s of selectors) {
    if (!(SCOPE_NAMES as readonly string[]).includes(s.name)) continue;
    const name = s.name as ScopeName;
    const want = abac[name];
    if (want !== undefined && s.value !== want) throw abacRefusal(name, want, `${flag} ${name}=${s.value}`);
  }
}

/**
 * A store selection (normal-form key -> accepted values) narrowed to what the token may
 * see: selectors on bound names are checked, then every bound name is pinned to the
 * claim's value, so the store itself never returns an artifact outside the claims.
 */
export function narrowSelectors(abac: Scope, selectors: Readonly<Record<string, readonly string[]>>): Record<string, string[]> {
  checkAbacSelectors(
    abac,
    Object.entries(selectors).flatMap(([name, values]) => values.map((value) => ({ name, value }))),
  );
  const out: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(selectors)) out[k] = [...v];
  for (const name of SCOPE_NAMES) if (abac[name] !== undefined) out[name] = [abac[name]!];
  const sorted: Record<string, string[]> = {};
  for (const k of Object.keys(out).sort(compareUtf8)) sorted[k] = out[k]!;
  return sorted;
}

function abacRefusal(name: ScopeName, want: string, asked: string) {
  return tenantError(
    'ABAC_REFUSED',
    `ABAC check failed: the token's ${CLAIM[name]} claim limits it to ${name}=${want}, but ${asked} was requested`,
  );
}

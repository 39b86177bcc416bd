import { authorize, type AuthContext } from '../authority/context.js';
import type { RequiredScope } from '../authority/scopes.js';

/** The flags withAuthorityOptions adds, plus the tenant and actor flags commands already have. */
export interface AuthorityFlags {
  token?: string;
  config?: string;
  authorityJwks?: string;
  tenant?: string[];
  actor?: string;
}

/** The tenant context of a CLI command, from its flags and the process environment. */
export function authorizeFlags(o: AuthorityFlags, scopes: readonly RequiredScope[], crossTenant = false): Promise<AuthContext> {
  return authorize({
    token: o.token,
    config: o.config,
    authorityJwks: o.authorityJwks,
    tenants: o.tenant ?? [],
    actor: o.actor,
    scopes,
    crossTenant,
    env: process.env,
  });
}

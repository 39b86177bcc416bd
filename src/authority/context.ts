import { tenantError, usageError } from '../errors.js';
import { resolveActor } from '../audit/actor.js';
import { requireTenantId, type Scope } from '../util/tenant.js';
import { loadConfig } from './config.js';
import { loadJwks } from './jwks.js';
import { missingScopes, purposeOf, SCOPE } from './scopes.js';
import { CLAIM, presentedToken, verifyToken } from './token.js';

/** Who asks, for which tenant, with which rights: what every tenant-data command consumes. */
export interface AuthContext {
  /** The requesting tenant: the token's tenant when a token was presented. */
  tenant: string;
  /** Every tenant involved, the requesting one first (more than one only for a cross-tenant request). */
  tenants: string[];
  actor: string;
  /** The scopes this command required (and the token granted), sorted: what gets recorded. */
  scopes: string[];
  /** ABAC claims; empty without a token. */
  abac: Scope;
  token: TokenIdentity | null;
}

export interface TokenIdentity {
  issuer: string | null;
  subject: string;
  jti: string | null;
}

export interface AuthRequest {
  /** --config */
  config?: string | undefined;
  /** --authority-jwks */
  authorityJwks?: string | undefined;
  /** --token */
  token?: string | undefined;
  /** --tenant values, in the order given. */
  tenants?: readonly string[] | undefined;
  /** --actor */
  actor?: string | undefined;
  /** Scopes the command needs. */
  scopes: readonly string[];
  /** The explicit cross-tenant form was used (several tenants are allowed). */
  crossTenant?: boolean;
  env: NodeJS.ProcessEnv;
  /** Only unit tests pass a clock. */
  now?: Date;
}

/**
 * Resolve the tenant context the gateway way: a verified token is authoritative, and
 * `--tenant` (or STELLAOPS_TENANT) plays the X-StellaOps-Tenant header, which must agree
 * with it. Without a token, the named tenant is used as is unless the config demands a
 * token; there is never a default tenant.
 */
export async function authorize(req: AuthRequest): Promise<AuthContext> {
  const named = namedTenants(req);
  if (named.length > 1 && !req.crossTenant) {
    throw tenantError(
      'CROSS_TENANT_REFUSED',
      `the request names several tenants (${named.join(', ')}): one command serves one tenant; a cross-tenant export must be explicit (--cross-tenant)`,
    );
  }
  const config = loadConfig(req.config, req.env);
  const presented = presentedToken(req.token, req.env);
  const required = [...req.scopes];
  if (named.length > 1) required.push(SCOPE.crossTenant);

  if (!presented) {
    if (config.requireToken) {
      throw tenantError(
        'TOKEN_REQUIRED',
        `token check failed: the configuration ${config.source} requires an Authority token: pass --token FILE or set STELLAOPS_TOKEN`,
      );
    }
    const tenant = requireTenantId(named[0]);
    return {
      tenant,
      tenants: named,
      actor: resolveActor(req.actor, req.env),
      scopes: [...new Set(required)].sort(),
      abac: {},
      token: null,
    };
  }

  const jwksPath = req.authorityJwks ?? config.authority.jwks;
  if (jwksPath === undefined) {
    throw usageError(
      'JWKS_REQUIRED',
      `a token was presented but no Authority key set is configured: pass --authority-jwks FILE or set authority.jwks in the config file`,
    );
  }
  const jwks = await loadJwks(jwksPath);
  const claims = await verifyToken(presented, { authority: config.authority, jwks, now: req.now });

  const header = named[0];
  if (header !== undefined && header !== claims.tenant) {
    const where = req.tenants?.length ? '--tenant' : 'STELLAOPS_TENANT';
    throw tenantError(
      'TENANT_MISMATCH',
      `tenant check failed (tenant mismatch): the token is for tenant ${claims.tenant}, but ${where} names ${header}: a token never reaches another tenant's data`,
    );
  }
  const tenants = named.length ? named : [claims.tenant];

  const missing = missingScopes(claims.scopes, required);
  if (missing.length) {
    const list = missing.map((s) => `${s} (${purposeOf(s)})`).join(', ');
    throw tenantError('SCOPE_MISSING', `scope check failed: the token lacks the scope ${list}; it grants: ${claims.scopes.join(' ') || '(none)'}`);
  }
  if (tenants.length > 1) {
    const outside = tenants.filter((t) => !claims.allowedTenants.includes(t));
    if (outside.length) {
      throw tenantError(
        'TENANT_NOT_ALLOWED',
        `tenant check failed: a cross-tenant export needs every tenant in the token's ${CLAIM.allowedTenants} claim; missing: ${outside.join(', ')}`,
      );
    }
  }
  if (req.actor !== undefined && req.actor !== claims.subject) {
    throw tenantError(
      'ACTOR_MISMATCH',
      `actor check failed: with a token the actor is its subject ${JSON.stringify(claims.subject)}, but --actor names ${JSON.stringify(req.actor)}`,
    );
  }
  let actor: string;
  try {
    actor = resolveActor(claims.subject, {});
  } catch {
    throw tenantError('TOKEN_SUBJECT', `subject check failed: the token's sub claim is not a usable actor name (1 to 256 printable characters)`);
  }
  return {
    tenant: claims.tenant,
    tenants,
    actor,
    scopes: [...new Set(required)].sort(),
    abac: claims.abac,
    token: { issuer: claims.issuer, subject: claims.subject, jti: claims.jti },
  };
}

/** --tenant values, else STELLAOPS_TENANT; each must be a slug (exit 2 otherwise). */
function namedTenants(req: AuthRequest): string[] {
  const flags = req.tenants ?? [];
  if (flags.length) return [...new Set(flags.map((t) => requireTenantId(t)))];
  const env = req.env.STELLAOPS_TENANT;
  if (env === undefined || env === '') return [];
  return [requireTenantId(env, 'STELLAOPS_TENANT')];
}

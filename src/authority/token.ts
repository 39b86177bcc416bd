import { readFileSync } from 'node:fs';
import type * as Jose from 'jose';
import type { JWTPayload, JWTVerifyOptions, JWTVerifyResult, ProtectedHeaderParameters } from 'jose';
import { StellaError, tenantError, usageError } from '../errors.js';
import { JsonSyntaxError, parseStrictJsonBytes } from '../json/strict-parse.js';
import { isTenantId, parseScopeArgs, SCOPE_NAMES, type Scope } from '../util/tenant.js';
import { DEFAULT_CLOCK_SKEW_SECONDS, type AuthorityConfig } from './config.js';
import { loadJose } from './jose.js';
import { ALLOWED_ALGORITHMS, type Jwks } from './jwks.js';

/** Claim names of the StellaOps Authority. */
export const CLAIM = {
  tenant: 'stellaops:tenant',
  allowedTenants: 'stellaops:allowed_tenants',
  environment: 'stellaops:environment',
  project: 'stellaops:project',
  workspace: 'stellaops:workspace',
} as const;

export interface PresentedToken {
  jwt: string;
  /** Where it came from, for messages: never the token itself. */
  source: string;
}

/** What a verified token says, already checked for shape. */
export interface VerifiedToken {
  issuer: string | null;
  subject: string;
  jti: string | null;
  tenant: string;
  /** Granted scopes, from the space-separated `scope` claim. */
  scopes: string[];
  allowedTenants: string[];
  /** ABAC claims: each narrows what the token may see to one sub-scope value. */
  abac: Scope;
}

/** The token from `--token FILE`, else `STELLAOPS_TOKEN`; null when neither is given. */
export function presentedToken(flag: string | undefined, env: NodeJS.ProcessEnv): PresentedToken | null {
  if (flag !== undefined) {
    let text: string;
    try {
      text = readFileSync(flag, 'utf8');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw usageError('TOKEN_UNREADABLE', code === 'ENOENT' ? `token file ${flag} does not exist` : `cannot read token file ${flag} (${code})`);
    }
    const jwt = text.trim();
    if (jwt === '') throw usageError('TOKEN_MALFORMED', `token file ${flag} is empty`);
    return { jwt, source: `token file ${flag}` };
  }
  const fromEnv = env.STELLAOPS_TOKEN?.trim();
  if (fromEnv === undefined || fromEnv === '') return null;
  return { jwt: fromEnv, source: 'STELLAOPS_TOKEN' };
}

export interface VerifyTokenOptions {
  authority: AuthorityConfig;
  jwks: Jwks;
  /** Only unit tests pass a clock; the CLI always checks against the current time. */
  now?: Date;
}

/**
 * Verify a token offline. A token that cannot be decoded at all is an input error (2);
 * every check it then fails is a refusal (4) that names the check.
 */
export async function verifyToken(token: PresentedToken, opts: VerifyTokenOptions): Promise<VerifiedToken> {
  const jose = await loadJose();
  const header = decodeStructure(jose, token);
  const refuse = (code: string, check: string, why: string) =>
    tenantError(code, `Authority token from ${token.source} refused: ${check} check failed: ${why}`);
  const skew = opts.authority.clockSkewSeconds ?? DEFAULT_CLOCK_SKEW_SECONDS;
  const options: JWTVerifyOptions = {
    algorithms: [...ALLOWED_ALGORITHMS],
    requiredClaims: ['exp'],
    clockTolerance: skew,
  };
  if (opts.authority.issuer !== undefined) options.issuer = opts.authority.issuer;
  if (opts.authority.audience !== undefined) options.audience = opts.authority.audience;
  if (opts.now) options.currentDate = opts.now;

  let result: JWTVerifyResult;
  try {
    result = await verifyWithJwks(jose, token.jwt, opts.jwks, options);
  } catch (e) {
    throw explain(jose.errors, e, header, opts, skew, refuse);
  }
  return readClaims(result.payload, refuse);
}

/**
 * jose's local key set refuses to choose between several matching keys (no `kid`);
 * its documented answer is to try each candidate in turn, which we do.
 */
async function verifyWithJwks(jose: typeof Jose, jwt: string, jwks: Jwks, options: JWTVerifyOptions): Promise<JWTVerifyResult> {
  const { errors, jwtVerify } = jose;
  try {
    return await jwtVerify(jwt, jwks.getKey, options);
  } catch (e) {
    if (!(e instanceof errors.JWKSMultipleMatchingKeys)) throw e;
    let last: unknown = new errors.JWSSignatureVerificationFailed();
    for await (const key of e as unknown as AsyncIterable<Parameters<typeof jwtVerify>[1]>) {
      try {
        return await jwtVerify(jwt, key, options);
      } catch (inner) {
        last = inner;
        if (!(inner instanceof errors.JWSSignatureVerificationFailed)) break;
      }
    }
    throw last;
  }
}

/**
 * Decode header and claims without trusting them, only to tell "not a JWT" (exit 2)
 * from "a JWT that fails a check" (exit 4). Both parts are also parsed with the strict
 * parser: a duplicate claim name would let two readers see two different tenants.
 */
function decodeStructure(jose: typeof Jose, token: PresentedToken): ProtectedHeaderParameters {
  const { base64url, decodeJwt, decodeProtectedHeader } = jose;
  const notJwt = (why: string) => usageError('TOKEN_MALFORMED', `the token from ${token.source} is not a JWT: ${why}`);
  let header: ProtectedHeaderParameters;
  try {
    header = decodeProtectedHeader(token.jwt);
    decodeJwt(token.jwt);
  } catch (e) {
    throw notJwt((e as Error).message);
  }
  const [h, p] = token.jwt.split('.');
  for (const [part, text] of [['header', h], ['claims', p]] as const) {
    try {
      parseStrictJsonBytes(base64url.decode(text ?? ''));
    } catch (e) {
      throw notJwt(`${part}: ${e instanceof JsonSyntaxError ? e.message : 'not base64url JSON'}`);
    }
  }
  return header;
}

type Refuse = (code: string, check: string, why: string) => StellaError;

function explain(
  errors: typeof Jose.errors,
  e: unknown,
  header: ProtectedHeaderParameters,
  opts: VerifyTokenOptions,
  skew: number,
  refuse: Refuse,
): Error {
  const alg = typeof header.alg === 'string' ? header.alg : '(none)';
  const kid = typeof header.kid === 'string' ? `kid ${JSON.stringify(header.kid)}` : 'no kid';
  if (e instanceof errors.JOSEAlgNotAllowed) {
    return refuse('TOKEN_ALGORITHM', 'algorithm', `the token uses ${JSON.stringify(alg)}; only ${ALLOWED_ALGORITHMS.join(', ')} are accepted (never none or HMAC)`);
  }
  if (e instanceof errors.JWKSNoMatchingKey) {
    return refuse('TOKEN_UNKNOWN_KEY', 'signing key', `no key in the Authority JWKS ${opts.jwks.path} matches the token (${alg}, ${kid})`);
  }
  if (e instanceof errors.JWSSignatureVerificationFailed) {
    return refuse('TOKEN_SIGNATURE', 'signature', `the signature does not verify with the Authority key (${alg}, ${kid}): the token was altered or not issued by this Authority`);
  }
  if (e instanceof errors.JWTExpired) {
    return refuse('TOKEN_EXPIRED', 'expiry', `the token expired at ${timeOf(e.payload.exp)} (clock skew allowed: ${skew} s): obtain a fresh token`);
  }
  if (e instanceof errors.JWTClaimValidationFailed) {
    switch (e.claim) {
      case 'iss':
        return e.reason === 'missing'
          ? refuse('TOKEN_ISSUER', 'issuer', `the token has no iss claim; expected ${JSON.stringify(opts.authority.issuer)}`)
          : refuse('TOKEN_ISSUER', 'issuer', `the token was issued by ${JSON.stringify(e.payload.iss)}, expected ${JSON.stringify(opts.authority.issuer)}`);
      case 'aud':
        return refuse('TOKEN_AUDIENCE', 'audience', `the token's audience ${JSON.stringify(e.payload.aud ?? null)} does not include ${JSON.stringify(opts.authority.audience)}`);
      case 'nbf':
        return refuse('TOKEN_NOT_YET_VALID', 'not-before', `the token is not valid before ${timeOf(e.payload.nbf)} (clock skew allowed: ${skew} s)`);
      case 'exp':
        return refuse('TOKEN_EXPIRY', 'expiry', e.reason === 'missing' ? 'the token has no exp claim; tokens without an expiry are not accepted' : 'the exp claim is not a number');
      default:
        return refuse('TOKEN_CLAIMS', 'claims', `${e.claim}: ${e.message}`);
    }
  }
  if (e instanceof errors.JOSEError) return refuse('TOKEN_INVALID', 'token', e.message);
  return e instanceof Error ? e : new Error(String(e));
}

function timeOf(v: unknown): string {
  return typeof v === 'number' && Number.isFinite(v) ? new Date(v * 1000).toISOString().replace('.000Z', 'Z') : String(v);
}

/** The claims commands rely on, each checked for shape: a malformed claim is refused, never guessed around. */
function readClaims(p: JWTPayload, refuse: Refuse): VerifiedToken {
  const claims = p as Record<string, unknown>;
  if (typeof p.sub !== 'string' || p.sub === '') return fail(refuse('TOKEN_SUBJECT', 'subject', 'the token has no sub claim, so it names no actor'));
  if (p.iss !== undefined && typeof p.iss !== 'string') return fail(refuse('TOKEN_ISSUER', 'issuer', 'the iss claim is not a string'));
  if (p.jti !== undefined && typeof p.jti !== 'string') return fail(refuse('TOKEN_CLAIMS', 'token id', 'the jti claim is not a string'));

  const tenant = claims[CLAIM.tenant];
  if (tenant === undefined) return fail(refuse('TOKEN_TENANT', 'tenant', `the token carries no ${CLAIM.tenant} claim`));
  if (!isTenantId(tenant)) return fail(refuse('TOKEN_TENANT', 'tenant', `the token's ${CLAIM.tenant} claim ${JSON.stringify(tenant)} is not a tenant id`));

  const scopes = spaceList(claims.scope);
  if (!scopes) return fail(refuse('TOKEN_SCOPE_CLAIM', 'scope', 'the scope claim is not a space-separated string'));

  const allowed = claims[CLAIM.allowedTenants] === undefined ? [] : listClaim(claims[CLAIM.allowedTenants]);
  if (!allowed || !allowed.every(isTenantId)) {
    return fail(refuse('TOKEN_TENANT', 'tenant', `the ${CLAIM.allowedTenants} claim is not a list of tenant ids`));
  }

  const abac: Scope = {};
  for (const name of SCOPE_NAMES) {
    const v = claims[CLAIM[name]];
    if (v === undefined) continue;
    try {
      if (typeof v !== 'string') throw new Error();
      abac[name] = parseScopeArgs([`${name}=${v}`])[name]!;
    } catch {
      return fail(refuse('TOKEN_ABAC_CLAIM', 'ABAC', `the ${CLAIM[name]} claim ${JSON.stringify(v)} is not a valid ${name} value`));
    }
  }
  return {
    issuer: p.iss ?? null,
    subject: p.sub,
    jti: p.jti ?? null,
    tenant,
    scopes: [...new Set(scopes)].sort(),
    allowedTenants: [...new Set(allowed)].sort(),
    abac,
  };
}

function fail(e: StellaError): never {
  throw e;
}

function spaceList(v: unknown): string[] | null {
  if (v === undefined) return [];
  if (typeof v !== 'string') return null;
  return v.split(' ').filter((s) => s !== '');
}

/** A list claim may be a JSON array of strings or one space-separated string. */
function listClaim(v: unknown): string[] | null {
  if (Array.isArray(v)) return v.every((x) => typeof x === 'string') ? (v as string[]) : null;
  return spaceList(v);
}

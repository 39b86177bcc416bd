import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StellaError } from '../../src/errors.js';
import { configLocation, loadConfig, parseConfig } from '../../src/authority/config.js';
import { loadJwks, parseJwks, type Jwks } from '../../src/authority/jwks.js';
import { presentedToken, verifyToken } from '../../src/authority/token.js';
import { authorize, type AuthRequest } from '../../src/authority/context.js';
import { abacAllows, checkAbacSelectors, narrowScope, narrowSelectors } from '../../src/authority/abac.js';
import { missingScopes, SCOPE } from '../../src/authority/scopes.js';
import { authorizationOf, describeAuthorization } from '../../src/authority/record.js';
import { AUDIENCE, ISSUER, makeAuthority, type TestAuthority } from '../helpers/authority.js';

/** Run `f` and return the StellaError it throws (fails the test when it throws nothing else). */
async function refusal(f: () => unknown): Promise<StellaError> {
  try {
    await f();
  } catch (e) {
    if (e instanceof StellaError) return e;
    throw e;
  }
  throw new Error('expected a StellaError, nothing was thrown');
}

const authority = { issuer: ISSUER, audience: AUDIENCE };
let dir: string;
let auth: TestAuthority;
let jwks: Jwks;

const made: string[] = [];
const tempDir = (prefix: string): string => {
  const d = mkdtempSync(join(tmpdir(), prefix));
  made.push(d);
  return d;
};

beforeAll(async () => {
  dir = tempDir('se-authority-unit-');
  auth = await makeAuthority(dir);
  jwks = await loadJwks(auth.jwksPath);
});
afterAll(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

const verify = (jwt: string, over: Partial<{ issuer: string; audience: string; clockSkewSeconds: number }> = {}, now?: Date) =>
  verifyToken({ jwt, source: 'test' }, { authority: { ...authority, ...over }, jwks, now });

describe('config file', () => {
  it('is looked up in --config, then STELLA_EVIDENCE_CONFIG, then XDG_CONFIG_HOME, then ~/.config', () => {
    const env = { STELLA_EVIDENCE_CONFIG: '/e/c.json', XDG_CONFIG_HOME: '/x', HOME: '/h' };
    expect(configLocation('/f.json', env)).toMatchObject({ path: '/f.json', explicit: true });
    expect(configLocation(undefined, env)).toMatchObject({ path: '/e/c.json', explicit: true });
    expect(configLocation(undefined, { XDG_CONFIG_HOME: '/x', HOME: '/h' })).toMatchObject({ path: '/x/stella-evidence/config.json', explicit: false });
    expect(configLocation(undefined, { HOME: '/h' })).toMatchObject({ path: '/h/.config/stella-evidence/config.json', explicit: false });
    // A relative XDG_CONFIG_HOME is invalid per the XDG spec and ignored.
    expect(configLocation(undefined, { XDG_CONFIG_HOME: 'rel', HOME: '/h' }).path).toBe('/h/.config/stella-evidence/config.json');
  });

  it('is optional at the default location but required when named', async () => {
    const home = join(dir, 'empty-home');
    mkdirSync(home, { recursive: true });
    expect(loadConfig(undefined, { HOME: home })).toEqual({ authority: {}, requireToken: false, source: null });
    const e = await refusal(() => loadConfig(join(dir, 'nope.json'), {}));
    expect([e.category, e.code]).toEqual(['usage', 'CONFIG_UNREADABLE']);
    const e2 = await refusal(() => loadConfig(undefined, { STELLA_EVIDENCE_CONFIG: join(dir, 'nope.json') }));
    expect(e2.message).toContain('STELLA_EVIDENCE_CONFIG');
  });

  it('resolves a relative jwks path against the config file and keeps every field', () => {
    const c = parseConfig(
      Buffer.from(JSON.stringify({ authority: { jwks: 'keys/a.jwks', issuer: 'i', audience: 'a', clockSkewSeconds: 5 }, requireToken: true })),
      '/etc/stella/config.json',
    );
    expect(c).toEqual({
      authority: { jwks: '/etc/stella/keys/a.jwks', issuer: 'i', audience: 'a', clockSkewSeconds: 5 },
      requireToken: true,
      source: '/etc/stella/config.json',
    });
  });

  it.each([
    ['not JSON', '{"authority": '],
    ['a duplicate key', '{"requireToken": false, "requireToken": true}'],
    ['an unknown field', '{"authority": {"jwk": "x"}}'],
    ['a negative skew', '{"authority": {"clockSkewSeconds": -1}}'],
    ['a wrong type', '{"requireToken": "yes"}'],
  ])('refuses %s as an input error', async (_what, text) => {
    const e = await refusal(() => parseConfig(Buffer.from(text), 'c.json'));
    expect([e.category, e.code]).toEqual(['usage', 'CONFIG_INVALID']);
  });
});

describe('JWKS file', () => {
  const jwksError = async (doc: unknown) => refusal(() => parseJwks(Buffer.from(typeof doc === 'string' ? doc : JSON.stringify(doc)), 'k.jwks'));

  it('loads the public keys of all three algorithms', () => {
    expect(jwks.usableKeys).toBe(3);
  });

  it('refuses a missing file, non-JSON, and a document without keys (exit 2)', async () => {
    const e = await refusal(() => loadJwks(join(dir, 'missing.jwks')));
    expect([e.category, e.code]).toEqual(['usage', 'JWKS_UNREADABLE']);
    for (const doc of ['not json', '[]', { keys: {} }, { keys: [{ kid: 'x' }] }]) {
      const e2 = await jwksError(doc);
      expect([e2.category, e2.code]).toEqual(['usage', 'JWKS_INVALID']);
    }
  });

  it('refuses symmetric keys and private key material', async () => {
    expect((await jwksError({ keys: [{ kty: 'oct', k: 'c2VjcmV0' }] })).message).toMatch(/symmetric/);
    const priv = await exportJWK(auth.keys.ed.privateKey);
    expect((await jwksError({ keys: [priv] })).message).toMatch(/private key material/);
  });

  it('refuses a key that cannot be imported and an RSA key under 2048 bits', async () => {
    expect((await jwksError({ keys: [{ kty: 'OKP', crv: 'Ed25519', x: 'AAAA' }] })).code).toBe('JWKS_INVALID');
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const e = await jwksError({ keys: [await exportJWK(small.publicKey)] });
    expect(e.message).toMatch(/1024-bit RSA key/);
  });
});

describe('token source', () => {
  it('reads --token FILE (trimmed), else STELLAOPS_TOKEN, else none', () => {
    const f = join(dir, 'tok.jwt');
    writeFileSync(f, '  a.b.c\n');
    expect(presentedToken(f, { STELLAOPS_TOKEN: 'x.y.z' })).toEqual({ jwt: 'a.b.c', source: `token file ${f}` });
    expect(presentedToken(undefined, { STELLAOPS_TOKEN: 'x.y.z' })).toEqual({ jwt: 'x.y.z', source: 'STELLAOPS_TOKEN' });
    expect(presentedToken(undefined, { STELLAOPS_TOKEN: '' })).toBeNull();
    expect(presentedToken(undefined, {})).toBeNull();
  });

  it('refuses an unreadable or empty token file as an input error', async () => {
    expect((await refusal(() => presentedToken(join(dir, 'none.jwt'), {}))).code).toBe('TOKEN_UNREADABLE');
    const f = join(dir, 'empty.jwt');
    writeFileSync(f, '\n');
    expect((await refusal(() => presentedToken(f, {}))).category).toBe('usage');
  });
});

describe('token verification', () => {
  it.each(['ed', 'ec', 'rsa'] as const)('accepts a valid %s token and reads its claims', async (key) => {
    const t = await verify(
      await auth.mint({
        key,
        claims: {
          'stellaops:allowed_tenants': ['globex', 'acme'],
          'stellaops:environment': 'prod',
          scope: 'export:run  evidence:read export:run',
        },
      }),
    );
    expect(t).toEqual({
      issuer: ISSUER,
      subject: 'alice@acme',
      jti: 'tok-0001',
      tenant: 'acme',
      scopes: ['evidence:read', 'export:run'],
      allowedTenants: ['acme', 'globex'],
      abac: { environment: 'prod' },
    });
  });

  const refused = async (jwt: string, code: string, check: RegExp, over = {}, now?: Date) => {
    const e = await refusal(() => verify(jwt, over, now));
    expect(e.category, e.message).toBe('tenant');
    expect(e.code, e.message).toBe(code);
    expect(e.message).toMatch(check);
    expect(e.message).not.toContain(jwt);
  };

  it('refuses an expired token', async () => {
    const now = Math.floor(Date.now() / 1000);
    await refused(await auth.mint({ claims: { iat: now - 7200, exp: now - 3600 } }), 'TOKEN_EXPIRED', /expiry check failed/);
  });

  it('refuses a token that is not yet valid', async () => {
    const now = Math.floor(Date.now() / 1000);
    await refused(await auth.mint({ claims: { nbf: now + 3600 } }), 'TOKEN_NOT_YET_VALID', /not-before check failed/);
  });

  it('applies the clock skew to exp and nbf (default 60 s)', async () => {
    const at = new Date('2030-01-01T00:00:00Z');
    const t0 = at.getTime() / 1000;
    const justExpired = await auth.mint({ claims: { iat: t0 - 600, exp: t0 - 30 } });
    const almostValid = await auth.mint({ claims: { iat: t0, nbf: t0 + 30, exp: t0 + 600 } });
    await expect(verify(justExpired, {}, at)).resolves.toMatchObject({ tenant: 'acme' });
    await expect(verify(almostValid, {}, at)).resolves.toMatchObject({ tenant: 'acme' });
    await refused(justExpired, 'TOKEN_EXPIRED', /skew allowed: 0 s/, { clockSkewSeconds: 0 }, at);
    await refused(almostValid, 'TOKEN_NOT_YET_VALID', /not valid before 2030-01-01T00:00:30Z/, { clockSkewSeconds: 10 }, at);
    const longExpired = await auth.mint({ claims: { iat: t0 - 600, exp: t0 - 61 } });
    await refused(longExpired, 'TOKEN_EXPIRED', /expired at 2029-12-31T23:58:59Z/, {}, at);
  });

  it('requires exp', async () => {
    await refused(await auth.mint({ claims: { exp: undefined } }), 'TOKEN_EXPIRY', /no exp claim/);
  });

  it('checks iss when an issuer is configured, and only then', async () => {
    const other = await auth.mint({ claims: { iss: 'https://evil.example' } });
    await refused(other, 'TOKEN_ISSUER', /issuer check failed: .*evil\.example/);
    await refused(await auth.mint({ claims: { iss: undefined } }), 'TOKEN_ISSUER', /no iss claim/);
    const noIssuer = await verifyToken({ jwt: other, source: 't' }, { authority: { audience: AUDIENCE }, jwks });
    expect(noIssuer.issuer).toBe('https://evil.example');
  });

  it('checks that aud contains the configured audience', async () => {
    await refused(await auth.mint({ claims: { aud: 'someone-else' } }), 'TOKEN_AUDIENCE', /audience check failed/);
    await expect(verify(await auth.mint({ claims: { aud: AUDIENCE } }))).resolves.toMatchObject({ tenant: 'acme' });
  });

  it('refuses a token signed by a key the JWKS does not hold', async () => {
    await refused(await auth.mint({ key: 'rogue' }), 'TOKEN_UNKNOWN_KEY', /signing key check failed: .*rogue-ed25519/);
  });

  it('refuses a token signed by another key under a published kid', async () => {
    await refused(await auth.mint({ key: 'rogue', kid: auth.keys.ed.kid }), 'TOKEN_SIGNATURE', /signature check failed/);
  });

  it('refuses alg none', async () => {
    await refused(auth.unsigned(), 'TOKEN_ALGORITHM', /algorithm check failed: the token uses "none"/);
  });

  it('refuses HS256 signed with the public key as the secret', async () => {
    await refused(await auth.hmacWithPublicKey(), 'TOKEN_ALGORITHM', /"HS256"/);
  });

  it('refuses a token whose claims were altered after signing', async () => {
    await refused(await auth.tampered({ 'stellaops:tenant': 'globex' }), 'TOKEN_SIGNATURE', /altered/);
  });

  it('tries every candidate key when a token has no kid', async () => {
    const second = generateKeyPairSync('ed25519');
    const two = await parseJwks(
      Buffer.from(JSON.stringify({ keys: [await exportJWK(auth.keys.ed.publicKey), await exportJWK(second.publicKey)] })),
      'two.jwks',
    );
    const jwt = await new SignJWT(auth.claims()).setProtectedHeader({ alg: 'EdDSA' }).sign(second.privateKey);
    await expect(verifyToken({ jwt, source: 't' }, { authority, jwks: two })).resolves.toMatchObject({ tenant: 'acme' });
    const rogue = await new SignJWT(auth.claims()).setProtectedHeader({ alg: 'EdDSA' }).sign(auth.keys.rogue.privateKey);
    const e = await refusal(() => verifyToken({ jwt: rogue, source: 't' }, { authority, jwks: two }));
    expect(e.code).toBe('TOKEN_SIGNATURE');
  });

  it.each([
    ['garbage', 'not-a-token'],
    ['two parts', 'eyJhbGciOiJFZERTQSJ9.e30'],
    ['a header that is not JSON', `${Buffer.from('{"alg":').toString('base64url')}.e30.c2ln`],
    ['claims that are not JSON', `${Buffer.from('{"alg":"EdDSA"}').toString('base64url')}.${Buffer.from('nope').toString('base64url')}.c2ln`],
    ['a duplicate claim', `${Buffer.from('{"alg":"EdDSA"}').toString('base64url')}.${Buffer.from('{"stellaops:tenant":"acme","stellaops:tenant":"globex"}').toString('base64url')}.c2ln`],
  ])('refuses %s as not a JWT (input error)', async (_what, jwt) => {
    const e = await refusal(() => verify(jwt));
    expect([e.category, e.code]).toEqual(['usage', 'TOKEN_MALFORMED']);
  });

  it.each([
    ['no tenant claim', { 'stellaops:tenant': undefined }, 'TOKEN_TENANT'],
    ['a tenant claim that is not a slug', { 'stellaops:tenant': '../globex' }, 'TOKEN_TENANT'],
    ['no subject', { sub: undefined }, 'TOKEN_SUBJECT'],
    ['a scope claim that is a list', { scope: ['export:run'] }, 'TOKEN_SCOPE_CLAIM'],
    ['allowed tenants that are not slugs', { 'stellaops:allowed_tenants': ['Acme!'] }, 'TOKEN_TENANT'],
    ['an ABAC claim that is not a string', { 'stellaops:project': 7 }, 'TOKEN_ABAC_CLAIM'],
    ['a jti that is not a string', { jti: 1 }, 'TOKEN_CLAIMS'],
  ])('refuses a signed token with %s', async (_what, claims, code) => {
    const e = await refusal(async () => verify(await auth.mint({ claims })));
    expect([e.category, e.code]).toEqual(['tenant', code]);
  });

  it('reads a space-separated allowed-tenants claim too', async () => {
    const t = await verify(await auth.mint({ claims: { 'stellaops:allowed_tenants': 'globex acme' } }));
    expect(t.allowedTenants).toEqual(['acme', 'globex']);
  });
});

describe('authorize: tenant, scopes, actor', () => {
  let cfg: string;
  beforeAll(() => {
    cfg = join(dir, 'config.json');
    writeFileSync(cfg, JSON.stringify({ authority: { jwks: auth.jwksPath, issuer: ISSUER, audience: AUDIENCE } }));
  });
  const req = (over: Partial<AuthRequest>): AuthRequest => ({ config: cfg, scopes: [SCOPE.export], env: {}, ...over });
  const tokenReq = async (claims: Record<string, unknown>, over: Partial<AuthRequest> = {}) =>
    req({ token: auth.tokenFile('t', await auth.mint({ claims })), ...over });

  it('without a token uses the named tenant and records no token', async () => {
    const ctx = await authorize(req({ tenants: ['acme'], actor: 'bob' }));
    expect(ctx).toEqual({ tenant: 'acme', tenants: ['acme'], actor: 'bob', scopes: ['export:run'], abac: {}, token: null });
    expect(authorizationOf(ctx)).toEqual({ token: false });
    const fromEnv = await authorize(req({ env: { STELLAOPS_TENANT: 'globex', STELLA_EVIDENCE_ACTOR: 'carol' } }));
    expect(fromEnv).toMatchObject({ tenant: 'globex', actor: 'carol' });
  });

  it('without a token and without a tenant there is no fallback (exit 2)', async () => {
    const e = await refusal(() => authorize(req({})));
    expect([e.category, e.code]).toEqual(['usage', 'TENANT_REQUIRED']);
  });

  it('refuses a missing token when the config requires one', async () => {
    const strict = join(dir, 'strict.json');
    writeFileSync(strict, JSON.stringify({ requireToken: true }));
    const e = await refusal(() => authorize(req({ config: strict, tenants: ['acme'] })));
    expect([e.category, e.code]).toEqual(['tenant', 'TOKEN_REQUIRED']);
  });

  it("takes the tenant and the actor from a token", async () => {
    const ctx = await authorize(await tokenReq({ 'stellaops:workspace': 'ws1' }));
    expect(ctx).toEqual({
      tenant: 'acme',
      tenants: ['acme'],
      actor: 'alice@acme',
      scopes: ['export:run'],
      abac: { workspace: 'ws1' },
      token: { issuer: ISSUER, subject: 'alice@acme', jti: 'tok-0001' },
    });
    expect(authorizationOf(ctx)).toEqual({ token: true, issuer: ISSUER, subject: 'alice@acme', jti: 'tok-0001', scopes: ['export:run'] });
    expect(describeAuthorization(authorizationOf(ctx))).toContain('alice@acme');
  });

  it('accepts --tenant or STELLAOPS_TENANT equal to the token tenant, refuses any other', async () => {
    await expect(authorize(await tokenReq({}, { tenants: ['acme'] }))).resolves.toMatchObject({ tenant: 'acme' });
    await expect(authorize(await tokenReq({}, { env: { STELLAOPS_TENANT: 'acme' } }))).resolves.toMatchObject({ tenant: 'acme' });
    const e = await refusal(async () => authorize(await tokenReq({}, { tenants: ['globex'] })));
    expect([e.category, e.code]).toEqual(['tenant', 'TENANT_MISMATCH']);
    expect(e.message).toMatch(/tenant mismatch.*acme.*--tenant names globex/);
    const e2 = await refusal(async () => authorize(await tokenReq({}, { env: { STELLAOPS_TENANT: 'globex' } })));
    expect(e2.message).toMatch(/STELLAOPS_TENANT names globex/);
  });

  it('an invalid tenant id in the header is an input error before any token check', async () => {
    const e = await refusal(() => authorize(req({ token: join(dir, 'absent.jwt'), tenants: ['Acme'] })));
    expect([e.category, e.code]).toEqual(['usage', 'TENANT_INVALID']);
  });

  it('refuses a token without the required scope, naming it', async () => {
    const e = await refusal(async () => authorize(await tokenReq({ scope: 'evidence:read' })));
    expect([e.category, e.code]).toEqual(['tenant', 'SCOPE_MISSING']);
    expect(e.message).toContain('export:run');
  });

  it('cross-tenant requests need export:cross-tenant and every tenant in allowed_tenants', async () => {
    const tenants = ['acme', 'globex'];
    const noFlag = await refusal(async () => authorize(await tokenReq({}, { tenants })));
    expect(noFlag.code).toBe('CROSS_TENANT_REFUSED');
    const noScope = await refusal(async () =>
      authorize(await tokenReq({ 'stellaops:allowed_tenants': tenants }, { tenants, crossTenant: true })),
    );
    expect(noScope.message).toContain('export:cross-tenant');
    const notAllowed = await refusal(async () =>
      authorize(await tokenReq({ scope: 'export:run export:cross-tenant', 'stellaops:allowed_tenants': ['acme'] }, { tenants, crossTenant: true })),
    );
    expect([notAllowed.code, notAllowed.message.includes('globex')]).toEqual(['TENANT_NOT_ALLOWED', true]);
    const ok = await authorize(
      await tokenReq({ scope: 'export:run export:cross-tenant', 'stellaops:allowed_tenants': tenants }, { tenants, crossTenant: true }),
    );
    expect(ok).toMatchObject({ tenant: 'acme', tenants, scopes: ['export:cross-tenant', 'export:run'] });
  });

  it('refuses an --actor other than the token subject', async () => {
    await expect(authorize(await tokenReq({}, { actor: 'alice@acme' }))).resolves.toMatchObject({ actor: 'alice@acme' });
    const e = await refusal(async () => authorize(await tokenReq({}, { actor: 'mallory' })));
    expect([e.category, e.code]).toEqual(['tenant', 'ACTOR_MISMATCH']);
  });

  it('--authority-jwks overrides the configured key set; a token without any key set is an input error', async () => {
    const other = await makeAuthority(tempDir('se-authority-other-'));
    // Same kids, other key material: the override is what the signature is checked against.
    const e = await refusal(async () => authorize(await tokenReq({}, { authorityJwks: other.jwksPath })));
    expect(e.code).toBe('TOKEN_SIGNATURE');
    const theirs = auth.tokenFile('theirs', await other.mint());
    await expect(authorize(req({ token: theirs, authorityJwks: other.jwksPath }))).resolves.toMatchObject({ tenant: 'acme' });
    const bare = join(dir, 'bare.json');
    writeFileSync(bare, '{}');
    const e2 = await refusal(async () => authorize(await tokenReq({}, { config: bare })));
    expect([e2.category, e2.code]).toEqual(['usage', 'JWKS_REQUIRED']);
  });
});

describe('ABAC', () => {
  it('narrows visibility to artifacts carrying the claimed value', () => {
    expect(abacAllows({}, {})).toBe(true);
    expect(abacAllows({ environment: 'prod' }, { environment: 'prod', project: 'p' })).toBe(true);
    expect(abacAllows({ environment: 'prod' }, { environment: 'dev' })).toBe(false);
    expect(abacAllows({ environment: 'prod' }, {})).toBe(false);
    expect(abacAllows({ environment: 'prod', project: 'p' }, { environment: 'prod' })).toBe(false);
  });

  it('fills the claimed value into an ingest scope and refuses a contradiction', async () => {
    expect(narrowScope({ environment: 'prod' }, { project: 'x' })).toEqual({ environment: 'prod', project: 'x' });
    expect(narrowScope({ environment: 'prod' }, { environment: 'prod' })).toEqual({ environment: 'prod' });
    expect(narrowScope({}, { workspace: 'w' })).toEqual({ workspace: 'w' });
    const e = await refusal(() => narrowScope({ environment: 'prod' }, { environment: 'dev' }));
    expect([e.category, e.code]).toEqual(['tenant', 'ABAC_REFUSED']);
    expect(e.message).toMatch(/ABAC check failed.*stellaops:environment.*environment=dev/);
  });

  it('refuses a selector naming another value, passes matching and unrelated selectors', async () => {
    expect(() => checkAbacSelectors({ project: 'p' }, [{ name: 'project', value: 'p' }, { name: 'kind', value: 'sbom' }, { name: 'environment', value: 'dev' }])).not.toThrow();
    const e = await refusal(() => checkAbacSelectors({ project: 'p' }, [{ name: 'project', value: 'p' }, { name: 'project', value: 'q' }]));
    expect(e.code).toBe('ABAC_REFUSED');
  });
});

describe('ABAC on store selections', () => {
  it('pins claimed names, keeps other selectors and sorts the keys', () => {
    expect(narrowSelectors({}, { kind: ['sbom'] })).toEqual({ kind: ['sbom'] });
    const narrowed = narrowSelectors({ workspace: 'w1', environment: 'prod' }, { kind: ['sbom'], 'label.team': ['a', 'b'], environment: ['prod'] });
    expect(narrowed).toEqual({ environment: ['prod'], kind: ['sbom'], 'label.team': ['a', 'b'], workspace: ['w1'] });
    expect(Object.keys(narrowed)).toEqual(['environment', 'kind', 'label.team', 'workspace']);
  });

  it('refuses a selection that names another value of a claimed name, even among alternatives', async () => {
    const e = await refusal(() => narrowSelectors({ environment: 'prod' }, { environment: ['dev', 'prod'] }));
    expect([e.category, e.code]).toEqual(['tenant', 'ABAC_REFUSED']);
    // A label that happens to be called like a sub-scope name is a label, not the sub-scope.
    expect(narrowSelectors({ environment: 'prod' }, { 'label.environment': ['dev'] })).toEqual({ environment: ['prod'], 'label.environment': ['dev'] });
  });
});

describe('scopes', () => {
  it('lists the missing ones, sorted and once', () => {
    expect(missingScopes(['evidence:read'], ['export:run', 'evidence:read', 'audit:read', 'export:run'])).toEqual(['audit:read', 'export:run']);
    expect(missingScopes(['a'], [])).toEqual([]);
  });
});

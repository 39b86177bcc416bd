/**
 * A test Authority: key pairs generated at test time (Ed25519, P-256, RSA), their public
 * halves written as a JWKS file, and tokens minted with jose, including the malformed and
 * hostile ones a real Authority would never issue.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { base64url, exportJWK, SignJWT, UnsecuredJWT, type JWK } from 'jose';

export type KeyName = 'ed' | 'ec' | 'rsa' | 'rogue';

interface TestKey {
  kid: string;
  alg: 'EdDSA' | 'ES256' | 'RS256';
  privateKey: KeyObject;
  publicKey: KeyObject;
}

export const ISSUER = 'https://authority.stella-ops.test';
export const AUDIENCE = 'stella-evidence';
export const ALL_SCOPES = 'evidence:write evidence:read export:run audit:read';

export const nowSeconds = (): number => Math.floor(Date.now() / 1000);

export interface MintOptions {
  key?: KeyName;
  /** Claims merged over the defaults; a value of undefined removes a default claim. */
  claims?: Record<string, unknown>;
  /** Overrides the kid header (null: no kid). */
  kid?: string | null;
}

export interface TestAuthority {
  jwksPath: string;
  /** The JWKS document written to jwksPath (public keys only). */
  jwks: { keys: JWK[] };
  keys: Record<KeyName, TestKey>;
  mint(opts?: MintOptions): Promise<string>;
  /** The default claims of a valid token for `tenant` (times relative to now). */
  claims(tenant?: string): Record<string, unknown>;
  /** Write a token to a file and return its path. */
  tokenFile(name: string, jwt: string): string;
  /** `alg: none`: no signature at all. */
  unsigned(claims?: Record<string, unknown>): string;
  /** HS256 with the RSA key's public PEM as the HMAC secret, carrying that key's kid. */
  hmacWithPublicKey(claims?: Record<string, unknown>): Promise<string>;
  /** A valid token whose claims were edited after signing. */
  tampered(edit: Record<string, unknown>): Promise<string>;
}

function keyPair(kind: 'ed25519' | 'ec' | 'rsa'): { privateKey: KeyObject; publicKey: KeyObject } {
  if (kind === 'ed25519') return generateKeyPairSync('ed25519');
  if (kind === 'ec') return generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return generateKeyPairSync('rsa', { modulusLength: 2048 });
}

export async function makeAuthority(dir: string): Promise<TestAuthority> {
  const keys: Record<KeyName, TestKey> = {
    ed: { kid: 'authority-ed25519', alg: 'EdDSA', ...keyPair('ed25519') },
    ec: { kid: 'authority-p256', alg: 'ES256', ...keyPair('ec') },
    rsa: { kid: 'authority-rsa', alg: 'RS256', ...keyPair('rsa') },
    // Never published in the JWKS.
    rogue: { kid: 'rogue-ed25519', alg: 'EdDSA', ...keyPair('ed25519') },
  };
  const jwks = { keys: [] as JWK[] };
  for (const name of ['ed', 'ec', 'rsa'] as const) {
    const k = keys[name];
    jwks.keys.push({ ...(await exportJWK(k.publicKey)), kid: k.kid, alg: k.alg, use: 'sig' });
  }
  const jwksPath = join(dir, 'authority.jwks.json');
  writeFileSync(jwksPath, JSON.stringify(jwks, null, 2));

  const claims = (tenant = 'acme'): Record<string, unknown> => {
    const now = nowSeconds();
    return {
      iss: ISSUER,
      aud: [AUDIENCE, 'other-service'],
      sub: 'alice@acme',
      jti: 'tok-0001',
      iat: now,
      exp: now + 3600,
      scope: ALL_SCOPES,
      'stellaops:tenant': tenant,
    };
  };
  const merged = (over: Record<string, unknown> = {}) => {
    const c: Record<string, unknown> = { ...claims(), ...over };
    for (const [k, v] of Object.entries(c)) if (v === undefined) delete c[k];
    return c;
  };

  const mint = async (opts: MintOptions = {}): Promise<string> => {
    const k = keys[opts.key ?? 'ed'];
    const header: { alg: string; kid?: string; typ: string } = { alg: k.alg, typ: 'JWT' };
    const kid = opts.kid === undefined ? k.kid : opts.kid;
    if (kid !== null) header.kid = kid;
    return new SignJWT(merged(opts.claims)).setProtectedHeader(header).sign(k.privateKey);
  };

  let n = 0;
  return {
    jwksPath,
    jwks,
    keys,
    mint,
    claims,
    tokenFile(name, jwt) {
      const p = join(dir, `${name}-${n++}.jwt`);
      writeFileSync(p, jwt + '\n');
      return p;
    },
    unsigned(over) {
      return new UnsecuredJWT(merged(over)).encode();
    },
    async hmacWithPublicKey(over) {
      const secret = new TextEncoder().encode(keys.rsa.publicKey.export({ type: 'spki', format: 'pem' }) as string);
      return new SignJWT(merged(over)).setProtectedHeader({ alg: 'HS256', kid: keys.rsa.kid, typ: 'JWT' }).sign(secret);
    },
    async tampered(edit) {
      const [h, , s] = (await mint()).split('.');
      const body = base64url.encode(JSON.stringify(merged(edit)));
      return `${h}.${body}.${s}`;
    },
  };
}

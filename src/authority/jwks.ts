import { readFileSync } from 'node:fs';
import type { JWK, JWTVerifyGetKey } from 'jose';
import { usageError } from '../errors.js';
import { JsonSyntaxError, parseStrictJsonBytes } from '../json/strict-parse.js';
import { loadJose } from './jose.js';

/**
 * The only token algorithms accepted. Asymmetric only: with an HMAC algorithm anyone
 * holding the Authority's *public* key could mint tokens, and `none` needs no key at all.
 */
export const ALLOWED_ALGORITHMS = ['EdDSA', 'ES256', 'RS256'] as const;

const MIN_RSA_BITS = 2048;

export interface Jwks {
  path: string;
  getKey: JWTVerifyGetKey;
  /** Keys usable with an allowed algorithm (others can never verify a token). */
  usableKeys: number;
}

/**
 * Load the Authority's JWKS. Everything wrong with the file itself is an input error
 * (exit 2) found here, before any token is looked at, so a broken key set is never
 * reported as a token failing a check.
 */
export async function loadJwks(path: string): Promise<Jwks> {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw usageError('JWKS_UNREADABLE', code === 'ENOENT' ? `Authority JWKS file ${path} does not exist` : `cannot read Authority JWKS file ${path} (${code})`);
  }
  return parseJwks(bytes, path);
}

export async function parseJwks(bytes: Uint8Array, path: string): Promise<Jwks> {
  const bad = (why: string) => usageError('JWKS_INVALID', `invalid Authority JWKS file ${path}: ${why}`);
  let doc: unknown;
  try {
    doc = parseStrictJsonBytes(bytes);
  } catch (e) {
    throw bad(e instanceof JsonSyntaxError ? e.message : 'not JSON');
  }
  if (!isObject(doc) || !Array.isArray(doc.keys)) throw bad('expected a JSON object with a "keys" array');
  const { createLocalJWKSet, importJWK } = await loadJose();
  let usableKeys = 0;
  for (const [i, key] of doc.keys.entries()) {
    const name = isObject(key) && typeof key.kid === 'string' ? `key ${JSON.stringify(key.kid)}` : `key #${i}`;
    if (!isObject(key) || typeof key.kty !== 'string') throw bad(`${name} is not a JWK (no "kty")`);
    if (key.kty === 'oct') throw bad(`${name} is a symmetric (oct) key: an Authority key set holds public keys only`);
    if ('d' in key || 'p' in key || 'k' in key) throw bad(`${name} contains private key material: give the Authority's public keys only`);
    const alg = algorithmFor(key);
    if (!alg) continue;
    let imported: unknown;
    try {
      imported = await importJWK(key as JWK, alg);
    } catch (e) {
      throw bad(`${name} (${alg}) cannot be imported: ${(e as Error).message}`);
    }
    const bits = (imported as { algorithm?: { modulusLength?: number } }).algorithm?.modulusLength;
    if (alg === 'RS256' && typeof bits === 'number' && bits < MIN_RSA_BITS) {
      throw bad(`${name} is a ${bits}-bit RSA key; at least ${MIN_RSA_BITS} bits are required`);
    }
    usableKeys++;
  }
  let getKey: JWTVerifyGetKey;
  try {
    getKey = createLocalJWKSet(doc as unknown as { keys: JWK[] });
  } catch (e) {
    throw bad((e as Error).message);
  }
  return { path, getKey, usableKeys };
}

/** The allowed algorithm a key would serve, mirroring how the JWKS picks keys; null if none. */
function algorithmFor(key: Record<string, unknown>): (typeof ALLOWED_ALGORITHMS)[number] | null {
  let alg: (typeof ALLOWED_ALGORITHMS)[number] | null = null;
  if (key.kty === 'OKP' && key.crv === 'Ed25519') alg = 'EdDSA';
  else if (key.kty === 'EC' && key.crv === 'P-256') alg = 'ES256';
  else if (key.kty === 'RSA') alg = 'RS256';
  if (alg === null) return null;
  if (key.alg !== undefined && key.alg !== alg) return null;
  if (key.use !== undefined && key.use !== 'sig') return null;
  return alg;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

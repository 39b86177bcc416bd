import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { usageError } from '../errors.js';
import { sha256Hex } from './sha256.js';

/** DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410); the raw key follows. */
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export interface PublicKey {
  /** Raw 32-byte Ed25519 public key. */
  readonly raw: Uint8Array;
  /** SubjectPublicKeyInfo DER: the identity of a key, whatever PEM text carried it. */
  readonly spki: Buffer;
  /** Lowercase hex SHA-256 of the SPKI DER. */
  readonly keyid: string;
}

export interface SigningKey extends PublicKey {
  readonly seed: Uint8Array;
}

export function publicKeyFromRaw(raw: Uint8Array): PublicKey {
  if (raw.length !== 32) throw usageError('KEY_INVALID', 'an Ed25519 public key has 32 bytes');
  const spki = Buffer.concat([SPKI_PREFIX, raw]);
  return { raw: new Uint8Array(raw), spki, keyid: sha256Hex(spki) };
}

export function publicKeyFromSpkiDer(der: Uint8Array, where: string): PublicKey {
  const b = Buffer.from(der);
  if (b.length !== 44 || !b.subarray(0, 12).equals(SPKI_PREFIX)) {
    throw usageError('KEY_INVALID', `${where} is not an Ed25519 public key (SPKI)`);
  }
  return publicKeyFromRaw(b.subarray(12));
}

export function spkiPem(key: PublicKey): string {
  const b64 = key.spki.toString('base64');
  return `-----BEGIN PUBLIC KEY-----\n${b64.replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END PUBLIC KEY-----\n`;
}

/** The raw parts of an Ed25519 key: its public key and, for a private key, its seed. */
function rawFromKeyObject<P extends 'x' | 'd'>(k: KeyObject, ...parts: P[]): Record<P, Buffer> {
  const jwk = k.export({ format: 'jwk' }) as { kty?: string; crv?: string; x?: string; d?: string };
  if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || parts.some((p) => !jwk[p])) {
    throw usageError('KEY_INVALID', 'not an Ed25519 key');
  }
  return Object.fromEntries(parts.map((p) => [p, Buffer.from(jwk[p]!, 'base64url')])) as Record<P, Buffer>;
}

/** Parse a PEM public key (SPKI) or, for convenience, derive it from a private key file. */
export function parsePublicKeyPem(pem: string, where: string): PublicKey {
  let obj: KeyObject;
  try {
    obj = createPublicKey({ key: pem, format: 'pem' });
  } catch {
    throw usageError('KEY_INVALID', `cannot read ${where}: not a PEM public key`);
  }
  if (obj.asymmetricKeyType !== 'ed25519') {
    throw usageError('KEY_INVALID', `${where} is a ${obj.asymmetricKeyType ?? 'unknown'} key: only Ed25519 is supported`);
  }
  return publicKeyFromRaw(rawFromKeyObject(obj, 'x').x);
}

export function parsePrivateKeyPem(pem: string, where: string, passphrase?: string): SigningKey {
  const encrypted = /-----BEGIN ENCRYPTED PRIVATE KEY-----/.test(pem);
  if (encrypted && passphrase === undefined) {
    throw usageError(
      'KEY_ENCRYPTED',
      `${where} is encrypted: give its passphrase with --passphrase-file or STELLA_EVIDENCE_PASSPHRASE`,
    );
  }
  let obj: KeyObject;
  try {
    obj = createPrivateKey(encrypted ? { key: pem, format: 'pem', passphrase: passphrase! } : { key: pem, format: 'pem' });
  } catch {
    throw usageError(
      'KEY_INVALID',
      encrypted ? `cannot decrypt ${where}: wrong passphrase or damaged key` : `cannot read ${where}: not a PEM private key`,
    );
  }
  if (obj.asymmetricKeyType !== 'ed25519') {
    throw usageError('KEY_INVALID', `${where} is a ${obj.asymmetricKeyType ?? 'unknown'} key: only Ed25519 is supported`);
  }
  // The public key as OpenSSL derives it with the key file's reading: deriving it in
  // pure JS costs the command some 30 ms of start-up (noble's first base-point
  // multiplication builds its tables). Every signature checks that it matches.
  const { d, x } = rawFromKeyObject(obj, 'd', 'x');
  return { ...publicKeyFromRaw(x), seed: new Uint8Array(d) };
}

export interface GeneratedKeyPair {
  privatePem: string;
  publicPem: string;
  keyid: string;
}

/** PKCS#8 (encrypted with PBES2/AES-256-CBC when a passphrase is given) and SPKI, both PEM. */
export function generateKeyPair(passphrase?: string): GeneratedKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const privatePem =
    passphrase === undefined
      ? (privateKey.export({ format: 'pem', type: 'pkcs8' }) as string)
      : (privateKey.export({ format: 'pem', type: 'pkcs8', cipher: 'aes-256-cbc', passphrase }) as string);
  const pub = publicKeyFromRaw(rawFromKeyObject(publicKey, 'x').x);
  return { privatePem, publicPem: spkiPem(pub), keyid: pub.keyid };
}

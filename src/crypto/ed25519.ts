import { createHash } from 'node:crypto';
import * as ed from '@noble/ed25519';

// Ed25519 hashes the whole message (twice when signing). A 100,000-artifact manifest is
// tens of megabytes: node:crypto's SHA-512 takes milliseconds where a pure-JS one took
// about a second of the export. Same function, so signatures are unchanged.
ed.hashes.sha512 = (m: Uint8Array): Uint8Array<ArrayBuffer> => {
  const d = createHash('sha512').update(m).digest();
  return new Uint8Array(d.buffer.slice(d.byteOffset, d.byteOffset + d.length) as ArrayBuffer);
};

/** Deterministic RFC 8032 Ed25519 signature. */
export function sign(message: Uint8Array, secretSeed: Uint8Array): Uint8Array {
  return ed.sign(message, secretSeed);
}

/**
 * Strict RFC 8032 verification (zip215: false): S must be below the group order, point
 * encodings must be canonical and small-order public keys are refused. The permissive
 * ZIP-215 rules would let one key/message pair accept several signatures.
 */
export function verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  if (signature.length !== 64 || publicKey.length !== 32) return false;
  try {
    return ed.verify(signature, message, publicKey, { zip215: false });
  } catch {
    return false;
  }
}

export function publicKeyOf(secretSeed: Uint8Array): Uint8Array {
  return ed.getPublicKey(secretSeed);
}

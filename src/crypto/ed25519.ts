import * as ed from '@noble/ed25519';
import { sha512 } from '@noble/hashes/sha2.js';

// The product's stack pins Ed25519 to @noble/ed25519 with @noble/hashes' SHA-512: one
// audited, pure implementation for signing and verification. Ed25519 hashes the whole
// DSSE PAE, so on very large manifests (100,000 artifacts, tens of MB) this costs about
// a second per signature; bulk file hashing stays on node:crypto's SHA-256.
ed.hashes.sha512 = sha512;

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

import * as ed from '@noble/ed25519';
import { sha512 } from '@noble/hashes/sha2.js';

// The product's stack pins Ed25519 to @noble/ed25519 with @noble/hashes' SHA-512: one
// audited, pure implementation for signing and verification. Ed25519 hashes the whole
// DSSE PAE, so on very large manifests (100,000 artifacts, tens of MB) this costs about
// a second per signature; bulk file hashing stays on node:crypto's SHA-256.
ed.hashes.sha512 = sha512;

/** Every Ed25519 signature is 64 bytes: R, then S little-endian. */
export const SIGNATURE_BYTES = 64;

/** Order of the base point (RFC 8032's L). */
const L = 2n ** 252n + 27742317777372353535851937790883648493n;

/**
 * Deterministic RFC 8032 Ed25519 signature (section 5.1.6), with noble's key expansion
 * and point arithmetic. The message is hashed where it lies: noble's own sign() copies
 * it three times, which is 75 MB of fresh memory for a 100,000-artifact manifest (its
 * page faults cost a third of a second here). A property test holds this equal to
 * noble's sign(). The message is read twice (for r, then for k): it must not change
 * during the call, or two different messages would share one nonce, which gives the key
 * away. The export's signing thread gets the manifest in memory nothing writes to again.
 */
export function sign(message: Uint8Array, secretSeed: Uint8Array, publicKey: Uint8Array): Uint8Array {
  const { prefix, scalar, pointBytes } = ed.utils.getExtendedPublicKey(secretSeed);
  // The public key a signer publishes comes from elsewhere (node:crypto reads it from the
  // key file): a signature it would not verify is refused here, not at verification.
  if (!equalBytes(pointBytes, publicKey)) throw new Error('the signing key does not match the public key given for it');
  const r = leToBigint(sha512.create().update(prefix).update(message).digest()) % L;
  const R = ed.Point.BASE.multiply(r).toBytes();
  const k = leToBigint(sha512.create().update(R).update(pointBytes).update(message).digest()) % L;
  const S = (r + k * scalar) % L;
  const sig = new Uint8Array(64);
  sig.set(R, 0);
  let v = S;
  for (let i = 32; i < 64; i++, v >>= 8n) sig[i] = Number(v & 0xffn);
  return sig;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function leToBigint(b: Uint8Array): bigint {
  let v = 0n;
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
  return v;
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

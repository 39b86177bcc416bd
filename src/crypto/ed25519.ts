import { createHash } from 'node:crypto';
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
 * noble's sign().
 */
export function sign(message: Uint8Array, secretSeed: Uint8Array, publicKey: Uint8Array): Uint8Array {
  return new Ed25519Signing(secretSeed, publicKey).update(message).finish(message);
}

/**
 * sign() in its two passes over the message, the first of them fed piece by piece: the
 * export's signing thread hashes the manifest for r while another thread is still making
 * it, and only the pass for k (which needs r's point R first) is left once it is made.
 * Each pass of noble's SHA-512 takes 0.2 to 0.5 s of a core over a 100,000-artifact
 * manifest, and the signature is the last thing an export waits for.
 *
 * Both passes must read the same bytes: were the message to differ between them, two
 * different messages would share one nonce, and two such signatures give the key away.
 * So finish() takes the whole message, checks it against a SHA-256 of the pieces the
 * first pass was given, and refuses to sign on any difference. In each pass both hashes
 * read one private copy of each piece in shared memory, which another thread could
 * otherwise change between the two reads. The check costs two SHA-256 passes and two
 * copies (node:crypto's, 30 to 40 ms for a 100,000-artifact manifest, a few percent of the
 * SHA-512 passes), paid by sign() too.
 */
export class Ed25519Signing {
  private readonly forR = sha512.create();
  private readonly seen = createHash('sha256');
  private readonly scalar: bigint;
  private readonly pointBytes: Uint8Array;
  private length = 0;
  private finished = false;

  constructor(secretSeed: Uint8Array, publicKey: Uint8Array) {
    const { prefix, scalar, pointBytes } = ed.utils.getExtendedPublicKey(secretSeed);
    // The public key a signer publishes comes from elsewhere (node:crypto reads it from
    // the key file): a signature it would not verify is refused here, not at verification.
    if (!equalBytes(pointBytes, publicKey)) throw new Error('the signing key does not match the public key given for it');
    this.scalar = scalar;
    this.pointBytes = pointBytes;
    this.forR.update(prefix);
  }

  /** The message's next bytes, in order. */
  update(piece: Uint8Array): this {
    if (this.finished) throw new Error('this signature is already made');
    for (let at = 0; at < piece.length; at += SLICE) {
      const own = privately(piece.subarray(at, at + SLICE));
      this.forR.update(own);
      this.seen.update(own);
    }
    this.length += piece.length;
    return this;
  }

  /** The signature of `message`, which must be exactly the bytes given to update(). */
  finish(message: Uint8Array): Uint8Array {
    if (this.finished) throw new Error('this signature is already made');
    this.finished = true;
    if (message.length !== this.length) throw new Error(`the message to sign is ${message.length} bytes, ${this.length} were hashed`);
    const r = leToBigint(this.forR.digest()) % L;
    const R = ed.Point.BASE.multiply(r).toBytes();
    const forK = sha512.create().update(R).update(this.pointBytes);
    const again = createHash('sha256');
    for (let at = 0; at < message.length; at += SLICE) {
      const own = privately(message.subarray(at, at + SLICE));
      forK.update(own);
      again.update(own);
    }
    if (!equalBytes(again.digest(), this.seen.digest())) throw new Error('the message to sign changed while it was being signed');
    const k = leToBigint(forK.digest()) % L;
    const S = (r + k * this.scalar) % L;
    const sig = new Uint8Array(64);
    sig.set(R, 0);
    let v = S;
    for (let i = 32; i < 64; i++, v >>= 8n) sig[i] = Number(v & 0xffn);
    return sig;
  }
}

/** Both passes read the message in slices, each hashed twice while in the CPU's cache. */
const SLICE = 1 << 16;
const copy = new Uint8Array(SLICE);

/**
 * Bytes in shared memory copied to memory only this thread reads (at most SLICE, valid
 * until the next call); any other bytes as they are, since nothing can change them while
 * this thread runs.
 */
function privately(bytes: Uint8Array): Uint8Array {
  if (!(bytes.buffer instanceof SharedArrayBuffer)) return bytes;
  copy.set(bytes);
  return copy.subarray(0, bytes.length);
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

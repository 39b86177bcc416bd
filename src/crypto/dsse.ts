import { isWellFormed, type JsonValue } from '../json/strict-parse.js';
import { sign, verify } from './ed25519.js';
import type { PublicKey, SigningKey } from './keys.js';
import { writePieces } from '../util/utf8.js';

export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';

export interface DsseSignature {
  keyid: string;
  sig: string;
}
export interface DsseEnvelope {
  payload: string;
  payloadType: string;
  signatures: DsseSignature[];
}

/** DSSE v1 pre-authentication encoding: what is actually signed. */
export function pae(payloadType: string, payload: Uint8Array): Buffer {
  return Buffer.concat([paeHeader(payloadType, payload.length), payload]);
}

/** What comes before the payload in pae(): "DSSEv1", then the type and payload lengths. */
function paeHeader(payloadType: string, payloadLength: number): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([Buffer.from(`DSSEv1 ${type.length} `, 'ascii'), type, Buffer.from(` ${payloadLength} `, 'ascii')]);
}

/** The envelope for signatures already made over `pae(payloadType, payload)`. */
export function envelopeOf(
  payloadType: string,
  payload: Uint8Array,
  signatures: readonly { keyid: string; sig: Uint8Array }[],
): DsseEnvelope {
  return {
    payload: Buffer.from(payload.buffer, payload.byteOffset, payload.length).toString('base64'),
    payloadType,
    signatures: signatures.map((s) => ({ keyid: s.keyid, sig: Buffer.from(s.sig).toString('base64') })),
  };
}

/** An envelope written before its signatures exist, with room for each. */
export interface EnvelopeTemplate {
  /** Bytes of the envelope. */
  readonly size: number;
  /**
   * The envelope's bytes in order, each signature a placeholder of its length: short
   * pieces, to be written out (to a file, say) without the whole envelope in memory.
   * Iterating them throws unless the payload has the length the template was made for.
   */
  pieces(payload: Uint8Array): Iterable<Uint8Array>;
  /** Where each signature's base64 goes (in slot order), offsets into the envelope. */
  signaturesAt(sigs: readonly Uint8Array[]): { at: number; bytes: Buffer }[];
  /** The whole envelope in memory, signatures in place. */
  fill(payload: Uint8Array, sigs: readonly Uint8Array[]): Buffer;
}

/**
 * The canonical JSON (RFC 8785) of `envelopeOf(...)`, written directly, in three steps: its
 * size, from the payload's length alone (an export places every entry after it before the
 * manifest is made); the payload's base64 (the bulk of the work); the signatures last, so
 * an export writes it while another thread signs. Members go in key order, strings
 * escaped by JSON.stringify as JCS specifies. A 100,000-artifact manifest makes a 24 MB
 * payload; its base64 is made in slices that go straight to where they are written.
 */
export function envelopeTemplate(
  payloadType: string,
  payloadLength: number,
  slots: readonly { keyid: string; sigBytes: number }[],
): EnvelopeTemplate {
  for (const s of [payloadType, ...slots.map((x) => x.keyid)]) {
    if (!isWellFormed(s)) throw new TypeError('JCS cannot encode a lone surrogate');
  }
  const head = Buffer.from('{"payload":"', 'utf8');
  const b64 = base64Length(payloadLength);
  // Each signature's base64 goes between `"sig":"` and the closing quote.
  let tailText = `","payloadType":${JSON.stringify(payloadType)},"signatures":[`;
  const holes: { at: number; sigBytes: number }[] = [];
  slots.forEach((slot, k) => {
    tailText += `${k ? ',' : ''}{"keyid":${JSON.stringify(slot.keyid)},"sig":"`;
    holes.push({ at: head.length + b64 + Buffer.byteLength(tailText, 'utf8'), sigBytes: slot.sigBytes });
    tailText += `${'A'.repeat(base64Length(slot.sigBytes))}"}`;
  });
  tailText += ']}';
  const tail = Buffer.from(tailText, 'utf8');
  const size = head.length + b64 + tail.length;
  function* pieces(payload: Uint8Array): Generator<Uint8Array> {
    if (payload.length !== payloadLength) throw new Error(`a payload of ${payload.length} bytes for an envelope made for ${payloadLength}`);
    const src = Buffer.from(payload.buffer, payload.byteOffset, payload.length);
    yield head;
    // In slices of 48 KiB (whole base64 quanta): each one's 64 KiB string lives and dies
    // in the young generation, whose memory is reused. A larger string gets fresh pages of
    // its own, and a first touch of a page costs about 14 µs on this project's virtual
    // machine (3 MiB slices cost a 100,000-file export about 6,800 more page faults).
    let made = 0;
    for (let off = 0; off < src.length; off += BASE64_SLICE) {
      const slice = Buffer.from(src.subarray(off, off + BASE64_SLICE).toString('base64'), 'latin1');
      made += slice.length;
      yield slice;
    }
    if (made !== b64) throw new Error('base64 length mismatch');
    yield tail;
  }
  const signaturesAt = (sigs: readonly Uint8Array[]) => {
    if (sigs.length !== holes.length) throw new Error(`${sigs.length} signatures for ${holes.length} slots`);
    holes.forEach((h, k) => {
      if (sigs[k]!.length !== h.sigBytes) throw new Error(`signature ${k} is ${sigs[k]!.length} bytes, ${h.sigBytes} were reserved`);
    });
    return holes.map((h, k) => ({ at: h.at, bytes: Buffer.from(Buffer.from(sigs[k]!).toString('base64'), 'latin1') }));
  };
  let filled = false;
  return {
    size,
    pieces,
    signaturesAt,
    fill(payload, sigs) {
      if (filled) throw new Error('envelope template filled twice');
      const patches = signaturesAt(sigs);
      const out = Buffer.allocUnsafe(size);
      if (writePieces(out, 0, pieces(payload)) !== size) throw new Error('envelope length mismatch');
      for (const s of patches) s.bytes.copy(out, s.at);
      filled = true;
      return out;
    },
  };
}

/**
 * `pae(payloadType, text)` built in one buffer, for a text of `textBytes` bytes of UTF-8
 * given in pieces, in as many calls to write() as the caller likes (an export writes a
 * large manifest in slices, staying responsive meanwhile). The payload is a view of the
 * message's tail: no second copy of a large manifest. In shared memory on request, so a
 * signing thread reads it where it lies. Short pieces live and die in the young
 * generation, so the payload's memory is touched once, in the message.
 */
export class PaeBuilder {
  readonly message: Uint8Array;
  readonly payload: Buffer;
  private at = 0;

  constructor(payloadType: string, textBytes: number, shared: boolean) {
    const header = paeHeader(payloadType, textBytes);
    const size = header.length + textBytes;
    const message = shared ? Buffer.from(new SharedArrayBuffer(size)) : Buffer.allocUnsafe(size);
    header.copy(message, 0);
    this.message = message;
    this.payload = message.subarray(header.length);
  }

  /** Bytes of the message made so far: the header, and the text written. */
  get made(): number {
    return this.message.length - this.payload.length + this.at;
  }

  /** The text's next pieces; throws on one that does not fit the size given. */
  write(pieces: Iterable<string>): void {
    this.at = writePieces(this.payload, this.at, pieces);
  }

  /** The message, once the pieces have come to exactly the size given. */
  finish(): { message: Uint8Array; payload: Buffer } {
    if (this.at !== this.payload.length) throw new Error(`payload length mismatch: ${this.at} bytes of ${this.payload.length}`);
    return { message: this.message, payload: this.payload };
  }
}

const base64Length = (n: number): number => 4 * Math.ceil(n / 3);
const BASE64_SLICE = 3 << 14;

export function signEnvelope(payloadType: string, payload: Uint8Array, keys: readonly SigningKey[]): DsseEnvelope {
  const msg = pae(payloadType, payload);
  return envelopeOf(payloadType, payload, keys.map((k) => ({ keyid: k.keyid, sig: sign(msg, k.seed, k.raw) })));
}

export function verifySignature(payloadType: string, payload: Uint8Array, sigB64: string, key: PublicKey): boolean {
  const sig = decodeBase64Strict(sigB64);
  if (!sig || sig.length !== 64) return false;
  return verify(sig, pae(payloadType, payload), key.raw);
}

// No nested quantifier: a grouped `(?:x{4})*` backtracks recursively in V8 and overflows
// the stack on the multi-megabyte payload of a 100,000-artifact manifest. With the
// length a multiple of 4 this accepts exactly the padded forms.
const B64 = /^[A-Za-z0-9+/]*={0,2}$/;
const B64URL = /^[A-Za-z0-9_-]*$/;

/**
 * DSSE allows standard or URL-safe base64. Node's decoder skips junk silently, so the
 * alphabet and padding are checked first; then the one other way to spell the same
 * bytes, bits set in the last character beyond the data, is refused. (Re-encoding to
 * compare did that too, at the price of a second copy of the text: 25 MB for the
 * envelope of a 100,000-artifact manifest.)
 */
export function decodeBase64Strict(s: string): Buffer | null {
  if (s.length % 4 === 0 && B64.test(s)) {
    const pad = s.endsWith('==') ? 2 : s.endsWith('=') ? 1 : 0;
    return spareBitsClear(s, s.length - pad, 2 * pad) ? Buffer.from(s, 'base64') : null;
  }
  const left = s.length % 4;
  if (B64URL.test(s) && left !== 1) {
    return spareBitsClear(s, s.length, left === 0 ? 0 : 2 * (4 - left)) ? Buffer.from(s, 'base64url') : null;
  }
  return null;
}

/** Whether the low `bits` bits of the base64 digit before `end` are zero (nothing to check without one). */
function spareBitsClear(s: string, end: number, bits: number): boolean {
  if (bits === 0 || end === 0) return true;
  const c = s.charCodeAt(end - 1);
  // Either alphabet: A-Z, a-z, 0-9, then + or -, then / or _.
  const digit = c === 0x2b || c === 0x2d ? 62 : c === 0x2f || c === 0x5f ? 63 : c >= 0x61 ? c - 0x61 + 26 : c >= 0x41 ? c - 0x41 : c - 0x30 + 52;
  return (digit & ((1 << bits) - 1)) === 0;
}

/** Shape check of an already strictly parsed envelope; returns the reason when it is not one. */
export function toEnvelope(v: JsonValue): DsseEnvelope | string {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return 'not a JSON object';
  const o = v as Record<string, JsonValue>;
  if (typeof o.payload !== 'string') return 'payload missing';
  if (typeof o.payloadType !== 'string') return 'payloadType missing';
  if (!Array.isArray(o.signatures)) return 'signatures missing';
  const signatures: DsseSignature[] = [];
  for (const s of o.signatures) {
    if (s === null || typeof s !== 'object' || Array.isArray(s)) return 'a signature is not an object';
    const so = s as Record<string, JsonValue>;
    if (typeof so.sig !== 'string') return 'a signature has no sig';
    if (so.keyid !== undefined && typeof so.keyid !== 'string') return 'a keyid is not a string';
    signatures.push({ keyid: typeof so.keyid === 'string' ? so.keyid : '', sig: so.sig });
  }
  return { payload: o.payload, payloadType: o.payloadType, signatures };
}

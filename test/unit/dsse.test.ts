/**
 * DSSE: the pre-authentication encoding against test/vectors/dsse-pae.json, strict
 * base64, the envelope shape check, and sign/verify over the PAE.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodeBase64Strict, pae, signEnvelope, toEnvelope, verifySignature } from '../../src/crypto/dsse.js';
import { parsePrivateKeyPem, publicKeyFromRaw } from '../../src/crypto/keys.js';
import { verify } from '../../src/crypto/ed25519.js';
import { parseStrictJson } from '../../src/json/strict-parse.js';

interface PaeCase {
  name: string;
  payloadType: string;
  payloadUtf8: string;
  payloadTypeByteLength: number;
  payloadByteLength: number;
  paeHex: string;
}
const cases = (JSON.parse(readFileSync(new URL('../vectors/dsse-pae.json', import.meta.url), 'utf8')) as { cases: PaeCase[] }).cases;

describe('PAE vectors', () => {
  it('includes the example from the DSSE specification', () => {
    expect(cases.map((c) => c.name)).toContain('dsse-spec-example');
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const payload = Buffer.from(c.payloadUtf8, 'utf8');
    expect(Buffer.byteLength(c.payloadType, 'utf8')).toBe(c.payloadTypeByteLength);
    expect(payload.length).toBe(c.payloadByteLength);
    expect(pae(c.payloadType, payload).toString('hex')).toBe(c.paeHex);
  });

  it('counts bytes, not characters, and takes binary payloads', () => {
    const bin = Buffer.from([0, 0xff, 0x20, 0x0a]);
    expect(pae('t', bin).equals(Buffer.concat([Buffer.from('DSSEv1 1 t 4 '), bin]))).toBe(true);
  });
});

describe('decodeBase64Strict', () => {
  it('decodes canonical standard base64 with or without padding needs', () => {
    expect(decodeBase64Strict('')!.length).toBe(0);
    expect(decodeBase64Strict('aGVsbG8=')!.toString()).toBe('hello');
    expect(decodeBase64Strict('aGVsbA==')!.toString()).toBe('hell');
    expect(decodeBase64Strict('aGVs')!.toString()).toBe('hel');
    expect(decodeBase64Strict('+/+/')!.equals(Buffer.from([0xfb, 0xff, 0xbf]))).toBe(true);
  });

  it('decodes canonical URL-safe base64 (DSSE allows it)', () => {
    expect(decodeBase64Strict('-_-_')!.equals(Buffer.from([0xfb, 0xff, 0xbf]))).toBe(true);
    expect(decodeBase64Strict('aGVsbG8')!.toString()).toBe('hello'); // unpadded
  });

  it.each([
    ['whitespace', 'aGVs bG8='],
    ['newline', 'aGVs\nbG8='],
    ['trailing newline', 'aGVsbG8=\n'],
    ['junk character', 'aGVs*bG8='],
    ['non-ASCII', 'aGVsbG8é'],
    ['NUL', 'aGVs\u0000'],
    ['data after padding', 'aGVsbG8=aGVs'],
    ['padding in the middle', 'aG=sbG8='],
    ['too much padding', 'aGVsbG8=='],
    ['missing padding with +/', '+/8'],
    ['lone padding', '='],
    ['three padding characters', 'a==='],
    ['one leftover character', 'aGVsb'],
    ['non-zero padding bits (==)', 'aGVsbB=='],
    ['non-zero padding bits (=)', 'aGVsbG9='],
    ['non-zero padding bits, unpadded URL-safe', 'aGVsbG9'],
    ['mixed standard and URL-safe alphabets', 'a+b_'],
    ['URL-safe with padding', '-_8='],
  ])('refuses %s', (_why, s) => {
    expect(decodeBase64Strict(s)).toBeNull();
  });

  it('accepts exactly what decodes and re-encodes to the same text, in either alphabet', () => {
    // The definition of canonical, spelled out as the slow way to check it.
    const byReencoding = (t: string): Buffer | null => {
      if (t.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(t)) {
        const b = Buffer.from(t, 'base64');
        return b.toString('base64') === t ? b : null;
      }
      if (/^[A-Za-z0-9_-]*$/.test(t) && t.length % 4 !== 1) {
        const b = Buffer.from(t, 'base64url');
        return b.toString('base64url') === t ? b : null;
      }
      return null;
    };
    const digit = fc.constantFrom(...'AQgwBCDEFPabcfz019+/-_'.split(''));
    const text = fc.tuple(fc.array(digit, { maxLength: 11 }), fc.constantFrom('', '=', '==', '===')).map(([d, p]) => d.join('') + p);
    fc.assert(
      fc.property(text, (t) => {
        const got = decodeBase64Strict(t);
        const want = byReencoding(t);
        expect(got === null ? null : got.toString('hex')).toBe(want === null ? null : want.toString('hex'));
      }),
      { numRuns: 20000 },
    );
  });

  it('round-trips random bytes in both alphabets', () => {
    for (let n = 0; n < 70; n++) {
      const b = Buffer.from(Array.from({ length: n }, (_, k) => (k * 97 + n * 31) & 0xff));
      expect(decodeBase64Strict(b.toString('base64'))!.equals(b)).toBe(true);
      expect(decodeBase64Strict(b.toString('base64url'))!.equals(b)).toBe(true);
    }
  });
});

describe('envelope shape and signatures', () => {
  const signer = parsePrivateKeyPem(readFileSync(new URL('../../fixtures/keys/acme-signer.key', import.meta.url), 'utf8'), 'acme-signer.key');
  const other = parsePrivateKeyPem(readFileSync(new URL('../../fixtures/keys/globex-signer.key', import.meta.url), 'utf8'), 'globex-signer.key');
  const payload = Buffer.from('{"hello":"world"}');
  const type = 'application/vnd.in-toto+json';

  it('signs the PAE, not the bare payload', () => {
    const env = signEnvelope(type, payload, [signer]);
    expect(env.payload).toBe(payload.toString('base64'));
    expect(env.signatures).toHaveLength(1);
    expect(env.signatures[0]!.keyid).toBe(signer.keyid);
    const sig = decodeBase64Strict(env.signatures[0]!.sig)!;
    expect(verify(sig, pae(type, payload), signer.raw)).toBe(true);
    expect(verify(sig, payload, signer.raw)).toBe(false);
  });

  it('verifySignature accepts the right key and refuses changes of key, payload, type or encoding', () => {
    const env = signEnvelope(type, payload, [signer]);
    const sig = env.signatures[0]!.sig;
    expect(verifySignature(type, payload, sig, signer)).toBe(true);
    expect(verifySignature(type, payload, sig, publicKeyFromRaw(other.raw))).toBe(false);
    expect(verifySignature(type, Buffer.from('{"hello":"World"}'), sig, signer)).toBe(false);
    expect(verifySignature('application/json', payload, sig, signer)).toBe(false);
    expect(verifySignature(type, payload, `${sig}\n`, signer)).toBe(false);
    expect(verifySignature(type, payload, sig.slice(0, -4), signer)).toBe(false);
    expect(verifySignature(type, payload, Buffer.from(decodeBase64Strict(sig)!).toString('base64url'), signer)).toBe(true);
  });

  it('toEnvelope explains what is wrong with a malformed envelope', () => {
    expect(toEnvelope(parseStrictJson('[]'))).toMatch(/not a JSON object/);
    expect(toEnvelope(parseStrictJson('{"payloadType":"t","signatures":[]}'))).toMatch(/payload missing/);
    expect(toEnvelope(parseStrictJson('{"payload":"","signatures":[]}'))).toMatch(/payloadType missing/);
    expect(toEnvelope(parseStrictJson('{"payload":"","payloadType":"t"}'))).toMatch(/signatures missing/);
    expect(toEnvelope(parseStrictJson('{"payload":"","payloadType":"t","signatures":[1]}'))).toMatch(/not an object/);
    expect(toEnvelope(parseStrictJson('{"payload":"","payloadType":"t","signatures":[{}]}'))).toMatch(/no sig/);
    expect(toEnvelope(parseStrictJson('{"payload":"","payloadType":"t","signatures":[{"sig":"","keyid":5}]}'))).toMatch(/keyid/);
    expect(toEnvelope(parseStrictJson('{"payload":"","payloadType":"t","signatures":[{"sig":"AA=="}]}'))).toEqual({
      payload: '',
      payloadType: 't',
      signatures: [{ keyid: '', sig: 'AA==' }],
    });
  });
});

describe('envelopeTemplate', () => {
  it('is byte for byte the canonical JSON of envelopeOf, whole or in pieces with the signatures put in after, and its size is known before', async () => {
    const { canonicalBytes } = await import('../../src/json/canonical.js');
    const { envelopeOf, envelopeTemplate } = await import('../../src/crypto/dsse.js');
    const envelopeBytes = (type: string, payload: Uint8Array, sigs: { keyid: string; sig: Uint8Array }[]) => {
      const slots = sigs.map((x) => ({ keyid: x.keyid, sigBytes: x.sig.length }));
      const whole = envelopeTemplate(type, payload.length, slots);
      const size = whole.size;
      const got = whole.fill(payload, sigs.map((x) => x.sig));
      expect(got.length).toBe(size);
      // As an export writes it: the pieces, then each signature at its place.
      const streamed = envelopeTemplate(type, payload.length, slots);
      const written = Buffer.concat([...streamed.pieces(payload)]);
      expect(written.length).toBe(size);
      for (const s of streamed.signaturesAt(sigs.map((x) => x.sig))) s.bytes.copy(written, s.at);
      expect(written.equals(got)).toBe(true);
      return got;
    };
    const cases: [string, Uint8Array, { keyid: string; sig: Uint8Array }[]][] = [
      ['application/vnd.in-toto+json', Buffer.from('{"a":1}'), [{ keyid: 'k1', sig: new Uint8Array(64).fill(255) }]],
      ['t"y\\pe\u00e9\u2028', Buffer.alloc(0), []],
      ['x', Buffer.from([0, 1, 2, 3, 4]), [{ keyid: 'ü"', sig: new Uint8Array(64) }, { keyid: 'b', sig: new Uint8Array(64).fill(7) }]],
      // Over two 48 KiB base64 slices, and not a multiple of 3.
      ['x', Buffer.alloc(100_001, 0xab), [{ keyid: 'a', sig: new Uint8Array(64).fill(1) }]],
      // Over a hundred slices, with varied bytes.
      ['x', Buffer.from(Array.from({ length: (3 << 20) * 2 + 5 }, (_, k) => (k * 7) & 255)), [{ keyid: 'a', sig: new Uint8Array(64).fill(9) }]],
    ];
    for (const [type, payload, sigs] of cases) {
      const got = envelopeBytes(type, payload, sigs);
      expect(got.equals(canonicalBytes(envelopeOf(type, payload, sigs)))).toBe(true);
    }
    expect(() => envelopeBytes('\ud800', Buffer.alloc(1), [])).toThrow(TypeError);
  });
});

describe('envelopeTemplate and PaeBuilder', () => {
  it('PaeBuilder makes pae() of the text\'s UTF-8, in plain or shared memory, the payload a view of its tail', async () => {
    const { pae, PaeBuilder } = await import('../../src/crypto/dsse.js');
    for (const text of ['', '{"a":"é😀"}', 'x'.repeat(70_000)]) {
      for (const shared of [false, true]) {
        const b = new PaeBuilder('application/vnd.in-toto+json', Buffer.byteLength(text, 'utf8'), shared);
        b.write([text]);
        const { message, payload } = b.finish();
        expect(Buffer.from(message).equals(pae('application/vnd.in-toto+json', Buffer.from(text, 'utf8')))).toBe(true);
        expect(payload.equals(Buffer.from(text, 'utf8'))).toBe(true);
        expect(message.buffer instanceof SharedArrayBuffer).toBe(shared);
        expect(payload.buffer).toBe(message.buffer);
      }
    }
  });

  it('PaeBuilder takes the pieces in any number of writes, and refuses pieces that do not come to the size given', async () => {
    const { pae, PaeBuilder } = await import('../../src/crypto/dsse.js');
    const pieces = ['{"a":', '"é😀"', '', ',"b":[1,2]}'];
    const size = Buffer.byteLength(pieces.join(''), 'utf8');
    for (const shared of [false, true]) {
      const b = new PaeBuilder('x', size, shared);
      b.write(pieces.slice(0, 2));
      b.write([]);
      b.write(pieces.slice(2));
      const got = b.finish();
      expect(Buffer.from(got.message).equals(pae('x', Buffer.from(pieces.join(''), 'utf8')))).toBe(true);
      expect(got.payload.equals(Buffer.from(pieces.join(''), 'utf8'))).toBe(true);
    }
    const over = new PaeBuilder('x', 2, false);
    expect(() => over.write(['abc'])).toThrow(/does not fit/);
    const under = new PaeBuilder('x', 4, false);
    under.write(['ab']);
    under.write(['c']);
    expect(() => under.finish()).toThrow(/payload length mismatch: 3 bytes of 4/);
  });

  it('fills each signature slot once, and only with a signature of the reserved size', async () => {
    const { canonicalBytes } = await import('../../src/json/canonical.js');
    const { envelopeOf, envelopeTemplate } = await import('../../src/crypto/dsse.js');
    const sigs = [new Uint8Array(64).fill(3), new Uint8Array(64).fill(250)];
    const payload = Buffer.from('payload');
    const t = envelopeTemplate('x', payload.length, [{ keyid: 'a', sigBytes: 64 }, { keyid: 'b', sigBytes: 64 }]);
    expect(() => t.fill(payload, [sigs[0]!])).toThrow(/1 signatures for 2 slots/);
    expect(() => t.fill(payload, [sigs[0]!, new Uint8Array(63)])).toThrow(/63 bytes, 64 were reserved/);
    expect(() => t.fill(Buffer.from('payloads'), sigs)).toThrow(/a payload of 8 bytes for an envelope made for 7/);
    const got = t.fill(payload, sigs);
    expect(got.equals(canonicalBytes(envelopeOf('x', Buffer.from('payload'), [{ keyid: 'a', sig: sigs[0]! }, { keyid: 'b', sig: sigs[1]! }])))).toBe(true);
    expect(() => t.fill(payload, sigs)).toThrow(/filled twice/);
  });
});

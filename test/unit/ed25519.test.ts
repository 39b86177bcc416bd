/**
 * Ed25519 against RFC 8032 section 7.1 and the strictness edge cases (malleability,
 * small-order and non-canonical keys) in test/vectors/.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Ed25519Signing, publicKeyOf, sign, verify } from '../../src/crypto/ed25519.js';

interface Rfc8032Vector {
  name: string;
  secretKey: string;
  publicKey: string;
  message: string;
  signature: string;
}
interface EdgeCase {
  name: string;
  publicKey: string;
  message: string;
  signature: string;
  valid: boolean;
}

const load = <T>(file: string): T => JSON.parse(readFileSync(new URL(`../vectors/${file}`, import.meta.url), 'utf8')) as T;
const rfc = load<{ vectors: Rfc8032Vector[] }>('rfc8032-ed25519.json').vectors;
const edge = load<{ groupOrderL: string; cases: EdgeCase[] }>('ed25519-edge-cases.json');
const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function flipBit(b: Uint8Array, bit: number): Uint8Array {
  const c = new Uint8Array(b);
  c[bit >> 3]! ^= 1 << (bit & 7);
  return c;
}

describe('RFC 8032 section 7.1 vectors', () => {
  it('has the five published vectors', () => {
    expect(rfc.map((v) => v.name)).toEqual(['TEST 1', 'TEST 2', 'TEST 3', 'TEST 1024', 'TEST SHA(abc)']);
  });

  describe.each(rfc.map((v) => [v.name, v] as const))('%s', (_name, v) => {
    it('derives the public key from the seed', () => {
      expect(toHex(publicKeyOf(hex(v.secretKey)))).toBe(v.publicKey);
    });

    it('reproduces the signature (deterministic signing)', () => {
      expect(toHex(sign(hex(v.message), hex(v.secretKey), hex(v.publicKey)))).toBe(v.signature);
    });

    it('verifies the signature', () => {
      expect(verify(hex(v.signature), hex(v.message), hex(v.publicKey))).toBe(true);
    });

    it('fails when a bit of the message, signature or key flips', () => {
      const msg = hex(v.message);
      const sig = hex(v.signature);
      const pub = hex(v.publicKey);
      const longer = new Uint8Array([...msg, 0]);
      expect(verify(sig, longer, pub)).toBe(false);
      if (msg.length > 0) {
        for (const bit of [0, 7, msg.length * 8 - 1]) expect(verify(sig, flipBit(msg, bit), pub)).toBe(false);
      }
      // Bits in R, in the low and high halves of S (including the top bit, which takes S above L).
      for (const bit of [0, 100, 255, 256, 300, 500, 511]) expect(verify(flipBit(sig, bit), msg, pub), `sig bit ${bit}`).toBe(false);
      for (const bit of [0, 128, 254]) expect(verify(sig, msg, flipBit(pub, bit)), `key bit ${bit}`).toBe(false);
    });
  });

  it('refuses signatures and keys of the wrong length instead of throwing', () => {
    const v = rfc[0]!;
    const sig = hex(v.signature);
    const pub = hex(v.publicKey);
    expect(verify(sig.subarray(0, 63), hex(v.message), pub)).toBe(false);
    expect(verify(new Uint8Array([...sig, 0]), hex(v.message), pub)).toBe(false);
    expect(verify(sig, hex(v.message), pub.subarray(0, 31))).toBe(false);
    expect(verify(new Uint8Array(0), new Uint8Array(0), new Uint8Array(0))).toBe(false);
  });

  it('a signature by one key does not verify under another', () => {
    const [a, b] = [rfc[0]!, rfc[1]!];
    expect(verify(hex(a.signature), hex(a.message), hex(b.publicKey))).toBe(false);
  });
});

describe('strict verification edge cases', () => {
  it('the vectors cover S+L, small-order and non-canonical keys, with a valid control', () => {
    const names = edge.cases.map((c) => c.name);
    expect(names).toContain('rfc8032-test1-s-plus-l');
    expect(names).toContain('small-order-identity-public-key');
    expect(names.filter((n) => n.startsWith('non-canonical')).length).toBeGreaterThanOrEqual(2);
    expect(edge.cases.some((c) => c.valid)).toBe(true);
  });

  it.each(edge.cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    expect(verify(hex(c.signature), hex(c.message), hex(c.publicKey))).toBe(c.valid);
  });

  it('S+L really is S with the group order added (the case tests what it claims)', () => {
    const orig = edge.cases.find((c) => c.name === 'rfc8032-test1-original')!;
    const mall = edge.cases.find((c) => c.name === 'rfc8032-test1-s-plus-l')!;
    const le = (h: string) => BigInt('0x' + Buffer.from(h, 'hex').reverse().toString('hex'));
    const s = le(orig.signature.slice(64));
    const s2 = le(mall.signature.slice(64));
    expect(s2 - s).toBe(BigInt(edge.groupOrderL));
    expect(mall.signature.slice(0, 64)).toBe(orig.signature.slice(0, 64));
  });

  it('small-order public keys are refused whatever the message (no universal forgery)', () => {
    const c = edge.cases.find((x) => x.name === 'small-order-identity-public-key')!;
    for (const m of ['', '00', 'deadbeef', Buffer.from('any evidence bundle').toString('hex')]) {
      expect(verify(hex(c.signature), hex(m), hex(c.publicKey))).toBe(false);
    }
  });

  it('a non-canonical R (y >= p) is refused', () => {
    // R encoded as y = p + 1 (the identity, non-canonically) with an otherwise valid key.
    const v = rfc[0]!;
    const nonCanonicalR = 'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f';
    const sig = hex(nonCanonicalR + v.signature.slice(64));
    expect(verify(sig, hex(v.message), hex(v.publicKey))).toBe(false);
  });
});

describe('sign, hashing the message in place', () => {
  it('makes the same signature as noble\'s own sign() for any key and message', async () => {
    const ed = await import('@noble/ed25519');
    const fc = (await import('fast-check')).default;
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ maxLength: 300 }), (seed, msg) => {
        expect(toHex(sign(msg, seed, ed.getPublicKey(seed)))).toBe(toHex(ed.sign(msg, seed)));
      }),
      { numRuns: 200 },
    );
    // A message view into a larger (shared) buffer signs as its own bytes.
    const shared = new Uint8Array(new SharedArrayBuffer(100));
    shared.set(hex('00112233'), 10);
    const seed = hex(rfc[0]!.secretKey);
    expect(toHex(sign(shared.subarray(10, 14), seed, ed.getPublicKey(seed)))).toBe(toHex(ed.sign(hex('00112233'), seed)));
  });

  it('signs only for the public key it is told the seed has', () => {
    const seed = hex(rfc[0]!.secretKey);
    const msg = hex('00112233');
    expect(verify(sign(msg, seed, hex(rfc[0]!.publicKey)), msg, hex(rfc[0]!.publicKey))).toBe(true);
    expect(() => sign(msg, seed, hex(rfc[1]!.publicKey))).toThrow(/does not match the public key/);
    expect(() => sign(msg, seed, hex(rfc[0]!.publicKey).subarray(1))).toThrow(/does not match the public key/);
  });
});

describe('Ed25519Signing: the first pass fed in pieces', () => {
  it('makes the RFC 8032 signature however the message is cut', async () => {
    const fc = (await import('fast-check')).default;
    const v = rfc.find((x) => x.name === 'TEST 1024')!;
    const msg = hex(v.message);
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 0, max: msg.length }), { maxLength: 12 }), (cuts) => {
        const s = new Ed25519Signing(hex(v.secretKey), hex(v.publicKey));
        const at = [0, ...cuts.sort((a, b) => a - b), msg.length];
        for (let k = 1; k < at.length; k++) s.update(msg.subarray(at[k - 1]!, at[k]!));
        expect(toHex(s.finish(msg))).toBe(v.signature);
      }),
      { numRuns: 100 },
    );
  });

  it('refuses to sign a message other than the pieces it hashed, which would reuse the nonce', () => {
    const v = rfc.find((x) => x.name === 'TEST 1024')!;
    const msg = hex(v.message);
    const fed = () => new Ed25519Signing(hex(v.secretKey), hex(v.publicKey)).update(msg.subarray(0, 500)).update(msg.subarray(500));
    // One bit changed after it was hashed, where the pieces met, at either end.
    for (const bit of [0, 500 * 8, msg.length * 8 - 1]) {
      expect(() => fed().finish(flipBit(msg, bit)), `bit ${bit}`).toThrow(/changed while it was being signed/);
    }
    expect(() => fed().finish(msg.subarray(1))).toThrow(/1022 bytes, 1023 were hashed/);
    expect(() => fed().finish(new Uint8Array([...msg, 0]))).toThrow(/1024 bytes, 1023 were hashed/);
    expect(toHex(fed().finish(msg))).toBe(v.signature);
  });

  it('reads a message in shared memory as it stood when each pass read it, and refuses one changed between', () => {
    const v = rfc.find((x) => x.name === 'TEST 1024')!;
    const msg = hex(v.message);
    const shared = new Uint8Array(new SharedArrayBuffer(msg.length + 10)).subarray(5, 5 + msg.length);
    shared.set(msg);
    const fed = () => new Ed25519Signing(hex(v.secretKey), hex(v.publicKey)).update(shared.subarray(0, 700)).update(shared.subarray(700));
    expect(toHex(fed().finish(shared))).toBe(v.signature);
    const s = fed();
    shared[900]! ^= 1;
    expect(() => s.finish(shared)).toThrow(/changed while it was being signed/);
  });

  it('makes one signature: nothing is fed or signed after it', () => {
    const v = rfc[0]!;
    const s = new Ed25519Signing(hex(v.secretKey), hex(v.publicKey));
    expect(toHex(s.finish(new Uint8Array(0)))).toBe(v.signature);
    expect(() => s.finish(new Uint8Array(0))).toThrow(/already made/);
    expect(() => s.update(new Uint8Array(1))).toThrow(/already made/);
  });
});

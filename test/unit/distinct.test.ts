import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DistinctKeys, distinctSorted } from '../../src/export/distinct.js';

const digest = (s: string): string => createHash('sha256').update(s).digest('hex');

/** What distinctSorted must give, the plain way: the first index of each digest, digests sorted. */
function oracle(digests: readonly string[]): { blobs: string[]; first: number[] } {
  const firstOf = new Map<string, number>();
  digests.forEach((d, k) => {
    if (!firstOf.has(d)) firstOf.set(d, k);
  });
  const blobs = [...firstOf.keys()].sort();
  return { blobs, first: blobs.map((d) => firstOf.get(d)!) };
}

const run = (digests: readonly string[]) => {
  const got = distinctSorted(digests.length, (k) => digests[k]!);
  return { blobs: got.blobs, first: [...got.first] };
};

// Digests that share long leading runs, so that packed keys tie and are compared whole.
const hexDigit = fc.constantFrom(...'0123456789abcdef');
const nearDigest = fc
  .tuple(fc.constantFrom('', '0000000000', 'ffffffffffff', 'a'.repeat(40)), fc.array(hexDigit, { minLength: 64, maxLength: 64 }))
  .map(([head, rest]) => (head + rest.join('')).slice(0, 64));

describe('distinctSorted', () => {
  it('is each digest once, sorted, with its first index: random pools with repeats', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(40), { maxLength: 300 }), (picks) => {
        const digests = picks.map((p) => digest(String(p)));
        expect(run(digests)).toEqual(oracle(digests));
      }),
    );
  });

  it('orders digests whose leading bits tie by the whole digest, then by index', () => {
    fc.assert(
      fc.property(fc.array(nearDigest, { minLength: 1, maxLength: 60 }), fc.array(fc.nat(), { maxLength: 60 }), (pool, picks) => {
        const digests = [...pool, ...picks.map((p) => pool[p % pool.length]!)];
        expect(run(digests)).toEqual(oracle(digests));
      }),
    );
  });

  it('holds with enough items that fewer leading bits fit beside the index', () => {
    const n = (1 << 17) + 3;
    const digests = Array.from({ length: n }, (_, k) => digest(String(k % 70_001)));
    // Two more that differ only past the first 35 bits, which is all that is packed here.
    digests[5] = '123456789' + '0'.repeat(54) + '1';
    digests[6] = '123456789' + '0'.repeat(55);
    expect(run(digests)).toEqual(oracle(digests));
  });

  it('holds at counts on either side of a power of two, where the index takes one bit more', () => {
    for (const n of [255, 256, 257, 1023, 1024, 1025]) {
      const digests = Array.from({ length: n }, (_, k) => digest(String(k % (n - 7))));
      // The last index and a tie on all packed bits at the top of the range.
      digests[n - 1] = 'f'.repeat(63) + '0';
      digests[n - 2] = 'f'.repeat(64);
      expect(run(digests)).toEqual(oracle(digests));
    }
  });

  it('refuses a digest that is not 64 lowercase hex digits instead of losing an item', () => {
    const good = digest('a');
    for (const bad of ['z'.repeat(64), 'A'.repeat(64), good.toUpperCase(), 'abc', good + '0', '']) {
      expect(() => run([good, bad, digest('b')])).toThrow(/is not a SHA-256 digest/);
    }
  });

  it('gives nothing for no items', () => {
    expect(run([])).toEqual({ blobs: [], first: [] });
  });
});

describe('DistinctKeys', () => {
  it('gives what distinctSorted gives, whatever order the digests come in', () => {
    fc.assert(
      fc.property(fc.array(nearDigest, { minLength: 1, maxLength: 60 }), fc.infiniteStream(fc.nat()), (digests, picks) => {
        const order = digests.map((_, k) => k);
        // A shuffle: the order hashing batches come back in.
        for (let k = order.length - 1; k > 0; k--) {
          const j = picks.next().value % (k + 1);
          [order[k], order[j]] = [order[j]!, order[k]!];
        }
        const keys = new DistinctKeys(digests.length);
        for (const k of order) keys.set(k, digests[k]!);
        const got = keys.sorted();
        expect({ blobs: got.blobs, first: [...got.first] }).toEqual(oracle(digests));
      }),
      { numRuns: 300 },
    );
  });

  it('takes each item once, and sorts only once every item has its digest', () => {
    const keys = new DistinctKeys(3);
    keys.set(0, digest('a'));
    keys.set(2, digest('b'));
    expect(() => keys.set(2, digest('c'))).toThrow(/item 2 of 3 given twice/);
    expect(() => keys.set(3, digest('c'))).toThrow(/item 3 of 3 given twice or out of range/);
    expect(() => keys.set(-1, digest('c'))).toThrow(/out of range/);
    expect(() => keys.set(0.5, digest('c'))).toThrow(/out of range/);
    expect(() => keys.sorted()).toThrow(/1 of 3 items have no digest yet/);
    expect(() => keys.set(1, 'A'.repeat(64))).toThrow(/is not a SHA-256 digest/);
    keys.set(1, digest('a'));
    expect(keys.sorted().blobs).toEqual([digest('a'), digest('b')].sort());
  });
});

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { compareUtf8, mergeByUtf8, sortByUtf8 } from '../../src/bundle/layout.js';

const byBytes = (a: string, b: string) => Math.sign(Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')));

describe('compareUtf8', () => {
  it('orders exactly as the UTF-8 bytes do, surrogates and the BMP private use area included', () => {
    const ch = fc.constantFrom('a', 'b', 'Z', '/', '.', 'é', 'ß', '\u07ff', '\u0800', '\ud7ff', '\ue000', '\uffff', '\ufb01', '😀', '𝄞', '\ud800', '\udfff');
    const str = fc.array(ch, { maxLength: 8 }).map((xs) => xs.join(''));
    fc.assert(
      fc.property(str, str, (a, b) => {
        expect(Math.sign(compareUtf8(a, b))).toBe(byBytes(a, b));
      }),
      { numRuns: 5000 },
    );
  });

  it('puts U+E000 before U+1F600, as UTF-8 does (UTF-16 code units say the opposite)', () => {
    expect(compareUtf8('\ue000', '😀')).toBeLessThan(0);
    expect('\ue000' < '😀').toBe(false);
    expect(compareUtf8('a/b', 'a/b')).toBe(0);
    expect(compareUtf8('a', 'ab')).toBeLessThan(0);
  });

  it('sortByUtf8 sorts as compareUtf8 does, with and without code units where the orders differ', () => {
    const ch = fc.constantFrom('a', 'b', '/', '0', 'é', '\ud7ff', '\ue000', '\uffff', '😀', '\ud800');
    const str = fc.array(ch, { maxLength: 6 }).map((xs) => xs.join(''));
    const ascii = fc.array(fc.constantFrom('a', 'b', 'Z', '/', '.', '0', '~'), { maxLength: 6 }).map((xs) => xs.join(''));
    for (const gen of [str, ascii]) {
      fc.assert(
        fc.property(fc.array(gen, { maxLength: 20 }), (names) => {
          const items = names.map((name, k) => ({ name, k }));
          const got = sortByUtf8([...items], (t) => t.name).map((t) => t.name);
          expect(got).toEqual([...names].sort(compareUtf8));
        }),
        { numRuns: 2000 },
      );
    }
    expect(sortByUtf8(['\ue000', '😀', 'a'], (s) => s)).toEqual(['a', '\ue000', '😀']);
  });

  it('mergeByUtf8 of a sorted list and a few others in any order is the whole list sorted', () => {
    const ch = fc.constantFrom('a', 'b', '/', '0', 'é', '\ue000', '😀');
    const str = fc.array(ch, { maxLength: 5 }).map((xs) => xs.join(''));
    fc.assert(
      fc.property(fc.uniqueArray(str, { maxLength: 30 }), fc.nat(), (names, cut) => {
        const k = names.length ? cut % (names.length + 1) : 0;
        const sorted = names.slice(0, k).sort(compareUtf8);
        const others = names.slice(k);
        const got = mergeByUtf8(sorted.map((name) => ({ name })), others.map((name) => ({ name })), (t) => t.name).map((t) => t.name);
        expect(got).toEqual([...names].sort(compareUtf8));
      }),
      { numRuns: 2000 },
    );
    expect(() => mergeByUtf8(['b', 'a'], [], (s) => s)).toThrow(/"a" is out of order/);
    expect(() => mergeByUtf8(['a', 'a'], [], (s) => s)).toThrow(/out of order/);
    // Blob names first and last, the other files between and around them.
    const blobs = ['blobs/sha256/00', 'blobs/sha256/ff'];
    expect(mergeByUtf8(blobs, ['verify.sh', 'VERIFY.md', 'audit/acme.jsonl', 'keys/ab.pub'], (s) => s)).toEqual([
      'VERIFY.md',
      'audit/acme.jsonl',
      ...blobs,
      'keys/ab.pub',
      'verify.sh',
    ]);
  });
});

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { amongBlobs, compareUtf8, placeAmongBlobs, sortByUtf8 } from '../../src/bundle/layout.js';

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

  it('placeAmongBlobs and amongBlobs put a few other paths, in any order, among sorted blobs as a full sort does', () => {
    const digest = (n: number) => createHash('sha256').update(String(n)).digest('hex');
    const ch = fc.constantFrom('a', 'b', '/', '0', 'f', 'é', '\ue000', '😀');
    const str = fc.array(ch, { maxLength: 5 }).map((xs) => xs.join(''));
    // Plain paths, and paths that share the blobs' prefix (some of a digest's first digits).
    const other = fc.oneof(str, fc.tuple(fc.nat(50), fc.nat(64), str).map(([n, cut, tail]) => `blobs/sha256/${digest(n).slice(0, cut)}${tail}`));
    fc.assert(
      fc.property(fc.uniqueArray(fc.nat(50)), fc.uniqueArray(other, { maxLength: 8 }), (ns, paths) => {
        const blobs = ns.map(digest).sort();
        const names = new Set(blobs.map((h) => `blobs/sha256/${h}`));
        const others = paths.filter((p) => !names.has(p));
        const got = amongBlobs(blobs.map((h) => `blobs/sha256/${h}`), placeAmongBlobs(blobs, others, (p) => p));
        expect(got).toEqual([...names, ...others].sort(compareUtf8));
      }),
      { numRuns: 2000 },
    );
    const [a, b] = [digest(1), digest(2)].sort();
    expect(() => placeAmongBlobs([b!, a!], [], (p) => p)).toThrow(/out of order or listed twice/);
    expect(() => placeAmongBlobs([a!, a!], [], (p) => p)).toThrow(/out of order or listed twice/);
    expect(() => placeAmongBlobs([a!], [`blobs/sha256/${a}`], (p) => p)).toThrow(/listed twice/);
    expect(() => placeAmongBlobs([], ['x', 'x'], (p) => p)).toThrow(/x is listed twice/);
    // Blob names first and last, the other files between and around them.
    expect(amongBlobs(['B1', 'B2'], placeAmongBlobs(['00', 'ff'], ['verify.sh', 'VERIFY.md', 'audit/acme.jsonl', 'keys/ab.pub', 'blobs/sha256/0f'], (p) => p))).toEqual([
      'VERIFY.md',
      'audit/acme.jsonl',
      'B1',
      'blobs/sha256/0f',
      'B2',
      'keys/ab.pub',
      'verify.sh',
    ]);
  });
});

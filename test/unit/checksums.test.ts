import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ChecksumList, formatChecksums, parseChecksums } from '../../src/bundle/checksums.js';
import { compareUtf8 } from '../../src/bundle/layout.js';
import { sha256Hex } from '../../src/crypto/sha256.js';

describe('formatChecksums', () => {
  it('writes the sorted sha256sum lines of any number of entries, ASCII or not', () => {
    const hex = (k: number) => k.toString(16).padStart(64, '0');
    // Over two runs of lines, names with two-, three- and four-byte characters, given unsorted.
    const lines = Array.from({ length: 700 }, (_, k) => ({
      path: k % 7 === 0 ? `évidence/${k}/ü€😀` : `blobs/sha256/${hex(k)}`,
      sha256: hex(k * 31),
    })).reverse();
    const expected = [...lines]
      .sort((a, b) => compareUtf8(a.path, b.path))
      .map((l) => `${l.sha256}  ${l.path}\n`)
      .join('');
    const out = formatChecksums(lines);
    expect(out.toString('utf8')).toBe(expected);
    expect(out.length).toBe(Buffer.byteLength(expected, 'utf8'));
    expect(parseChecksums(out)).toEqual([...lines].sort((a, b) => compareUtf8(a.path, b.path)));
  });

  it('writes nothing for no entries', () => {
    expect(formatChecksums([]).length).toBe(0);
  });
});

describe('ChecksumList', () => {
  const hexOf = (n: number) => n.toString(16).padStart(64, '0');
  const text = (list: ChecksumList) => {
    const t = [...list.pieces()].join('');
    expect(Buffer.byteLength(t, 'utf8')).toBe(list.bytes);
    return t;
  };

  it('is the list of its blob lines and other lines, in path order, whatever the mix', () => {
    const digest = (n: number) => sha256Hex(String(n));
    // Other paths before, among and after the blob paths: fixed names, and paths made from
    // a blob's (cut short, extended, or with its last digit changed), which land between
    // two blob lines.
    const otherPath = (blobs: string[]) =>
      fc.oneof(
        fc.constantFrom('VERIFY.md', 'audit/acme.jsonl', 'keys/k.pub', 'verify.sh', 'blobs/', 'blobs/sha256/', 'blobs/t', 'é/ü😀', '\ue000'),
        fc.string({ minLength: 1, maxLength: 8 }),
        fc.tuple(fc.nat(Math.max(0, blobs.length - 1)), fc.nat(63), fc.constantFrom('cut', 'longer', 'bumped')).map(([k, at, how]) => {
          const h = blobs[k] ?? digest(-1);
          if (how === 'cut') return `blobs/sha256/${h.slice(0, at)}`;
          if (how === 'longer') return `blobs/sha256/${h}x`;
          return `blobs/sha256/${h.slice(0, 63)}${h[63] === 'f' ? 'e' : 'f'}`;
        }),
      );
    const lists = fc.uniqueArray(fc.nat(), { maxLength: 600 }).chain((ns) => {
      const blobs = [...new Set(ns.map(digest))].sort();
      return fc.tuple(fc.constant(blobs), fc.uniqueArray(otherPath(blobs), { maxLength: 8 }));
    });
    let among = 0;
    fc.assert(
      fc.property(lists, ([blobs, paths]) => {
        const names = new Set(blobs.map((h) => `blobs/sha256/${h}`));
        const others = paths.filter((p) => !names.has(p)).map((path, k) => ({ path, sha256: digest(-k - 2) }));
        const all = [...blobs.map((h) => ({ path: `blobs/sha256/${h}`, sha256: h })), ...others];
        const sorted = [...all].sort((a, b) => compareUtf8(a.path, b.path));
        const expected = sorted.map((l) => `${l.sha256}  ${l.path}\n`).join('');
        expect(text(new ChecksumList(blobs, others))).toBe(expected);
        expect(formatChecksums(all).toString('utf8')).toBe(expected);
        // Count the cases with another file's line between two blob lines.
        const at = sorted.map((l) => names.has(l.path));
        if (at.some((isBlob, k) => !isBlob && at.slice(0, k).includes(true) && at.slice(k + 1).includes(true))) among++;
      }),
      { numRuns: 300 },
    );
    expect(among).toBeGreaterThan(50);
  });

  it('refuses blobs that are not sorted digests, and any path listed twice', () => {
    const [a, b] = [hexOf(1), hexOf(2)];
    expect(() => new ChecksumList([b, a], [])).toThrow(/out of order or listed twice/);
    expect(() => new ChecksumList([a, a], [])).toThrow(/out of order or listed twice/);
    // Digests are checked as their lines are made, each before its own: 300 good lines
    // come out (a piece holds 256), the bad one never, and a pass cut short by it leaves
    // the next pass checking too.
    const good = Array.from({ length: 300 }, (_, k) => hexOf(k + 1));
    const notHex = new ChecksumList([...good, 'f'.repeat(60) + 'ABCD'], []);
    for (let pass = 0; pass < 2; pass++) {
      const made: string[] = [];
      expect(() => {
        for (const p of notHex.pieces()) made.push(p);
      }).toThrow(/not a SHA-256 digest/);
      expect(made.length).toBe(1);
      expect(made.join('')).not.toContain('ABCD');
    }
    expect(() => new ChecksumList([a], [{ path: `blobs/sha256/${a}`, sha256: b }])).toThrow(/listed twice/);
    expect(() => new ChecksumList([], [{ path: 'x', sha256: a }, { path: 'x', sha256: b }])).toThrow(/x is listed twice/);
    expect(text(new ChecksumList([a, b], [{ path: 'VERIFY.md', sha256: a }]))).toBe(`${a}  VERIFY.md\n${a}  blobs/sha256/${a}\n${b}  blobs/sha256/${b}\n`);
  });
});

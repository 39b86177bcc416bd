import { describe, expect, it } from 'vitest';
import { formatChecksums, parseChecksums } from '../../src/bundle/checksums.js';
import { compareUtf8 } from '../../src/bundle/layout.js';

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

/**
 * Entries whose content is made as it is written (the metadata of a plain-tar export)
 * come out exactly as the same bytes held in memory would, or fail the write.
 */
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { materialized, writeEntriesSync, type PlacedEntry } from '../../src/export/blob-copy.js';
import { sha256Hex } from '../../src/crypto/sha256.js';
import { removeTempDirs, tempDir } from '../helpers/tmp.js';

afterAll(removeTempDirs);

const MTIME = 1_700_000_000;

/** The archive bytes writeEntriesSync makes of `entries`, and the progress it reported. */
function written(entries: PlacedEntry[]): { bytes: Buffer; progress: [number, number] } {
  const f = join(tempDir(), 'out.tar');
  const fd = openSync(f, 'w');
  const progress: [number, number] = [0, 0];
  try {
    writeEntriesSync(fd, 0, entries, MTIME, (b, n) => {
      progress[0] += b;
      progress[1] += n;
    });
  } finally {
    closeSync(fd);
  }
  return { bytes: readFileSync(f), progress };
}

describe('writeEntriesSync with made content', () => {
  // Short ASCII and UTF-8 strings, bytes, and a string over the 4 MiB output buffer.
  const big = 'x'.repeat((4 << 20) + 3);
  const parts: Array<string | Uint8Array> = ['abc', 'é€𝄞\n', Buffer.from([0, 1, 2]), big, 'end'];
  const data = Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : p)));

  it('writes the same archive bytes as the content held in memory, with the same progress', () => {
    const made = written([{ name: 'm.txt', size: data.length, mode: 0o644, sha256: sha256Hex(data), pieces: () => parts }]);
    const held = written([{ name: 'm.txt', size: data.length, mode: 0o644, data }]);
    expect(made.bytes.equals(held.bytes)).toBe(true);
    expect(made.progress).toEqual(held.progress);
    expect(made.progress).toEqual([data.length, 1]);
    // Unpinned content is written as made.
    expect(written([{ name: 'm.txt', size: data.length, mode: 0o644, pieces: () => parts }]).bytes.equals(held.bytes)).toBe(true);
  });

  it('refuses content of another size or digest than reserved', () => {
    const entry = (over: Partial<PlacedEntry>): PlacedEntry => ({ name: 'm.txt', size: data.length, mode: 0o644, sha256: sha256Hex(data), pieces: () => parts, ...over });
    expect(() => written([entry({ size: data.length + 1 })])).toThrow(/m\.txt is \d+ bytes, \d+ were reserved/);
    expect(() => written([entry({ size: data.length - 1 })])).toThrow(/were reserved/);
    expect(() => written([entry({ sha256: sha256Hex('other') })])).toThrow(/m\.txt came out other than its pinned digest/);
  });

  it('materialized holds the same bytes in memory and checks them the same way', () => {
    const m = materialized({ name: 'm.txt', size: data.length, mode: 0o644, sha256: sha256Hex(data), pieces: () => parts });
    expect(m.pieces).toBeUndefined();
    expect(Buffer.from(m.data!).equals(data)).toBe(true);
    expect(() => materialized({ name: 'm.txt', size: data.length + 1, mode: 0o644, pieces: () => parts })).toThrow(/were reserved/);
    expect(() => materialized({ name: 'm.txt', size: data.length - 1, mode: 0o644, pieces: () => parts })).toThrow(/were reserved/);
    expect(() => materialized({ name: 'm.txt', size: data.length, mode: 0o644, sha256: sha256Hex('x'), pieces: () => parts })).toThrow(/pinned digest/);
    const plain: PlacedEntry = { name: 'p', size: 1, mode: 0o644, data: Buffer.from('p') };
    expect(materialized(plain)).toBe(plain);
  });
});

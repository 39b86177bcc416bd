import { closeSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { closeSpill, KEEP_MAX_FILE, KEEP_SETTLED_MS, openSpill, readKept, SpillBatch } from '../../src/export/spill.js';
import { BlobRunBuilder, blobRunEntries, runJob, type HashedBatch } from '../../src/export/jobs.js';
import { writeEntriesSync } from '../../src/export/blob-copy.js';
import { sha256Hex } from '../../src/crypto/sha256.js';
import { listDir, removeTempDirs, tempDir } from '../helpers/tmp.js';

afterAll(removeTempDirs);

const contents = Array.from({ length: 300 }, (_, k) => Buffer.alloc((k * 97) % 8000, k & 0xff));

describe('spill', () => {
  it.each([
    ['in memory', undefined],
    ['in the file', 0],
    ['in memory, then the file', 300_000],
  ] as const)('keeps each content where settle() says, across several stores, %s, and leaves no file behind', (_, arenaBytes) => {
    const dir = tempDir();
    const spill = openSpill(join(dir, 'out.tar'), undefined, arenaBytes)!;
    try {
      expect(listDir(dir)).toEqual([]);
      const batch = new SpillBatch(spill);
      // Over 1 MiB in all: the batch stores more than once.
      const places = contents.map((c) => batch.add(c));
      expect(places).toEqual(contents.map((_, k) => k));
      const ats = batch.settle();
      // No two contents share a byte of the store.
      const spans = ats.map((at, k) => [at, at + contents[k]!.length] as const).sort((x, y) => x[0] - y[0]);
      for (let k = 1; k < spans.length; k++) expect(spans[k]![0]).toBeGreaterThanOrEqual(spans[k - 1]![1]);
      const inMemory = spill.arena?.byteLength ?? 0;
      const memoryKept = ats.filter((at) => at < inMemory).length;
      if (arenaBytes === 0) expect(memoryKept).toBe(0);
      else if (arenaBytes === undefined) expect(memoryKept).toBe(contents.length);
      else expect(memoryKept > 0 && memoryKept < contents.length).toBe(true);
      contents.forEach((c, k) => {
        expect(ats[k]).toBeGreaterThanOrEqual(0);
        const into = Buffer.alloc(c.length);
        readKept(spill, ats[k]!, c.length, sha256Hex(c), into, `f${k}`);
        expect(into.equals(c)).toBe(true);
      });
      // A second batch (another thread, another job) gets room of its own.
      const more = new SpillBatch(spill);
      more.add(Buffer.from('second'));
      const [at] = more.settle();
      expect(at).toBeGreaterThanOrEqual(0);
      expect(spans.every(([from, to]) => at! >= to || at! + 6 <= from)).toBe(true);
    } finally {
      closeSpill(spill);
    }
  });

  it('lets a smaller batch into room a larger one did not fit, up to the last byte of memory', () => {
    const spill = openSpill(join(tempDir(), 'out.tar'), 0, 10_000)!;
    try {
      const stored = (size: number, fill: number) => {
        const batch = new SpillBatch(spill);
        batch.add(Buffer.alloc(size, fill));
        return batch.settle()[0];
      };
      expect(stored(6000, 1)).toBe(0);
      // 5,000 bytes do not fit in the 4,000 left, nor in a file of no room; 4,000 still do.
      expect(stored(5000, 2)).toBe(-1);
      expect(stored(4000, 3)).toBe(6000);
      expect(stored(1, 4)).toBe(-1);
      const into = Buffer.alloc(4000);
      readKept(spill, 6000, 4000, sha256Hex(Buffer.alloc(4000, 3)), into, 'last');
      expect(into.equals(Buffer.alloc(4000, 3))).toBe(true);
    } finally {
      closeSpill(spill);
    }
  });

  it('fills the memory, then the file, then gives -1 for what fits in neither: those files are read again', () => {
    const spill = openSpill(join(tempDir(), 'out.tar'), 10_000, 7_000)!;
    try {
      const places = [1, 2, 3].map((k) => {
        const batch = new SpillBatch(spill);
        batch.add(Buffer.alloc(6000, k));
        return batch.settle()[0];
      });
      // The memory's 7,000 bytes, then the file's first 6,000 (at their place after the
      // memory's length), then no room.
      expect(places).toEqual([0, 7_000, -1]);
      const into = Buffer.alloc(6000);
      readKept(spill, 7_000, 6000, sha256Hex(Buffer.alloc(6000, 2)), into, 'second');
      expect(into.equals(Buffer.alloc(6000, 2))).toBe(true);
    } finally {
      closeSpill(spill);
    }
  });

  it.each([
    ['in memory', undefined],
    ['in the file', 0],
  ] as const)('refuses a kept copy that is damaged or cut short, %s', (where, arenaBytes) => {
    const spill = openSpill(join(tempDir(), 'out.tar'), undefined, arenaBytes)!;
    try {
      const c = Buffer.from('the bytes the hashing pass read');
      const batch = new SpillBatch(spill);
      batch.add(c);
      const [at] = batch.settle();
      expect(at! < (spill.arena?.byteLength ?? 0)).toBe(where === 'in memory');
      const into = Buffer.alloc(c.length + 10);
      readKept(spill, at!, c.length, sha256Hex(c), into, 'in/a.log');
      // Past the end of the file, or across the end of the memory.
      const across = where === 'in memory' ? spill.arena!.byteLength - 5 : at!;
      expect(() => readKept(spill, across, c.length + 10, sha256Hex(c), into, 'in/a.log')).toThrow(/kept since the hashing pass was damaged/);
      if (where === 'in memory') new Uint8Array(spill.arena!)[at! + 3] = 0x54;
      else writeSync(spill.fd, Buffer.from('T'), 0, 1, at!);
      expect(() => readKept(spill, at!, c.length, sha256Hex(c), into, 'in/a.log')).toThrow(/copy of in\/a\.log kept since the hashing pass was damaged/);
      // An integrity failure of its own (exit 1), not an internal error.
      expect(() => readKept(spill, at!, c.length, sha256Hex(c), into, 'in/a.log')).toThrow(expect.objectContaining({ code: 'SPILL_DAMAGED', exitCode: 1 }));
      // The writing pass sends a kept blob without its path: the damage is named by the blob.
      const name = `blobs/sha256/${sha256Hex(c)}`;
      const entry = { name, size: c.length, mode: 0o644, sha256: sha256Hex(c), path: '', kept: { store: spill, at: at! } };
      const out = openSync(join(tempDir(), 'x.tar'), 'w');
      try {
        expect(() => writeEntriesSync(out, 0, [entry], 0, () => undefined)).toThrow(`the copy of ${name} kept since the hashing pass was damaged`);
      } finally {
        closeSync(out);
      }
    } finally {
      closeSpill(spill);
    }
  });

  it('is not made where the output cannot be', () => {
    expect(openSpill(join(tempDir(), 'missing', 'out.tar'))).toBeNull();
  });

  it('reaches the writing pass through a blob run: kept blobs carry the spill and their offset', () => {
    const digests = [sha256Hex('a'), sha256Hex('b'), sha256Hex('c')];
    const store = { fd: 42, arena: new SharedArrayBuffer(16) };
    const b = new BlobRunBuilder(store);
    b.add(digests[0]!, '/in/a', 1, false, 100);
    b.add(digests[1]!, '/in/b', 1, false);
    b.add(digests[2]!, '/in/c', 1, true, 0);
    b.add(digests[0]!, '', 1, false, 7);
    const entries = blobRunEntries(structuredClone(b.take()));
    expect(entries.map((e) => (e.kept ? { fd: e.kept.store.fd, at: e.kept.at } : null))).toEqual([{ fd: 42, at: 100 }, null, { fd: 42, at: 0 }, { fd: 42, at: 7 }]);
    // The memory crosses a message shared, not copied (a clone here stands for it).
    const arena = entries[0]!.kept!.store.arena!;
    new Uint8Array(arena)[3] = 9;
    expect(new Uint8Array(store.arena)[3]).toBe(9);
    // A kept blob needs no path (the export sends none); one to be read does.
    expect(entries.map((e) => e.path)).toEqual(['/in/a', '/in/b', '/in/c', '']);
    expect(() => new BlobRunBuilder(store).add(digests[1]!, '', 1, false)).toThrow(/neither a file nor a kept copy/);
    const none = new BlobRunBuilder(store);
    none.add(digests[0]!, '/in/a', 1, false);
    expect(none.take().kept).toBeNull();
    expect(() => new BlobRunBuilder().add(digests[0]!, '/in/a', 1, false, 5)).toThrow(/kept in no spill/);
    const two = new BlobRunBuilder(store);
    two.add(digests[0]!, '/in/a', 1, false, 3);
    two.add(digests[1]!, '/in/b', 1, false, 4);
    const run = two.take();
    expect(() => blobRunEntries({ ...run, kept: { store, at: new Float64Array([3]) } })).toThrow(/disagree/);
  });

  it('a hashing job keeps settled small files where it says, until the spill is full, and no fresh or large one', async () => {
    const dir = tempDir();
    const settledFiles = Array.from({ length: 200 }, (_, k) => join(dir, `s${String(k).padStart(3, '0')}.log`));
    settledFiles.forEach((f, k) => writeFileSync(f, Buffer.alloc(8000, k)));
    writeFileSync(join(dir, 'large.bin'), Buffer.alloc(KEEP_MAX_FILE + 1, 1));
    await new Promise((r) => setTimeout(r, KEEP_SETTLED_MS + 100));
    writeFileSync(join(dir, 'fresh.log'), 'written just now');
    // The large and the fresh file first, while the spill has room: neither is kept.
    const paths = [join(dir, 'large.bin'), join(dir, 'fresh.log'), ...settledFiles];
    // 1.6 MB of settled files: the job writes about 1 MiB, which fits, then the rest, which does not.
    const spill = openSpill(join(dir, 'out.tar'), 1_200_000, 0)!;
    try {
      const job = { kind: 'hash' as const, files: paths.map((p) => ({ name: p.slice(dir.length + 1), path: p })), spill };
      const got = (await runJob(job, () => undefined)) as HashedBatch;
      const kept = [...got.keptAt].map((at) => at >= 0);
      const firstWrite = Math.floor((1 << 20) / 8000);
      expect(kept).toEqual(paths.map((_, k) => k >= 2 && k < 2 + firstWrite));
      got.sizes.forEach((size, k) => {
        if (got.keptAt[k]! < 0) return;
        const into = Buffer.alloc(size);
        readKept(spill, got.keptAt[k]!, size, got.digests[k]!, into, paths[k]!);
        expect(into.equals(readFileSync(paths[k]!))).toBe(true);
      });
    } finally {
      closeSpill(spill);
    }
  });
});

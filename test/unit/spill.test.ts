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
  it('keeps each content where settle() says, across several writes, and leaves no file behind', () => {
    const dir = tempDir();
    const spill = openSpill(join(dir, 'out.tar'))!;
    try {
      expect(listDir(dir)).toEqual([]);
      const batch = new SpillBatch(spill);
      // Over 1 MiB in all: the batch writes more than once.
      const places = contents.map((c) => batch.add(c));
      expect(places).toEqual(contents.map((_, k) => k));
      const ats = batch.settle();
      // No two contents share a byte of the spill.
      const spans = ats.map((at, k) => [at, at + contents[k]!.length] as const).sort((x, y) => x[0] - y[0]);
      for (let k = 1; k < spans.length; k++) expect(spans[k]![0]).toBeGreaterThanOrEqual(spans[k - 1]![1]);
      contents.forEach((c, k) => {
        expect(ats[k]).toBeGreaterThanOrEqual(0);
        const into = Buffer.alloc(c.length);
        readKept(spill.fd, ats[k]!, c.length, sha256Hex(c), into, `f${k}`);
        expect(into.equals(c)).toBe(true);
      });
      // A second batch (another thread, another job) gets room of its own.
      const more = new SpillBatch(spill);
      more.add(Buffer.from('second'));
      const [at] = more.settle();
      expect(at).toBeGreaterThanOrEqual(contents.reduce((a, c) => a + c.length, 0));
    } finally {
      closeSpill(spill);
    }
  });

  it('gives -1 for what does not fit under the cap: those files are read again', () => {
    const spill = openSpill(join(tempDir(), 'out.tar'), 10_000)!;
    try {
      const batch = new SpillBatch(spill);
      batch.add(Buffer.alloc(6000, 1));
      expect(batch.settle()).toEqual([0]);
      const next = new SpillBatch(spill);
      next.add(Buffer.alloc(6000, 2));
      expect(next.settle()).toEqual([-1]);
    } finally {
      closeSpill(spill);
    }
  });

  it('refuses a kept copy that is damaged or cut short', () => {
    const spill = openSpill(join(tempDir(), 'out.tar'))!;
    try {
      const c = Buffer.from('the bytes the hashing pass read');
      const batch = new SpillBatch(spill);
      batch.add(c);
      const [at] = batch.settle();
      const into = Buffer.alloc(c.length + 10);
      expect(() => readKept(spill.fd, at!, c.length + 10, sha256Hex(c), into, 'in/a.log')).toThrow(/kept since the hashing pass was damaged/);
      writeSync(spill.fd, Buffer.from('T'), 0, 1, at!);
      expect(() => readKept(spill.fd, at!, c.length, sha256Hex(c), into, 'in/a.log')).toThrow(/copy of in\/a\.log kept since the hashing pass was damaged/);
      // An integrity failure of its own (exit 1), not an internal error.
      expect(() => readKept(spill.fd, at!, c.length, sha256Hex(c), into, 'in/a.log')).toThrow(expect.objectContaining({ code: 'SPILL_DAMAGED', exitCode: 1 }));
      // The writing pass sends a kept blob without its path: the damage is named by the blob.
      const name = `blobs/sha256/${sha256Hex(c)}`;
      const entry = { name, size: c.length, mode: 0o644, sha256: sha256Hex(c), path: '', kept: { fd: spill.fd, at: at! } };
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
    const b = new BlobRunBuilder(42);
    b.add(digests[0]!, '/in/a', 1, false, 100);
    b.add(digests[1]!, '/in/b', 1, false);
    b.add(digests[2]!, '/in/c', 1, true, 0);
    b.add(digests[0]!, '', 1, false, 7);
    const entries = blobRunEntries(structuredClone(b.take()));
    expect(entries.map((e) => e.kept ?? null)).toEqual([{ fd: 42, at: 100 }, null, { fd: 42, at: 0 }, { fd: 42, at: 7 }]);
    // A kept blob needs no path (the export sends none); one to be read does.
    expect(entries.map((e) => e.path)).toEqual(['/in/a', '/in/b', '/in/c', '']);
    expect(() => new BlobRunBuilder(42).add(digests[1]!, '', 1, false)).toThrow(/neither a file nor a kept copy/);
    const none = new BlobRunBuilder(42);
    none.add(digests[0]!, '/in/a', 1, false);
    expect(none.take().kept).toBeNull();
    expect(() => new BlobRunBuilder().add(digests[0]!, '/in/a', 1, false, 5)).toThrow(/kept in no spill/);
    const two = new BlobRunBuilder(42);
    two.add(digests[0]!, '/in/a', 1, false, 3);
    two.add(digests[1]!, '/in/b', 1, false, 4);
    const run = two.take();
    expect(() => blobRunEntries({ ...run, kept: { fd: 42, at: new Float64Array([3]) } })).toThrow(/disagree/);
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
    const spill = openSpill(join(dir, 'out.tar'), 1_200_000)!;
    try {
      const job = { kind: 'hash' as const, files: paths.map((p) => ({ name: p.slice(dir.length + 1), path: p })), spill };
      const got = (await runJob(job, () => undefined)) as HashedBatch;
      const kept = [...got.keptAt].map((at) => at >= 0);
      const firstWrite = Math.floor((1 << 20) / 8000);
      expect(kept).toEqual(paths.map((_, k) => k >= 2 && k < 2 + firstWrite));
      got.sizes.forEach((size, k) => {
        if (got.keptAt[k]! < 0) return;
        const into = Buffer.alloc(size);
        readKept(spill.fd, got.keptAt[k]!, size, got.digests[k]!, into, paths[k]!);
        expect(into.equals(readFileSync(paths[k]!))).toBe(true);
      });
    } finally {
      closeSpill(spill);
    }
  });
});

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BlobRunBuilder, blobRunEntries, runJob, type HashedBatch } from '../../src/export/jobs.js';
import { sha256Hex } from '../../src/crypto/sha256.js';
import { classify } from '../../src/evidence/classify.js';
import { removeTempDirs, tempDir } from '../helpers/tmp.js';

afterAll(removeTempDirs);

describe('hashing job', () => {
  it('gives each file its classification as an index into the batch\'s distinct ones, and leaves the strings empty', async () => {
    const dir = tempDir();
    const files = [
      ['a.log', 'a line\n'],
      ['bom.cdx.json', JSON.stringify({ bomFormat: 'CycloneDX', specVersion: '1.6' })],
      ['b.log', 'another line\n'],
      ['vex.json', JSON.stringify({ '@context': 'https://openvex.dev/ns/v0.2.0', statements: [] })],
      ['c.bin', 'x'],
      ['bom2.cdx.json', JSON.stringify({ bomFormat: 'CycloneDX', specVersion: '1.5' })],
    ] as const;
    for (const [name, text] of files) writeFileSync(join(dir, name), text);
    const job = { kind: 'hash' as const, files: files.map(([name]) => ({ name, path: join(dir, name) })) };
    const got = structuredClone((await runJob(job, () => undefined)) as HashedBatch);
    expect(got.typeOf.length).toBe(files.length);
    expect(got.digests).toEqual(files.map(([, text]) => sha256Hex(text)));
    expect([...got.sizes]).toEqual(files.map(([, text]) => Buffer.byteLength(text)));
    files.forEach(([name, text], k) => {
      const c = classify(name, Buffer.from(text));
      expect(got.types[got.typeOf[k]!]).toEqual({ kind: c.kind, mediaType: c.mediaType });
    });
    // Each classification once: the two logs share one, the two CycloneDX files another.
    const distinct = new Set(files.map(([name, text]) => JSON.stringify(classify(name, Buffer.from(text)))));
    expect(got.types.length).toBe(distinct.size);
    expect(distinct.size).toBeLessThan(files.length);
  });
});

describe('BlobRun', () => {
  const blobs = Array.from({ length: 7 }, (_, k) => ({
    sha256: sha256Hex(String(k)),
    path: k === 3 ? '/in/ünï cödé\n/x' : `/in/d/f${k}.bin`,
    size: k * 1000,
    viaLink: k % 3 === 1,
  }));

  it('stands for the blobs it was given, through a structured clone (as between threads), and the builder starts afresh', () => {
    const b = new BlobRunBuilder();
    for (const x of blobs) b.add(x.sha256, x.path, x.size, x.viaLink);
    expect([b.length, b.bytes]).toEqual([7, 21_000]);
    const run = structuredClone(b.take());
    expect(blobRunEntries(run)).toEqual(blobs.map((x) => ({ name: `blobs/sha256/${x.sha256}`, size: x.size, mode: 0o644, sha256: x.sha256, path: x.path, viaLink: x.viaLink })));
    expect([b.length, b.bytes]).toEqual([0, 0]);
    b.add(blobs[0]!.sha256, blobs[0]!.path, 5, false);
    expect(blobRunEntries(b.take())).toEqual([{ name: `blobs/sha256/${blobs[0]!.sha256}`, size: 5, mode: 0o644, sha256: blobs[0]!.sha256, path: blobs[0]!.path, viaLink: false }]);
  });

  it('refuses what it cannot carry, and runs whose parts disagree', () => {
    const b = new BlobRunBuilder();
    expect(() => b.add('abc', '/x', 1, false)).toThrow(/cannot be sent/);
    expect(() => b.add(blobs[0]!.sha256, '/x\0y', 1, false)).toThrow(/cannot be sent/);
    b.add(blobs[0]!.sha256, '/x', 1, false);
    b.add(blobs[1]!.sha256, '/y', 2, false);
    const run = b.take();
    expect(() => blobRunEntries({ ...run, paths: '/x\0' })).toThrow(/fewer paths/);
    expect(() => blobRunEntries({ ...run, paths: '/x\0/y\0/z\0' })).toThrow(/disagree/);
    expect(() => blobRunEntries({ ...run, digests: run.digests + 'a' })).toThrow(/disagree/);
    expect(() => blobRunEntries({ ...run, viaLink: [2] })).toThrow(/disagree/);
    expect(() => b.take()).toThrow(/empty blob run/);
  });
});

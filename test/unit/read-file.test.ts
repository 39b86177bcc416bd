/**
 * The export's hashing pass reads to the real end of a file and never hangs on a FIFO
 * put in a file's place.
 */
import { spawnSync } from '../helpers/spawn.js';
import { appendFileSync, closeSync, existsSync, openSync, readFileSync, readSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CHUNK, copyVerifiedSync, hashFileSync, InputReadError } from '../../src/export/read-file.js';
import { sha256Hex } from '../../src/crypto/sha256.js';
import { removeTempDirs, tempDir } from '../helpers/tmp.js';
import { HAS_MKFIFO } from '../helpers/tools.js';

afterAll(removeTempDirs);

const hasMkfifo = HAS_MKFIFO;
const hasKallsyms = existsSync('/proc/kallsyms');

describe('hashFileSync', () => {
  it('hashes the whole file and keeps small content', () => {
    const f = join(tempDir(), 'a.txt');
    writeFileSync(f, 'hello\n');
    const r = hashFileSync(f, 1024);
    expect(r.sha256).toBe(sha256Hex(Buffer.from('hello\n')));
    expect(r.size).toBe(6);
    expect(r.content?.toString()).toBe('hello\n');
    expect(hashFileSync(f, 3).content).toBeNull(); // larger than keepUpTo
  });

  it('streams a large file the caller does not want whole, with the same digest', () => {
    const f = join(tempDir(), 'big.bin');
    const data = Buffer.alloc(3 << 20, 0x41);
    writeFileSync(f, data);
    const heads: number[] = [];
    const r = hashFileSync(f, 16 << 20, (head) => (heads.push(head.length), false));
    expect(heads).toEqual([1 << 16]); // asked once, after the first 64 KiB
    expect(r.content).toBeNull();
    expect(r.size).toBe(data.length);
    expect(r.sha256).toBe(sha256Hex(data));
    const whole = hashFileSync(f, 16 << 20, () => true);
    expect(whole.content?.equals(data)).toBe(true);
    expect(whole.sha256).toBe(r.sha256);
  });

  // After the test above: reading whole files of up to 1 MiB grows this thread's buffer.
  it('ends at a short read at the reported size or at a read of nothing, around the first buffer\'s size', () => {
    const dir = tempDir();
    for (const size of [0, 1, (1 << 16) - 1, 1 << 16, (1 << 16) + 1, (1 << 18) + 5]) {
      const f = join(dir, `f${size}`);
      const data = Buffer.from(Array.from({ length: size }, (_, k) => (k * 13) & 255));
      writeFileSync(f, data);
      for (const keep of [1 << 20, 8]) {
        const r = hashFileSync(f, keep);
        expect([r.size, r.sha256]).toEqual([size, sha256Hex(data)]);
        expect(r.content === null ? null : Buffer.from(r.content).equals(data)).toBe(size <= keep ? true : null);
      }
    }
  });

  it('tells how long a small file had been unchanged when read, and only up to recheckUpTo', () => {
    const f = join(tempDir(), 'new.log');
    writeFileSync(f, 'just written\n');
    const before = Date.now();
    const r = hashFileSync(f, 1024, undefined, false, 100);
    // Written a moment ago: settled for no more than the time since, give or take the
    // file system clock's step.
    expect(r.settledMs).toBeGreaterThanOrEqual(0);
    expect(r.settledMs).toBeLessThan(Date.now() - before + 1000);
    expect(hashFileSync(f, 1024, undefined, false, 12).settledMs).toBe(-1); // 13 bytes
    expect(hashFileSync(f, 1024).settledMs).toBe(-1); // not asked
    expect(hashFileSync(f, 1024, undefined, false, 13).settledMs).toBeGreaterThanOrEqual(0);
  });

  it('refuses as changed what can no longer be read as a file (a directory in its place)', () => {
    expect(() => hashFileSync(tempDir(), 1024)).toThrow(expect.objectContaining({ reason: 'changed' }));
  });

  it.skipIf(!hasKallsyms)('reads procfs files to their end although their reads come back short', () => {
    const want = readFileSync('/proc/kallsyms');
    const r = hashFileSync('/proc/kallsyms', 16 << 20);
    // The first read of /proc/kallsyms returns a few KB of a file of megabytes.
    const fd = openSync('/proc/kallsyms', 'r');
    const first = readSync(fd, Buffer.alloc(1 << 16), 0, 1 << 16, null);
    closeSync(fd);
    expect(first).toBeLessThan(want.length);
    expect(r.size).toBe(want.length);
    // procfs says 0 bytes: never settled, so the writing pass reads it again.
    expect(hashFileSync('/proc/kallsyms', 16 << 20, undefined, false, 16 << 20).settledMs).toBe(-1);
  });

  it.skipIf(!hasMkfifo)('refuses a FIFO in place of a file at once instead of waiting for a writer', () => {
    const p = join(tempDir(), 'pipe');
    expect(spawnSync('mkfifo', [p]).status).toBe(0);
    let err: unknown = null;
    try {
      hashFileSync(p, 1024);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InputReadError);
    expect((err as InputReadError).reason).toBe('changed');
  });
});

describe('classifyWantsContent', () => {
  it('wants JSON, blank starts and .jsonl/.ndjson names whole, nothing else', async () => {
    const { classifyWantsContent } = await import('../../src/evidence/classify.js');
    expect(classifyWantsContent('a.bin', Buffer.from('  \n{"x":1'))).toBe(true);
    expect(classifyWantsContent('a.bin', Buffer.from('   '))).toBe(true);
    expect(classifyWantsContent('log.JSONL', Buffer.from('plain'))).toBe(true);
    expect(classifyWantsContent('events.ndjson', Buffer.from('x'))).toBe(true);
    expect(classifyWantsContent('layer.tar', Buffer.from('ustar'))).toBe(false);
    expect(classifyWantsContent('x.json', Buffer.from('[1,2]'))).toBe(false);
  });

  it('does not want binary data that happens to start with "{" (a control byte follows), nor decode it', async () => {
    const { classify, classifyWantsContent } = await import('../../src/evidence/classify.js');
    const binary = Buffer.concat([Buffer.from('{'), Buffer.from([0x8f, 0x00, 0x13, 0xff]), Buffer.alloc(1000, 0xab)]);
    expect(classifyWantsContent('layer.bin', binary)).toBe(false);
    expect(classifyWantsContent('doc.bin', Buffer.from('{\t"a":\r\n1}'))).toBe(true);
    // Classified by name, as any content that is not JSON.
    expect(classify('layer.bin', binary)).toEqual(classify('layer.bin', null));
    // Not UTF-8, though free of control bytes: not JSON either (RFC 8259 section 8.1).
    const latin1 = Buffer.from('{"bomFormat":"CycloneDX","specVersion":"1.6","x":"caf\xe9"}', 'latin1');
    expect(classify('sbom.bin', latin1)).toEqual(classify('sbom.bin', null));
    expect(classify('sbom.bin', Buffer.from(latin1.toString('latin1'), 'utf8'))).not.toEqual(classify('sbom.bin', null));
  });

  it('looks past a UTF-8 byte order mark, as RFC 8259 allows, and nowhere else', async () => {
    const { classify, classifyWantsContent } = await import('../../src/evidence/classify.js');
    const BOM = Buffer.from([0xef, 0xbb, 0xbf]);
    const sbom = Buffer.from('{"bomFormat":"CycloneDX","specVersion":"1.6"}');
    expect(classifyWantsContent('export.bin', Buffer.concat([BOM, sbom]))).toBe(true);
    expect(classify('export.bin', Buffer.concat([BOM, sbom]))).toEqual({ kind: 'sbom', mediaType: 'application/vnd.cyclonedx+json' });
    expect(classify('export.bin', Buffer.concat([BOM, Buffer.from('\r\n'), sbom])).kind).toBe('sbom');
    const event = Buffer.from('{"tenant":"acme","action":"export"}\n');
    expect(classify('audit.jsonl', Buffer.concat([BOM, event])).kind).toBe('audit-log');
    // A mark in the middle, or a mark twice, is not one to skip.
    expect(classify('export.bin', Buffer.concat([BOM, BOM, sbom]))).toEqual(classify('export.bin', null));
    expect(classify('export.bin', Buffer.concat([Buffer.from(' '), BOM, sbom]))).toEqual(classify('export.bin', null));
  });
});

describe('copyVerifiedSync', () => {
  const copy = (path: string, size: number, sha256: string): { out: Buffer; err: unknown } => {
    const out = Buffer.alloc(size + CHUNK + 1, 0xee);
    let fill = 0;
    try {
      copyVerifiedSync(
        path,
        size,
        sha256,
        (max) => out.subarray(fill, fill + max),
        (n) => {
          fill += n;
        },
      );
      return { out: out.subarray(0, fill), err: null };
    } catch (e) {
      return { out: out.subarray(0, fill), err: e };
    }
  };

  // Around the read size: one byte more is asked than is left, so growth shows in the
  // same read for small files and in a last one-byte read after whole chunks.
  for (const size of [0, 1, 1000, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK]) {
    it(`copies an unchanged ${size}-byte file and refuses it grown by one byte, shrunk or edited`, () => {
      const f = join(tempDir(), 'f.bin');
      const data = Buffer.from(Array.from({ length: size }, (_, k) => (k * 31) & 255));
      writeFileSync(f, data);
      const digest = sha256Hex(data);
      const ok = copy(f, size, digest);
      expect(ok.err).toBeNull();
      expect(ok.out.equals(data)).toBe(true);

      appendFileSync(f, 'x');
      const grew = copy(f, size, digest);
      expect(grew.err).toBeInstanceOf(InputReadError);
      expect((grew.err as InputReadError).reason).toBe('changed');

      if (size > 0) {
        writeFileSync(f, data.subarray(0, size - 1));
        const shrank = copy(f, size, digest);
        expect((shrank.err as InputReadError).reason).toBe('changed');

        // Same size, one byte different, in the first read and in the last: a file read
        // in one go is hashed in one go, a longer one as it streams.
        for (const at of new Set([0, size - 1])) {
          const edited = Buffer.from(data);
          edited[at] = edited[at]! ^ 1;
          writeFileSync(f, edited);
          const changed = copy(f, size, digest);
          expect((changed.err as InputReadError).reason).toBe('changed');
        }
      }
    });
  }
});

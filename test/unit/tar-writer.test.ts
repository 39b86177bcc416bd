import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import tar from 'tar-stream';
import { entryHeader, entryHeaderInto, entryHeaderLength, entrySpan, TarWriter } from '../../src/bundle/tar-writer.js';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';

const MTIME = Date.parse('2026-11-01T00:00:00Z') / 1000;

/** What tar-stream (the writer we replaced) emits for one entry, header(s) only. */
async function tarStreamHeader(name: string, size: number, mode: number, mtime = MTIME): Promise<Buffer> {
  const pack = tar.pack();
  const parts: Buffer[] = [];
  pack.on('data', (b) => parts.push(b as Buffer));
  const done = new Promise<void>((r) => pack.on('end', () => r()));
  const entry = pack.entry({ name, size, mode, mtime: new Date(mtime * 1000), uid: 0, gid: 0, uname: '', gname: '', type: 'file' });
  entry.end(Buffer.alloc(size, 0x61));
  pack.finalize();
  await done;
  const all = Buffer.concat(parts);
  return all.subarray(0, all.length - 1024 - size - ((512 - (size % 512)) % 512));
}

describe('tar headers', () => {
  const names = [
    'manifest.json',
    'blobs/sha256/' + 'ab'.repeat(32),
    'x'.repeat(100),
    'dir/'.repeat(30) + 'file.txt', // split into prefix and name
    'päckage/ß-ünïcode.json', // pax path record
    'y'.repeat(101), // too long for ustar, no slash to split at
    'd/' + 'z'.repeat(120), // the part after the slash still does not fit
  ];
  for (const name of names) {
    for (const [size, mode] of [[0, 0o644], [1, 0o755], [513, 0o644]] as const) {
      it(`match tar-stream byte for byte: ${name.slice(0, 40)} (${size} B, ${mode.toString(8)})`, async () => {
        const ours = entryHeader(name, size, mode, MTIME);
        expect(ours.equals(await tarStreamHeader(name, size, mode))).toBe(true);
        expect(entrySpan(ours.length, size) % 512).toBe(0);
        expect(entryHeaderLength(name)).toBe(ours.length);
      });
    }
  }

  it('match tar-stream byte for byte for any ASCII name, size, mode and time (in place and whole)', async () => {
    const ascii = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), minLength: 1, maxLength: 260 });
    // Names of the lengths where ustar's name and prefix split, and does not.
    const name = fc.oneof(ascii, fc.tuple(fc.array(ascii.map((s) => s.replace(/\//g, '').slice(0, 60) || 'd'), { minLength: 1, maxLength: 6 }), ascii).map(([d, f]) => [...d, f].join('/')));
    const target = Buffer.alloc(2048, 0x5a);
    // Times to 2038: tar-stream truncates a time to 32 bits (ours stays octal up to 8 ** 11).
    await fc.assert(
      fc.asyncProperty(name, fc.integer({ min: 0, max: 8 ** 11 - 1 }), fc.constantFrom(0o644, 0o755, 0o600), fc.integer({ min: 0, max: 2 ** 31 - 1 }), async (n, size, mode, mtime) => {
        const want = await tarStreamHeader(n, 0, mode, mtime);
        // tar-stream is given no content here; the size field is compared by building it again.
        const ours = entryHeader(n, size, mode, mtime);
        const again = entryHeader(n, 0, mode, mtime);
        expect(again.equals(want)).toBe(true);
        expect(ours.length).toBe(want.length);
        const last = ours.subarray(ours.length - 512);
        expect(last.toString('latin1', 124, 136)).toBe(size.toString(8).padStart(11, '0') + ' ');
        let sum = 8 * 0x20;
        for (let k = 0; k < 512; k++) if (k < 148 || k >= 156) sum += last[k]!;
        expect(last.toString('latin1', 148, 156)).toBe(sum.toString(8).padStart(6, '0') + ' \0');
        if (ours.length === 512) {
          expect(entryHeaderInto(target, 700, n, size, mode, mtime)).toBe(512);
          expect(target.subarray(700, 1212).equals(ours)).toBe(true);
        } else expect(entryHeaderInto(target, 700, n, size, mode, mtime)).toBe(0);
      }),
      { numRuns: 300 },
    );
  });

  it('uses base-256 for a size that does not fit 11 octal digits, and counts it in the checksum', () => {
    const h = entryHeader('big', 2 ** 33 + 0xabcdef, 0o644, MTIME);
    expect(h[124]).toBe(0x80);
    expect(h.readUIntBE(130, 6)).toBe(2 ** 33 + 0xabcdef);
    // The checksum field holds the sum of all bytes, itself counted as eight spaces.
    let sum = 8 * 0x20;
    for (let k = 0; k < 512; k++) if (k < 148 || k >= 156) sum += h[k]!;
    expect(h.toString('latin1', 148, 154)).toBe(sum.toString(8).padStart(6, '0'));
  });

  it('writes the same block in place, over whatever the buffer held, for any mode and time in any order', async () => {
    const target = Buffer.alloc(4096, 0xa5);
    const cases = [
      ['blobs/sha256/' + 'cd'.repeat(32), 1024, 0o644, MTIME],
      ['verify.sh', 3000, 0o755, MTIME],
      ['dir/'.repeat(30) + 'file.txt', 7, 0o644, MTIME + 86_400],
      ['blobs/sha256/' + 'ef'.repeat(32), 0, 0o644, MTIME],
    ] as const;
    for (const [name, size, mode, mtime] of cases) {
      expect(entryHeaderInto(target, 1000, name, size, mode, mtime)).toBe(512);
      expect(target.subarray(1000, 1512).equals(await tarStreamHeader(name, size, mode, mtime))).toBe(true);
    }
    // A size in base-256, in place, as entryHeader makes it.
    expect(entryHeaderInto(target, 1000, 'big', 2 ** 33 + 0xabcdef, 0o644, MTIME)).toBe(512);
    expect(target.subarray(1000, 1512).equals(entryHeader('big', 2 ** 33 + 0xabcdef, 0o644, MTIME))).toBe(true);
    expect(target.subarray(0, 1000).every((b) => b === 0xa5) && target.subarray(1512).every((b) => b === 0xa5)).toBe(true);
    // A name that needs a pax header is left to entryHeader.
    expect(entryHeaderInto(target, 0, 'päckage/ü.json', 1, 0o644, MTIME)).toBe(0);
    expect(target.subarray(0, 1000).every((b) => b === 0xa5)).toBe(true);
  });
});

describe('TarWriter (sequential, used for gzip)', () => {
  it('refuses an entry that gets more or fewer bytes than announced', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tarw-'));
    try {
      const fd = openSync(join(dir, 'a.tar'), 'w');
      const w = new TarWriter({ fd, mtime: new Date(MTIME * 1000) });
      await expect(w.addStream('a', 3, async (write) => write(Buffer.from('abcd')))).rejects.toThrow(/more than/);
      w.destroy(new Error('stop'));
      closeSync(fd);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('writes gzip whose content is the plain archive', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tarw-'));
    try {
      const outs: Buffer[] = [];
      for (const gzipLevel of [undefined, 1]) {
        const p = join(dir, `a${gzipLevel ?? ''}`);
        const fd = openSync(p, 'w');
        const w = new TarWriter({ fd, gzipLevel, mtime: new Date(MTIME * 1000) });
        await w.addBuffer('a.txt', Buffer.from('hello\n'));
        await w.addStream('b.bin', 3 << 20, async (write) => {
          for (let k = 0; k < 3; k++) await write(Buffer.alloc(1 << 20, k));
        });
        await w.finish();
        closeSync(fd);
        outs.push(readFileSync(p));
      }
      expect(gunzipSync(outs[1]!).equals(outs[0]!)).toBe(true);
      expect(outs[0]!.length).toBe(512 + 512 + 512 + (3 << 20) + 1024);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

import { describe, expect, it } from 'vitest';
import tar from 'tar-stream';
import { TarEntryReplacer, withSize } from '../../src/bundle/tar-rewrite.js';
import { TarFormatError } from '../../src/bundle/tar-reader.js';
import { foldName, planExtraction } from '../../src/extract/plan.js';
import type { Artifact } from '../../src/manifest/statement.js';

interface E {
  name: string;
  data: Buffer;
  pax?: Record<string, string>;
}

async function pack(entries: E[]): Promise<Buffer> {
  const p = tar.pack();
  const parts: Buffer[] = [];
  const done = new Promise<void>((resolve) => p.on('end', resolve));
  p.on('data', (c) => parts.push(c as Buffer));
  for (const e of entries) {
    await new Promise<void>((resolve, reject) =>
      p.entry({ name: e.name, size: e.data.length, mtime: new Date(1e12), mode: 0o600, uid: 7, gid: 9, uname: 'u', gname: 'g', pax: e.pax }, e.data, (err) =>
        err ? reject(err) : resolve(),
      ),
    );
  }
  p.finalize();
  await done;
  return Buffer.concat(parts);
}

async function unpack(b: Buffer): Promise<Array<{ name: string; data: Buffer; mtime: number; uid: number; mode: number }>> {
  const ex = tar.extract();
  const out: Array<{ name: string; data: Buffer; mtime: number; uid: number; mode: number }> = [];
  const done = new Promise<void>((resolve, reject) => {
    ex.on('entry', (h, s, next) => {
      const parts: Buffer[] = [];
      s.on('data', (c) => parts.push(c as Buffer));
      s.on('end', () => {
        out.push({ name: h.name, data: Buffer.concat(parts), mtime: h.mtime!.getTime(), uid: h.uid!, mode: h.mode! });
        next();
      });
    });
    ex.on('finish', resolve);
    ex.on('error', reject);
  });
  ex.end(b);
  await done;
  return out;
}

/** Feed the input in awkward chunk sizes, so block boundaries fall anywhere. */
function rewrite(input: Buffer, target: string, replacement: Buffer, chunk = 37): { out: Buffer; replaced: number } {
  const r = new TarEntryReplacer(target, replacement);
  const parts: Buffer[] = [];
  for (let off = 0; off < input.length; off += chunk) parts.push(...r.write(input.subarray(off, off + chunk)));
  r.end();
  return { out: Buffer.concat(parts), replaced: r.replaced };
}

describe('TarEntryReplacer', () => {
  const longName = `blobs/${'ä'.repeat(60)}/${'x'.repeat(120)}`; // non-ASCII and long: a pax header
  const entries: E[] = [
    { name: 'manifest.json', data: Buffer.from('{"a":1}') },
    { name: 'manifest.dsse.json', data: Buffer.from('old envelope') },
    { name: longName, data: Buffer.alloc(1500, 7) },
    { name: 'empty', data: Buffer.alloc(0) },
  ];

  it.each([[1], [37], [512], [100000]])('replaces one entry and copies the rest byte for byte (chunks of %i)', async (chunk) => {
    const input = await pack(entries);
    const replacement = Buffer.from('a new and much longer envelope '.repeat(40));
    const { out, replaced } = rewrite(input, 'manifest.dsse.json', replacement, chunk);
    expect(replaced).toBe(1);
    const got = await unpack(out);
    expect(got.map((e) => e.name)).toEqual(entries.map((e) => e.name));
    expect(got[1]!.data.equals(replacement)).toBe(true);
    expect(got[1]).toMatchObject({ mtime: 1e12, uid: 7, mode: 0o600 });
    for (const k of [0, 2, 3]) expect(got[k]!.data.equals(entries[k]!.data)).toBe(true);
    // Everything before the replaced entry is identical, and so is everything after it.
    const envStart = 512 + 512; // manifest header + one data block
    expect(out.subarray(0, envStart).equals(input.subarray(0, envStart))).toBe(true);
    const oldEnd = envStart + 512 + 512;
    const newEnd = envStart + 512 + Math.ceil(replacement.length / 512) * 512;
    expect(out.subarray(newEnd).equals(input.subarray(oldEnd))).toBe(true);
  });

  it('gives the same header our writer gives for the new size', async () => {
    const replacement = Buffer.from('x'.repeat(700));
    const { out } = rewrite(await pack(entries), 'manifest.dsse.json', replacement);
    const direct = await pack([entries[0]!, { name: 'manifest.dsse.json', data: replacement }, entries[2]!, entries[3]!]);
    expect(out.equals(direct)).toBe(true);
  });

  it('finds the entry under a "./" prefix too, and reports when it is absent', async () => {
    const input = await pack([{ name: './manifest.dsse.json', data: Buffer.from('e') }]);
    expect(rewrite(input, 'manifest.dsse.json', Buffer.from('f')).replaced).toBe(1);
    expect(rewrite(await pack([entries[0]!]), 'manifest.dsse.json', Buffer.from('f')).replaced).toBe(0);
  });

  it('refuses to rewrite an entry whose size lives in a pax record', async () => {
    const input = await pack([{ name: 'manifest.dsse.json', data: Buffer.from('e'), pax: { size: '1' } }]);
    expect(() => rewrite(input, 'manifest.dsse.json', Buffer.from('ff'))).toThrow(TarFormatError);
  });

  it('refuses trailing data and truncation', async () => {
    const input = await pack(entries);
    expect(() => rewrite(Buffer.concat([input, Buffer.from('junk')]), 'manifest.dsse.json', Buffer.from('f'))).toThrow(/after the end/);
    expect(() => rewrite(input.subarray(0, 1000), 'manifest.dsse.json', Buffer.from('f'))).toThrow(/ended early/);
  });

  it('withSize keeps the field layout and a valid checksum', async () => {
    const h = (await pack([{ name: 'a', data: Buffer.from('abc') }])).subarray(0, 512);
    const n = withSize(h, 0o1234567);
    expect(n.subarray(124, 136).toString('latin1')).toBe(h.subarray(124, 136).toString('latin1').replace(/^[0-7]+/, '00001234567'));
    let sum = 0;
    for (let k = 0; k < 512; k++) sum += k >= 148 && k < 156 ? 0x20 : n[k]!;
    expect(parseInt(n.subarray(148, 156).toString('latin1'), 8)).toBe(sum);
    expect(n.subarray(0, 124).equals(h.subarray(0, 124))).toBe(true);
    expect(n.subarray(156).equals(h.subarray(156))).toBe(true);
  });
});

describe('planExtraction', () => {
  const art = (name: string, sha = 'a'.repeat(64)): Artifact => ({ name, sha256: sha, size: 1, mediaType: 'text/plain', kind: 'other', tenant: 't' });

  it('folds case and normalisation the strict way', () => {
    expect(foldName('README.md')).toBe(foldName('readme.md'));
    expect(foldName('straße')).toBe(foldName('STRASSE'));
    expect(foldName('caf\u00e9')).toBe(foldName('cafe\u0301'));
    expect(foldName('a')).not.toBe(foldName('b'));
  });

  it('creates parents first and groups files by blob', () => {
    const p = planExtraction([art('x/y/z.txt', 'b'.repeat(64)), art('x/a.txt'), art('top.txt')]);
    expect(p.dirs).toEqual(['x', 'x/y']);
    expect([...p.byBlob.values()].map((l) => l.map((a) => a.name))).toEqual([['x/y/z.txt'], ['x/a.txt', 'top.txt']]);
  });

  it.each([
    [['a.txt', 'A.TXT']],
    [['d/x', 'D/y']],
    [['f', 'f/g']],
    [['F', 'f/g']],
    [['../x']],
    [['a/./b']],
  ])('refuses %j with an integrity error', (names) => {
    expect(() => planExtraction(names.map((n) => art(n)))).toThrow(expect.objectContaining({ category: 'integrity' }));
  });
});

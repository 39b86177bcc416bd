/**
 * The strict tar reader against archives crafted byte by byte: what real writers produce
 * is read, every hostile construction from the hardening issue is refused with a
 * TarFormatError and a message saying what is wrong. Name rules live in the verifier
 * (unsafeNameReason), so those cases go through verifyBundle on a real bundle.
 */
import { spawnSync } from '../helpers/spawn.js';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, createWriteStream, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip, gzipSync } from 'node:zlib';
import tarStream from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_TAR_LIMITS, TarFormatError, TarReader, type TarEntryHeader, type TarReaderLimits } from '../../src/bundle/tar-reader.js';
import { readArchive } from '../../src/bundle/read-archive.js';
import { verifyBundle } from '../../src/verify/verifier.js';
import { loadTrustFile, type TrustStore } from '../../src/trust/trust-file.js';
import {
  archive,
  base256,
  body,
  endMarker,
  file,
  fixChecksum,
  gnuLongName,
  header,
  paxHeader,
  paxRecord,
  simpleEntries,
  special,
  type SimpleEntry,
} from '../helpers/tar-craft.js';
import { acmeTrustFile, exportAcmeBundle } from '../helpers/fixture-bundle.js';

interface ReadEntry extends TarEntryHeader {
  content: Buffer;
  ended: boolean;
}

/** Feed `bytes` to a TarReader in chunks of `chunk` bytes; returns the entries it reported. */
function readAll(bytes: Buffer, chunk = Math.max(bytes.length, 1), limits: TarReaderLimits = DEFAULT_TAR_LIMITS): ReadEntry[] {
  const entries: ReadEntry[] = [];
  const reader = new TarReader((h) => {
    const parts: Buffer[] = [];
    const e: ReadEntry = { ...h, content: Buffer.alloc(0), ended: false };
    entries.push(e);
    return {
      update: (c) => parts.push(Buffer.from(c)),
      end: () => {
        e.content = Buffer.concat(parts);
        e.ended = true;
      },
    };
  }, limits);
  for (let k = 0; k < bytes.length; k += chunk) reader.write(bytes.subarray(k, k + chunk));
  reader.end();
  return entries;
}

/** The TarFormatError the reader raises for `bytes`, checked against `why`. */
function refusal(bytes: Buffer, why: RegExp, limits?: TarReaderLimits): TarFormatError {
  let err: unknown;
  try {
    readAll(bytes, undefined, limits);
  } catch (e) {
    err = e;
  }
  expect(err, `expected a refusal matching ${why}`).toBeInstanceOf(TarFormatError);
  expect((err as TarFormatError).message).toMatch(why);
  // Byte at a time too: the verdict must not depend on how the input is chunked.
  expect(() => readAll(bytes, 1, limits)).toThrow(why);
  return err as TarFormatError;
}

/** For tests that spawn processes or move 100 MiB: a busy machine is slow, and time is not what we test. */
const SLOW = 120_000;

const names = (es: readonly { name: string }[]) => es.map((e) => e.name);

describe('archives real writers produce are read', () => {
  it('plain ustar, whatever the chunking', () => {
    const tar = archive(file('a.txt', 'hello'), file('empty', ''), file('blk', Buffer.alloc(512, 7)), file('b/c.bin', Buffer.alloc(1000, 1)));
    for (const chunk of [1, 3, 511, 512, 513, 4096, tar.length]) {
      const es = readAll(tar, chunk);
      expect(names(es)).toEqual(['a.txt', 'empty', 'blk', 'b/c.bin']);
      expect(es.map((e) => e.content.toString('latin1'))).toEqual(['hello', '', '\x07'.repeat(512), '\x01'.repeat(1000)]);
      expect(es.every((e) => e.ended)).toBe(true);
      expect(es.map((e) => e.offset)).toEqual([0, 1024, 1536, 2560]);
      expect(es.map((e) => e.size)).toEqual([5, 0, 512, 1000]);
    }
  });

  it('GNU format headers, old-style regular files, the ustar prefix field', () => {
    const tar = archive(
      file('gnu.txt', 'g', { format: 'gnu' }),
      file('old', 'o', { type: '\0' }),
      file('leaf.txt', 'p', { prefix: 'some/deep/dir' }),
    );
    expect(names(readAll(tar))).toEqual(['gnu.txt', 'old', 'some/deep/dir/leaf.txt']);
  });

  it('GNU long names (GNU tar uses them for long regular file names)', () => {
    const long = `blobs/sha256/${'a'.repeat(64)}/${'n'.repeat(150)}`;
    const tar = archive(gnuLongName(long), file('truncated-name', 'x', { format: 'gnu' }), file('short', 'y'));
    const es = readAll(tar, 100);
    expect(names(es)).toEqual([long, 'short']);
    expect(es[0]!.offset).toBe(0); // the entry starts at its long-name record
    expect(es[0]!.content.toString()).toBe('x');
  });

  it('pax path and size records', () => {
    const tar = archive(paxHeader([['path', 'ünïcödé/名前.txt'], ['mtime', '1.5'], ['uname', 'x']]), file('ignored', 'data'));
    expect(names(readAll(tar))).toEqual(['ünïcödé/名前.txt']);
    // A pax size overrides a header that could not hold it (0 or the octal maximum there).
    const big = archive(paxHeader([['size', '5']]), file('f', '', { size: 0 }), body('12345'));
    expect(readAll(big)[0]!.content.toString()).toBe('12345');
    const max = Buffer.concat([paxHeader([['size', '3']]), header({ name: 'm', size: 0o77777777777 }), body('abc'), endMarker()]);
    expect(readAll(max)[0]!.content.toString()).toBe('abc');
    // Agreeing sizes are fine.
    expect(readAll(archive(paxHeader([['size', '2']]), file('s', 'ab')))[0]!.size).toBe(2);
  });

  it('base-256 size fields', () => {
    const tar = archive(header({ name: 'b256', sizeField: base256(700) }), body(Buffer.alloc(700, 9)));
    const [e] = readAll(tar);
    expect(e!.size).toBe(700);
    expect(e!.content.equals(Buffer.alloc(700, 9))).toBe(true);
  });

  it('zero padding after the end marker (tar pads to a record of 10240 bytes)', () => {
    const tar = Buffer.concat([archive(file('a', 'x')), Buffer.alloc(10240 - 2048)]);
    expect(names(readAll(tar, 700))).toEqual(['a']);
  });

  it('what tar-stream writes (long and non-ASCII names get pax headers)', async () => {
    const pack = tarStream.pack();
    const long = `d/${'x'.repeat(180)}.json`;
    pack.entry({ name: long }, 'long');
    pack.entry({ name: 'é/ü.txt' }, 'utf8');
    pack.entry({ name: 'plain' }, '');
    pack.finalize();
    const parts: Buffer[] = [];
    for await (const c of pack as AsyncIterable<Buffer>) parts.push(c);
    const es = readAll(Buffer.concat(parts), 333);
    expect(names(es)).toEqual([long, 'é/ü.txt', 'plain']);
    expect(es.map((e) => e.content.toString())).toEqual(['long', 'utf8', '']);
  });

  const gnuTar = spawnSync('tar', ['--version'], { encoding: 'utf8' });
  const hasGnuTar = !gnuTar.error && gnuTar.status === 0 && gnuTar.stdout.includes('GNU tar');

  it.skipIf(!hasGnuTar)('what GNU tar writes in gnu, posix and ustar formats', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tar-reader-gnu-'));
    try {
      const src = join(dir, 'src');
      const long = `${'l'.repeat(120)}.txt`;
      mkdirSync(join(src, 'sub'), { recursive: true });
      writeFileSync(join(src, 'a.txt'), 'alpha');
      writeFileSync(join(src, 'sub', long), 'long name');
      writeFileSync(join(src, 'sub', 'é.txt'), 'accent');
      for (const format of ['gnu', 'posix']) {
        const out = join(dir, `${format}.tar`);
        const r = spawnSync('tar', [`--format=${format}`, '-C', src, '-cf', out, 'a.txt', `sub/${long}`, 'sub/é.txt']);
        expect(r.status, String(r.stderr)).toBe(0);
        const es = readAll(readFileSync(out), 1000);
        expect(names(es)).toEqual(['a.txt', `sub/${long}`, 'sub/é.txt']);
        expect(es.map((e) => e.content.toString())).toEqual(['alpha', 'long name', 'accent']);
      }
      // A directory entry, as GNU tar adds when given a directory, is refused.
      const withDir = join(dir, 'dir.tar');
      expect(spawnSync('tar', ['--format=gnu', '-C', src, '-cf', withDir, 'sub']).status).toBe(0);
      refusal(readFileSync(withDir), /directory entries are not allowed/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, SLOW);
});

describe('entry types other than regular files are refused', () => {
  it.each([
    ['1', 'hard link'],
    ['2', 'symbolic link'],
    ['3', 'character device'],
    ['4', 'block device'],
    ['5', 'directory'],
    ['6', 'FIFO'],
    ['7', 'contiguous file'],
    ['g', 'global pax header'],
    ['K', 'GNU long link'],
    ['S', 'GNU sparse file'],
    ['V', 'type "V"'],
    ['D', 'type "D"'],
    ['Z', 'type "Z"'],
  ])('typeflag %s (%s)', (type, what) => {
    const e = refusal(archive(file('ok', 'x'), special('evil', type, { linkname: 'ok' })), new RegExp(`${what.replace(/"/g, '"')} entries are not allowed \\(only regular files\\)`));
    expect(e.offset).toBe(1024);
  });

  it('a GNU long name only describes a regular file', () => {
    refusal(archive(gnuLongName(`${'s'.repeat(120)}`), special('x', '2', { linkname: '/etc/passwd' })), /symbolic link entries are not allowed/);
    refusal(archive(gnuLongName(`${'d'.repeat(120)}/`), special('x', '5')), /directory entries are not allowed/);
  });

  it('pax records that make a file something else', () => {
    refusal(archive(paxHeader([['linkpath', '/etc/shadow']]), file('x', '')), /pax record linkpath is not allowed/);
    refusal(archive(paxHeader([['GNU.sparse.major', '1'], ['GNU.sparse.minor', '0']]), file('x', '')), /pax record GNU\.sparse\.major is not allowed/);
    refusal(archive(paxHeader([['GNU.sparse.map', '0,1']]), file('x', '')), /GNU\.sparse\.map/);
    refusal(archive(paxHeader([['path', 'x']], { type: 'g' }), file('x', '')), /global pax header entries are not allowed/);
  });
});

describe('structure and framing', () => {
  const good = archive(file('a', 'alpha'), file('b', Buffer.alloc(600, 2)));

  it('empty input and garbage', () => {
    refusal(Buffer.alloc(0), /empty input: not a tar archive/);
    refusal(Buffer.from('just some text, not a tar archive\n'.repeat(40)), /bad header checksum/);
    refusal(Buffer.alloc(700, 0xff), /bad header checksum/);
    refusal(Buffer.from('short'), /truncated/);
  });

  it('bad header checksums, including a checksum field that is not a number', () => {
    refusal(archive(header({ name: 'a', size: 0, checksum: 'bad' })), /bad header checksum/);
    refusal(archive(header({ name: 'a', size: 0, checksum: Buffer.from('zzzzzz\0 ') })), /bad header checksum/);
    const e = refusal(archive(file('ok', 'x'), header({ name: 'a', size: 0, checksum: 'bad' })), /bad header checksum/);
    expect(e.offset).toBe(1024);
  });

  it('a corrupt header byte anywhere in the header is caught by the checksum', () => {
    for (const at of [0, 50, 100, 124, 135, 136, 156, 157, 257, 263, 265, 345, 499, 511]) {
      const tar = Buffer.from(good);
      tar[at] = tar[at]! ^ 0x41;
      refusal(tar, /bad header checksum|not a POSIX or GNU tar header|invalid size/);
    }
  });

  it('headers that checksum but are not ustar/GNU, or have broken numeric fields', () => {
    refusal(archive(header({ name: 'v7', size: 0, format: 'v7' })), /not a POSIX or GNU tar header/);
    refusal(archive(header({ name: 'v', size: 0, poke: [[263, Buffer.from('01')]] })), /not a POSIX or GNU tar header/);
    refusal(archive(header({ name: 's', sizeField: Buffer.from('00000000x12\0') })), /invalid size field/);
    refusal(archive(header({ name: 's', sizeField: Buffer.from('0000000001\0z') })), /invalid size field/);
    refusal(archive(header({ name: 's', sizeField: Buffer.from('-0000000001\0') })), /invalid size field/);
    const negative = Buffer.alloc(12, 0xff);
    refusal(archive(header({ name: 's', sizeField: negative })), /invalid size field/);
    refusal(archive(header({ name: 's', sizeField: base256(2 ** 60) })), /invalid size field/);
  });

  it('names that are not UTF-8', () => {
    refusal(archive(file(Buffer.from([0x66, 0xff, 0x66]), 'x')), /entry name is not valid UTF-8/);
    refusal(archive(paxHeader([['path', Buffer.from([0xc3, 0x28])]]), file('x', '')), /not valid UTF-8/);
    refusal(archive(gnuLongName(Buffer.from([0xed, 0xa0, 0x80])), file('x', '')), /not valid UTF-8/);
  });

  it('a missing end-of-archive marker, or half of one', () => {
    const noEnd = good.subarray(0, good.length - 1024);
    refusal(noEnd, /missing end-of-archive marker/);
    refusal(good.subarray(0, good.length - 512), /incomplete end-of-archive marker/);
  });

  it('non-zero bytes after the end marker, wherever they hide', () => {
    for (const pad of [0, 1, 511, 512, 5000]) {
      const tail = Buffer.alloc(pad + 1);
      tail[pad] = 1;
      const e = refusal(Buffer.concat([good, tail]), /data after the end-of-archive marker/);
      expect(e.offset).toBe(good.length + pad);
    }
    // A whole hidden archive after the marker.
    refusal(Buffer.concat([good, archive(file('hidden', 'secret'))]), /data after the end-of-archive marker/);
  });

  it('endless zeros after the end marker are cut off at 1 MiB', () => {
    expect(names(readAll(Buffer.concat([good, Buffer.alloc(1 << 20)]), 65536))).toEqual(['a', 'b']);
    const e = refusal(Buffer.concat([good, Buffer.alloc((1 << 20) + 1)]), /more than 1048576 bytes of padding after the end-of-archive marker/);
    expect(e.offset).toBe(good.length);
  });

  it('one zero block followed by a header', () => {
    const e = refusal(Buffer.concat([file('a', 'x'), Buffer.alloc(512), archive(file('b', 'hidden'))]), /a header after a zero block/);
    expect(e.offset).toBe(1536);
  });

  it('non-zero padding after entry content', () => {
    const entry = file('a', 'abc');
    entry[512 + 3] = 0x41;
    refusal(archive(entry), /non-zero padding after an entry/);
    const last = file('b', 'abc');
    last[1023] = 1;
    refusal(archive(last), /non-zero padding/);
  });

  it('truncated at every block boundary and many offsets in between', () => {
    const tar = archive(file('a', 'alpha'), paxHeader([['path', 'long/name']]), file('x', Buffer.alloc(1500, 3)), gnuLongName('g'.repeat(200)), file('y', 'z'));
    expect(names(readAll(tar))).toEqual(['a', 'long/name', 'g'.repeat(200)]);
    const cuts = new Set<number>();
    for (let k = 0; k < tar.length; k += 512) for (const d of [-1, 0, 1, 100]) cuts.add(k + d);
    for (let k = 0; k < tar.length; k += 37) cuts.add(k);
    let n = 0;
    for (const cut of [...cuts].filter((c) => c >= 0 && c < tar.length)) {
      expect(() => readAll(tar.subarray(0, cut)), `cut at ${cut}`).toThrow(TarFormatError);
      n++;
    }
    expect(n).toBeGreaterThan(100);
  });

  it('truncation messages say where the archive ends', () => {
    const tar = archive(paxHeader([['path', 'p']]), file('f', Buffer.alloc(600, 1)));
    refusal(tar.subarray(0, 100), /inside a header/);
    refusal(tar.subarray(0, 512 + 5), /inside an extended header/);
    refusal(tar.subarray(0, 600), /inside the padding of an entry/);
    refusal(tar.subarray(0, 1024), /extended header not followed by an entry/);
    refusal(tar.subarray(0, 1536 + 100), /inside an entry/);
    refusal(tar.subarray(0, 1536 + 700), /inside the padding of an entry/);
  });

  it('more entries than the limit', () => {
    const tar = archive(file('a', ''), file('b', ''), file('c', ''));
    expect(readAll(tar, undefined, { ...DEFAULT_TAR_LIMITS, maxEntries: 3 })).toHaveLength(3);
    refusal(tar, /more than 2 entries/, { ...DEFAULT_TAR_LIMITS, maxEntries: 2 });
  });
});

describe('pax and GNU long-name records', () => {
  it('absurd pax header sizes are refused before any of it is read', () => {
    // A header claiming 1 TiB of pax data, followed by nothing: refused at the header.
    const e = refusal(Buffer.concat([header({ name: 'p', type: 'x', sizeField: base256(2 ** 40) })]), /pax header of 1099511627776 bytes exceeds the limit of 65536/);
    expect(e.offset).toBe(0);
    refusal(header({ name: '././@LongLink', type: 'L', size: 70_000, format: 'gnu' }), /long name record of 70000 bytes exceeds the limit/);
  });

  it('pax records with absurd or mismatched lengths', () => {
    const px = (raw: string | Buffer) => archive(paxHeader(Buffer.isBuffer(raw) ? raw : Buffer.from(raw)), file('x', ''));
    refusal(px('99999999999999999999 path=x\n'), /pax record length 99999999999999999999 does not match/);
    refusal(px('999999999999999999999 path=x\n'), /malformed pax record \(no length\)/);
    refusal(px('20 path=x\n'), /pax record length 20 does not match/); // longer than the data
    refusal(px('9 path=abc\n'), /does not match/); // shorter: newline not where the length says
    refusal(px('3 path=abc\n'), /does not match/); // shorter than its own length prefix
    refusal(px('011 path=x\n'), /malformed pax record length/);
    refusal(px('-1 path=x\n'), /malformed pax record length/);
    refusal(px('path=x\n'), /malformed pax record/);
    refusal(px('12 path=xyz '), /does not match/); // not newline-terminated
    refusal(px('9 =value\n'), /no key/);
    refusal(px('11 novalue\n'), /no key/);
    refusal(px(Buffer.concat([paxRecord('path', 'ok'), Buffer.from('junk')])), /malformed pax record/);
  });

  it('a pax size that contradicts the header size', () => {
    refusal(archive(paxHeader([['size', '5']]), file('f', 'abc')), /pax size 5 contradicts the header size 3/);
    refusal(archive(paxHeader([['size', '0']]), file('f', 'abc')), /pax size 0 contradicts the header size 3/);
    refusal(archive(paxHeader([['size', '-1']]), file('f', '')), /invalid pax size/);
    refusal(archive(paxHeader([['size', '1e3']]), file('f', '')), /invalid pax size/);
    refusal(archive(paxHeader([['size', '99999999999999999']]), file('f', '')), /invalid pax size/);
  });

  it('a pax size larger than the data that follows is a truncation, not a read past the end', () => {
    refusal(archive(paxHeader([['size', '100000']]), file('f', '', { size: 0 })), /truncated|end-of-archive|padding/);
  });

  it('a pax header or long name not followed by an entry', () => {
    refusal(archive(paxHeader([['path', 'orphan']])), /extended header not followed by an entry/);
    refusal(archive(gnuLongName('orphan')), /extended header not followed by an entry/);
    refusal(paxHeader([['path', 'orphan']]), /extended header not followed by an entry/);
  });

  it('records readers resolve differently are refused rather than guessed', () => {
    refusal(archive(paxHeader([['path', 'one']]), paxHeader([['path', 'two']]), file('f', '')), /two pax headers for one entry/);
    refusal(archive(gnuLongName('one'), gnuLongName('two'), file('f', '')), /two GNU long name records for one entry/);
    refusal(archive(paxHeader([['path', 'pax']]), gnuLongName('gnu'), file('f', '')), /a pax header and a GNU long name for one entry/);
    refusal(archive(gnuLongName('gnu'), paxHeader([['path', 'pax']]), file('f', '')), /a pax header and a GNU long name for one entry/);
    refusal(archive(paxHeader([['size', '3']]), gnuLongName('gnu'), file('f', 'abc')), /a pax header and a GNU long name for one entry/);
    refusal(archive(paxHeader([['path', 'a'], ['path', 'b']]), file('f', '')), /pax record path given twice/);
    refusal(archive(paxHeader([['size', '1'], ['size', '1']]), file('f', 'x')), /pax record size given twice/);
    refusal(archive(gnuLongName(Buffer.concat([Buffer.from('shown'), Buffer.from([0]), Buffer.from('hidden')])), file('f', '')), /data after the end of a GNU long name/);
    refusal(archive(gnuLongName(''), file('f', '')), /empty GNU long name/);
  });

  it('pax header and long name for different entries are fine', () => {
    const tar = archive(paxHeader([['path', 'p1']]), file('x', '1'), gnuLongName('l'.repeat(150)), file('y', '2'));
    expect(names(readAll(tar))).toEqual(['p1', 'l'.repeat(150)]);
  });
});

describe('readArchive: compression and decompression bombs', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'read-archive-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const collect = async (path: string, maxArchiveBytes = 1 << 30) => {
    const seen: string[] = [];
    await readArchive(
      path,
      (h) => {
        seen.push(h.name);
        return { update: () => undefined, end: () => undefined };
      },
      { ...DEFAULT_TAR_LIMITS, maxArchiveBytes },
    );
    return seen;
  };
  const refusedArchive = async (path: string, why: RegExp, max?: number): Promise<TarFormatError> => {
    const err = await collect(path, max).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(TarFormatError);
    expect((err as Error).message).toMatch(why);
    return err as TarFormatError;
  };
  const put = (name: string, bytes: Buffer) => {
    const p = join(dir, name);
    writeFileSync(p, bytes);
    return p;
  };

  it('gzip is recognised by its magic bytes, not by the file name', async () => {
    const tar = archive(file('a', 'x'));
    expect(await collect(put('plain.tar.gz', tar))).toEqual(['a']);
    expect(await collect(put('zipped.tar', gzipSync(tar)))).toEqual(['a']);
  });

  it('a gzip of 100 MiB of zeros in a tar entry stops at the limit, early', async () => {
    const bomb = join(dir, 'bomb.tar.gz');
    const size = 100 * 1024 * 1024;
    const zeros = Buffer.alloc(1 << 20);
    async function* tarStreamOfZeros() {
      yield header({ name: 'blobs/sha256/' + '0'.repeat(64), size });
      for (let k = 0; k < size; k += zeros.length) yield zeros;
      yield endMarker();
    }
    await pipeline(Readable.from(tarStreamOfZeros()), createGzip({ level: 9 }), createWriteStream(bomb));
    expect(statSync(bomb).size).toBeLessThan(1024 * 1024); // small on disk...
    const limit = 1024 * 1024;
    const e = await refusedArchive(bomb, /archive expands beyond 1048576 bytes/, limit);
    // ...and refused after reading little more than the limit, not the 100 MiB.
    expect(e.offset).toBeGreaterThan(limit);
    expect(e.offset).toBeLessThan(limit + (1 << 20));
    // Without the small limit the same file is read to its end (it is a well-formed tar).
    expect(await collect(bomb)).toEqual(['blobs/sha256/' + '0'.repeat(64)]);
  }, SLOW);

  it('the limit applies to plain tar too', async () => {
    const p = put('big.tar', archive(file('f', Buffer.alloc(3 * 1024 * 1024))));
    await refusedArchive(p, /archive expands beyond 1048576 bytes/, 1024 * 1024);
  });

  it('bytes after the gzip stream are refused, zeros included', async () => {
    const gz = gzipSync(archive(file('a', 'x')));
    await refusedArchive(put('t1.tgz', Buffer.concat([gz, Buffer.from([0, 0, 0, 0]), Buffer.from('hidden data')])), /15 bytes after the end of the gzip stream/);
    await refusedArchive(put('t2.tgz', Buffer.concat([gz, Buffer.alloc(10)])), /10 bytes after the end of the gzip stream/);
    await refusedArchive(put('t3.tgz', Buffer.concat([gz, Buffer.from('junk')])), /gzip stream is corrupt/);
  });

  it('a second gzip member is part of the stream: a second archive in it is refused', async () => {
    const tar = archive(file('a', 'x'));
    await refusedArchive(put('two.tgz', Buffer.concat([gzipSync(tar), gzipSync(tar)])), /data after the end-of-archive marker/);
    // One archive split over two members is a valid gzip file of a valid archive.
    const split = Buffer.concat([gzipSync(tar.subarray(0, 700)), gzipSync(tar.subarray(700))]);
    expect(await collect(put('split.tgz', split))).toEqual(['a']);
  });

  it('corrupt and truncated gzip', async () => {
    const gz = gzipSync(archive(file('a', Buffer.alloc(5000, 1)), file('b', 'y')));
    const flipped = Buffer.from(gz);
    flipped[Math.floor(gz.length / 2)]! ^= 0xff;
    await refusedArchive(put('flip.tgz', flipped), /gzip stream is corrupt or truncated|bad header checksum|padding|truncated/);
    const crc = Buffer.from(gz);
    crc[gz.length - 6]! ^= 1; // CRC-32 in the trailer
    await refusedArchive(put('crc.tgz', crc), /gzip stream is corrupt/);
    for (const cut of [3, 10, gz.length - 4, gz.length - 1]) {
      await refusedArchive(put(`cut${cut}.tgz`, gz.subarray(0, cut)), /gzip stream is corrupt or truncated|truncated|marker/);
    }
  });

  it('a missing bundle is an input error, not a format error', async () => {
    const err = await collect(join(dir, 'nope.tar')).then(
      () => null,
      (e: unknown) => e as { category?: string; message: string },
    );
    expect(err?.category).toBe('usage');
    expect(err?.message).toMatch(/does not exist/);
  });
});

describe('through the verifier: hostile entries in a real bundle', () => {
  let dir: string;
  let trust: TrustStore;
  let original: SimpleEntry[];
  let counter = 0;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tar-hostile-'));
    const bundle = readFileSync(exportAcmeBundle(join(dir, 'acme.tar')));
    trust = loadTrustFile(acmeTrustFile(join(dir, 'trust.json')));
    original = simpleEntries(bundle)!;
  }, SLOW);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const verifyBytes = async (bytes: Buffer) => {
    const p = join(dir, `b${counter++}.tar`);
    writeFileSync(p, bytes);
    return verifyBundle({ bundle: p, trust });
  };
  /** Re-pack the original entries (renamed by `rename`), with `extra` entries appended. */
  const repack = (extra: Buffer[] = [], entry = (e: SimpleEntry) => file(e.name, e.content)) =>
    archive(...original.map(entry), ...extra);
  const archiveFailure = async (bytes: Buffer, why: RegExp): Promise<string> => {
    const r = await verifyBytes(bytes);
    expect(r.exitCode).toBe(1);
    const archiveCheck = r.checks.find((c) => c.name === 'archive')!;
    expect(archiveCheck.status).toBe('fail');
    expect(archiveCheck.category).toBe('integrity');
    expect(archiveCheck.message).toMatch(why);
    expect(archiveCheck.message).not.toMatch(/\n/);
    return archiveCheck.message;
  };

  it('the bundle re-packed by this helper still verifies (the baseline the other cases change)', async () => {
    expect(original.length).toBeGreaterThan(10);
    const r = await verifyBytes(repack());
    expect(r.exitCode).toBe(0);
  });

  it('leading "./" names, GNU long names and pax paths are read as the plain names', async () => {
    expect((await verifyBytes(repack([], (e) => file(`./${e.name}`, e.content)))).exitCode).toBe(0);
    const longNames = repack([], (e) => Buffer.concat([gnuLongName(e.name), file('x', e.content, { format: 'gnu' })]));
    expect((await verifyBytes(longNames)).exitCode).toBe(0);
    const paxNames = repack([], (e) => Buffer.concat([paxHeader([['path', e.name]]), file('x', e.content)]));
    expect((await verifyBytes(paxNames)).exitCode).toBe(0);
  });

  it.each([
    ['../evil', /unsafe entry name "\.\.\/evil" \("\.\." path segment\)/],
    ['blobs/../../../etc/cron.d/x', /"\.\." path segment/],
    ['/etc/passwd', /absolute path/],
    ['C:evil', /drive letter/],
    ['c:/windows/x', /drive letter/],
    ['blobs\\evil', /backslash/],
    ['evil\u0001name', /control character/],
    ['evil\u001bname', /control character/],
    ['evil\u007f', /control character/],
    ['evil\u0085', /control character/],
    ['a//b', /empty path segment/],
    ['dir/', /empty path segment/],
    ['./', /empty|"\."/],
    ['a/./b', /"\." path segment/],
    ['cafe\u0301.md', /not in Unicode NFC form/],
  ])('name %j is refused', async (name, why) => {
    await archiveFailure(repack([file(name, 'x')]), why);
  });

  it('a NUL inside a name (possible through pax or a GNU long name) is refused', async () => {
    await archiveFailure(repack([paxHeader([['path', 'VERIFY.md\u0000.evil']]), file('x', 'x')]), /control character/);
    // GNU long names end at the first NUL; anything after it is refused by the reader.
    await archiveFailure(repack([gnuLongName(Buffer.from('VERIFY.md\u0000.evil')), file('x', 'x', { format: 'gnu' })]), /data after the end of a GNU long name/);
  });

  it('duplicate names, also after "./", Unicode NFC normalisation or case folding', async () => {
    await archiveFailure(repack([file('VERIFY.md', 'second copy')]), /duplicate entry "VERIFY\.md"/);
    await archiveFailure(repack([file('./VERIFY.md', 'second copy')]), /duplicate entry "VERIFY\.md"/);
    await archiveFailure(repack([file('verify.md', 'x')]), /entries "VERIFY\.md" and "verify\.md" differ only in case/);
    await archiveFailure(repack([file('MANIFEST.JSON', 'x')]), /differ only in case/);
    // The Kelvin sign lower-cases to k, so a case-insensitive file system would merge the
    // two; it is also not NFC (it normalises to K), which is what refuses it first.
    const key = original.find((e) => e.name.startsWith('keys/'))!.name;
    await archiveFailure(repack([file(key.replace('k', '\u212a'), 'x')]), /not in Unicode NFC form|differ only in case/);
    await archiveFailure(repack([file(key.replace('keys', 'KEYS'), 'x')]), /differ only in case/);
    // é precomposed and decomposed are one name after NFC: the decomposed one is refused.
    await archiveFailure(archive(file('caf\u00e9', 'a'), file('cafe\u0301', 'b')), /not in Unicode NFC form/);
  });

  it.each([
    ['symlink', () => special('keys/evil.pub', '2', { linkname: '/etc/passwd' }), /symbolic link entries are not allowed/],
    ['hard link', () => special('VERIFY2.md', '1', { linkname: 'VERIFY.md' }), /hard link/],
    ['character device', () => special('dev', '3'), /character device/],
    ['block device', () => special('dev', '4'), /block device/],
    ['FIFO', () => special('fifo', '6'), /FIFO/],
    ['directory', () => special('blobs/', '5'), /directory/],
    ['GNU sparse file', () => special('sparse', 'S'), /GNU sparse/],
    ['global pax header', () => paxHeader([['path', 'x']], { type: 'g' }), /global pax header/],
  ])('%s entry', async (_what, make, why) => {
    await archiveFailure(repack([make()]), why);
  });

  it('framing damage is reported as the archive check, with the offset', async () => {
    const tar = repack();
    const msg = await archiveFailure(Buffer.concat([tar, Buffer.from('smuggled')]), /data after the end-of-archive marker \(at byte \d+\)/);
    expect(msg).toContain(`at byte ${tar.length}`);
    await archiveFailure(tar.subarray(0, tar.length - 1024), /missing end-of-archive marker/);
    await archiveFailure(tar.subarray(0, 10_000), /truncated/);
    const corrupt = Buffer.from(tar);
    corrupt[512 * 3 + 10]! ^= 1; // inside some header or content
    const r = await verifyBytes(corrupt);
    expect(r.exitCode).toBe(1);
    const bad = fixChecksum(Buffer.from(tar));
    bad[5]! ^= 0x20; // the first header's name, checksum left stale
    await archiveFailure(bad, /bad header checksum \(corrupt header or not a tar archive\) \(at byte 0\)/);
  });

  it('a decompression bomb is stopped by the limit passed to verifyBundle', async () => {
    const inner = archive(...original.map((e) => file(e.name, e.content)), file('blobs/sha256/' + 'f'.repeat(64), Buffer.alloc(8 * 1024 * 1024)));
    const p = join(dir, 'bomb.tgz');
    writeFileSync(p, gzipSync(inner));
    const r = await verifyBundle({ bundle: p, trust, limits: { maxArchiveBytes: 1024 * 1024 } });
    expect(r.exitCode).toBe(1);
    expect(r.checks.find((c) => c.name === 'archive')!.message).toMatch(/archive expands beyond 1048576 bytes/);
  });
});

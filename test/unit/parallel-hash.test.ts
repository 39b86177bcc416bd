/**
 * Large entries of a plain tar are hashed on worker threads (src/bundle/hash-pool.ts)
 * while this thread still reads every byte through the strict tar reader. Whatever the
 * threads, the digests, their order and every refusal must be exactly those of hashing
 * on one thread: these tests read the same archives both ways and compare.
 */
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EntryDigests } from '../../src/bundle/entry-digests.js';
import { DEFAULT_ARCHIVE_LIMITS, HASH_THREADS_MIN_BYTES, readArchive, type ArchiveRead } from '../../src/bundle/read-archive.js';
import { TarFormatError, TarReader } from '../../src/bundle/tar-reader.js';
import { loadTrustFile } from '../../src/trust/trust-file.js';
import { verifyBundle } from '../../src/verify/verifier.js';
import { archive, file, header, simpleEntries } from '../helpers/tar-craft.js';
import { mustExport } from '../helpers/cli.js';
import { acmeTrustFile } from '../helpers/fixture-bundle.js';
import { removeTempDirs, tempDir } from '../helpers/tmp.js';

afterAll(removeTempDirs);

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const KiB = 1024;

interface Outcome {
  /** Digest callbacks in the order they came. */
  digests: Array<[string, string]>;
  read: ArchiveRead | null;
  error: { message: string; offset: number } | null;
}

/** Read `path` with every entry behind a DigestSink, on `threads` hash workers. */
async function readDigests(path: string, threads: number | undefined, maxArchiveBytes = DEFAULT_ARCHIVE_LIMITS.maxArchiveBytes): Promise<Outcome> {
  const digests: Array<[string, string]> = [];
  try {
    const read = await readArchive(
      path,
      (h) => ({ digest: (hex: string) => digests.push([h.name, hex]) }),
      { ...DEFAULT_ARCHIVE_LIMITS, maxArchiveBytes },
      undefined,
      { hashThreads: threads },
    );
    return { digests, read, error: null };
  } catch (e) {
    if (!(e instanceof TarFormatError)) throw e;
    return { digests, read: null, error: { message: e.message, offset: e.offset } };
  }
}

describe('hashing large entries on worker threads', () => {
  let dir: string;
  // Large entries (several pooled), sizes off the block and chunk grid, small ones between
  // them that finish long before a large one's digest comes back.
  const contents: Array<[string, Buffer]> = [
    ['big-a', randomBytes(1024 * KiB + 7)],
    ['small-1', randomBytes(100)],
    ['big-b', randomBytes(3 * 1024 * KiB + 511)],
    ['small-2', randomBytes(3000)],
    ['small-3', Buffer.alloc(0)],
    ['big-c', randomBytes(300 * KiB)],
    ['big-d', randomBytes(2 * 1024 * KiB - 1)],
    ['big-e', randomBytes(700 * KiB + 3)],
    ['small-4', randomBytes(1)],
  ];
  const tar = archive(...contents.map(([n, c]) => file(n, c)));
  const put = (name: string, bytes: Buffer): string => {
    const p = join(dir, name);
    writeFileSync(p, bytes);
    return p;
  };
  /** Where an entry's data starts in `tar`. */
  const dataAt = (name: string): number => tar.indexOf(contents.find(([n]) => n === name)![1].subarray(0, 64));

  beforeAll(() => {
    dir = tempDir('parallel-hash-');
  });

  it('gives every digest, in archive order, and hashes the large entries elsewhere', async () => {
    const path = put('ok.tar', tar);
    const expected = contents.map(([n, c]) => [n, sha256(c)]);
    const pooled = await readDigests(path, 2);
    expect(pooled.error).toBeNull();
    expect(pooled.digests).toEqual(expected);
    expect(pooled.read!.offloaded).toBeGreaterThan(0);
    const inline = await readDigests(path, 0);
    expect(inline.digests).toEqual(expected);
    expect(inline.read!.offloaded).toBe(0);
    expect(pooled.read!.bytes).toBe(inline.read!.bytes);
  });

  it('by default hashes on this thread below 128 MiB of file, and on threads from there', async () => {
    expect(HASH_THREADS_MIN_BYTES).toBe(128 * 1024 * KiB);
    const small = await readDigests(put('default.tar', tar), undefined);
    expect(small.digests).toEqual(contents.map(([n, c]) => [n, sha256(c)]));
    expect(small.read!.offloaded).toBe(0);
    // One entry of zeros, sparse: a header, then the file extended over the data and the
    // two end blocks. The largest archive under the bar, and one of the bar's size.
    const zerosDigest = (n: number) => createHash('sha256').update(Buffer.alloc(n)).digest('hex');
    for (const fileSize of [HASH_THREADS_MIN_BYTES - 512, HASH_THREADS_MIN_BYTES]) {
      const dataSize = fileSize - 512 - 1024;
      const path = join(dir, `sparse-${fileSize}.tar`);
      writeFileSync(path, header({ name: 'big', size: dataSize }));
      truncateSync(path, fileSize);
      const r = await readDigests(path, undefined);
      expect(r.error).toBeNull();
      expect(r.digests).toEqual([['big', zerosDigest(dataSize)]]);
      const threads = fileSize >= HASH_THREADS_MIN_BYTES && availableParallelism() > 1;
      expect(r.read!.offloaded).toBe(threads ? 1 : 0);
    }
  });

  it('hashes a gzip stream on this thread, with the same digests', async () => {
    const r = await readDigests(put('ok.tar.gz', gzipSync(tar)), 2);
    expect(r.digests).toEqual(contents.map(([n, c]) => [n, sha256(c)]));
    expect(r.read!.offloaded).toBe(0);
  });

  const damaged: Array<[string, () => Buffer, RegExp]> = [
    [
      'truncated inside a large entry',
      () => tar.subarray(0, dataAt('big-b') + 1536 * KiB),
      /unexpected end of archive inside an entry/,
    ],
    [
      'truncated inside the padding after a large entry',
      () => tar.subarray(0, dataAt('big-a') + 1024 * KiB + 7 + 100),
      /inside the padding of an entry/,
    ],
    [
      'non-zero padding after a large entry',
      () => {
        const t = Buffer.from(tar);
        t[dataAt('big-d') + 2 * 1024 * KiB - 1] = 0x41;
        return t;
      },
      /non-zero padding after an entry/,
    ],
    [
      'a damaged header after large entries',
      () => {
        const t = Buffer.from(tar);
        t[dataAt('big-e') - 512 + 10] ^= 0xff;
        return t;
      },
      /bad header checksum/,
    ],
    [
      'data after the end-of-archive marker',
      () => Buffer.concat([tar, Buffer.from('x')]),
      /data after the end-of-archive marker/,
    ],
  ];

  for (const [what, bytes, message] of damaged) {
    it(`refuses an archive with ${what} exactly as on one thread`, async () => {
      const path = put(`${what.replace(/\W+/g, '-')}.tar`, bytes());
      const pooled = await readDigests(path, 2);
      const inline = await readDigests(path, 0);
      expect(pooled.error?.message).toMatch(message);
      expect(pooled.error).toEqual(inline.error);
    });
  }

  it('reports a range a worker found missing as a truncated archive, also to the next large entry', async () => {
    // As if the file shrank after its size was taken: the worker reads short.
    const fd = openSync(put('shrunk.bin', Buffer.alloc(4 * KiB)), 'r');
    const d = new EntryDigests(fd, 1);
    const header = (name: string) => ({ name, size: 1024 * KiB, offset: 0 });
    try {
      d.sink(header('a'), { digest: () => undefined }, 512, true).end();
      const drained = await d.drained().then(() => null, (e: unknown) => e);
      expect(drained).toBeInstanceOf(TarFormatError);
      expect(() => d.sink(header('b'), { digest: () => undefined }, 512, true)).toThrow(TarFormatError);
      expect(() => d.sink(header('b'), { digest: () => undefined }, 512, true)).toThrow(/archive is truncated/);
    } finally {
      await d.close();
      closeSync(fd);
    }
  });

  it('stops at any --max-archive-bytes at the same byte as on one thread, entries passed over or not', async () => {
    const path = put('limits.tar', tar);
    for (let limit = 100 * KiB; limit < tar.length + 2 * 1024 * KiB; limit += 700 * KiB + 13) {
      const pooled = await readDigests(path, 2, limit);
      const inline = await readDigests(path, 0, limit);
      expect(pooled.error, `limit ${limit}`).toEqual(inline.error);
      // The refusal names the end of the MiB the limit falls in (or of the file), as reading
      // in MiB chunks always did.
      const MiB = 1024 * KiB;
      const expected = tar.length > limit ? Math.min((Math.floor(limit / MiB) + 1) * MiB, tar.length) : null;
      expect(inline.error?.offset ?? null, `limit ${limit}`).toBe(expected);
      if (!inline.error) expect(pooled.digests).toEqual(inline.digests);
    }
  });

  it.skipIf(!existsSync('/dev/zero'))('stops a device, which has no size to go by, at the end of the MiB holding the limit', async () => {
    // Within the first MiB: zeros beyond it would be refused as padding after the end anyway.
    for (const limit of [100 * KiB, 1000 * KiB]) {
      const r = await readDigests('/dev/zero', 2, limit);
      expect(r.error).toEqual({ message: expect.stringMatching(/archive expands beyond/), offset: 1024 * KiB });
    }
  });

  it('stops at --max-archive-bytes inside a large entry at the same byte as on one thread', async () => {
    const path = put('limit.tar', tar);
    const limit = dataAt('big-d') + 1000 * KiB;
    const pooled = await readDigests(path, 2, limit);
    const inline = await readDigests(path, 0, limit);
    expect(pooled.error?.message).toMatch(/archive expands beyond/);
    expect(pooled.error).toEqual(inline.error);
  });
});

describe('verify with blobs hashed on worker threads', () => {
  let bundle: string;
  let trust: ReturnType<typeof loadTrustFile>;
  let root: string;
  const blobs = [randomBytes(1536 * KiB + 5), randomBytes(700 * KiB), randomBytes(2 * 1024 * KiB), randomBytes(300 * KiB + 1)];

  beforeAll(() => {
    root = tempDir('parallel-verify-');
    const input = join(root, 'in');
    mkdirSync(input);
    blobs.forEach((b, k) => writeFileSync(join(input, `blob-${k}.bin`), b));
    writeFileSync(join(input, 'notes.txt'), 'small\n');
    bundle = join(root, 'bundle.tar');
    mustExport({ out: bundle, inputs: [input] });
    trust = loadTrustFile(acmeTrustFile(join(root, 'trust.json')));
  });

  const both = async (path: string) => {
    const pooled = await verifyBundle({ bundle: path, trust, tenant: 'acme', threads: 2 });
    const inline = await verifyBundle({ bundle: path, trust, tenant: 'acme', threads: 0 });
    expect(pooled).toEqual(inline);
    return pooled;
  };

  it('verifies a genuine bundle', async () => {
    const r = await both(bundle);
    expect(r.verified).toBe(true);
  });

  it('reports a changed byte in a large blob as the same digest mismatch', async () => {
    const t = readFileSync(bundle);
    const at = t.indexOf(blobs[2]!.subarray(0, 64)) + 1024 * KiB + 3;
    t[at] ^= 1;
    const path = join(root, 'tampered.tar');
    writeFileSync(path, t);
    const r = await both(path);
    expect(r.exitCode).toBe(1);
    expect(r.checks.find((c) => c.status === 'fail')).toMatchObject({ name: 'checksums', code: 'DIGEST_MISMATCH' });
  });

  it('reports the same first unlisted entry however late a large entry\'s digest comes', async () => {
    // The audit file ends right after its header, while the large entry before it is still
    // being hashed on a worker: the listing check must still meet the large entry first.
    const inner = simpleEntries(readFileSync(bundle))!;
    const path = join(root, 'unlisted.tar');
    writeFileSync(
      path,
      archive(...inner.map((e) => file(e.name, e.content)), file('extra/late.bin', randomBytes(1024 * KiB + 9)), file('audit/acme.jsonl', '{"x":1}\n')),
    );
    const inline = await verifyBundle({ bundle: path, trust, tenant: 'acme', threads: 0 });
    expect(inline.checks.find((c) => c.name === 'checksums')).toMatchObject({
      status: 'fail',
      code: 'FILE_UNLISTED',
      message: expect.stringMatching(/^extra\/late\.bin /),
    });
    for (let k = 0; k < 6; k++) {
      const pooled = await verifyBundle({ bundle: path, trust, tenant: 'acme', threads: 1 + (k % 3) });
      expect(pooled).toEqual(inline);
    }
  });

  it('reports a bundle cut inside a large blob as the same malformed archive', async () => {
    const path = join(root, 'cut.tar');
    writeFileSync(path, readFileSync(bundle));
    truncateSync(path, readFileSync(bundle).indexOf(blobs[0]!.subarray(0, 64)) + 1000 * KiB);
    const r = await both(path);
    expect(r.checks[0]).toMatchObject({ name: 'archive', status: 'fail', code: 'ARCHIVE_MALFORMED' });
    expect(r.checks[0]!.message).toMatch(/unexpected end of archive inside an entry/);
  });
});

describe('TarReader: entries whose data the caller passes over', () => {
  const big = randomBytes(5000);
  const tar = archive(file('a', 'first'), file('big', big), file('c', 'third'));

  /** Read `bytes` in chunks of `step`, passing over the data of `big`; what was seen or refused. */
  function read(bytes: Buffer, step: number): { seen: string[]; error: string | null } {
    const seen: string[] = [];
    const reader: TarReader = new TarReader((h) => {
      if (h.name === 'big') {
        seen.push(`big@${reader.position}`);
        return { external: true, update: () => seen.push('update of big'), end: () => seen.push('end big') };
      }
      const parts: Buffer[] = [];
      return { update: (c) => parts.push(Buffer.from(c)), end: () => seen.push(`${h.name}=${Buffer.concat(parts).toString()}`) };
    });
    try {
      let pos = 0;
      while (pos < bytes.length) {
        const chunk = bytes.subarray(pos, Math.min(pos + step, bytes.length));
        pos += reader.feed(chunk);
      }
      reader.end();
      return { seen, error: null };
    } catch (e) {
      if (!(e instanceof TarFormatError)) throw e;
      return { seen, error: `${e.message} @${e.offset}` };
    }
  }

  it('stops at the data, skips it whole, checks the padding and reads on, at any chunk size', () => {
    for (const step of [1, 100, 512, 513, 4096, 1 << 20]) {
      expect(read(tar, step)).toEqual({ seen: ['a=first', 'big@1536', 'end big', 'c=third'], error: null });
    }
  });

  it('still refuses non-zero padding after the passed-over data', () => {
    const t = Buffer.from(tar);
    t[1536 + 5000 + 3] = 1;
    expect(read(t, 4096).error).toBe(`non-zero padding after an entry @${1536 + 5000 + 3}`);
  });

  it('refuses to skip when it is not waiting at such data', () => {
    const reader = new TarReader(() => ({ update: () => undefined, end: () => undefined }));
    expect(() => reader.skipData()).toThrow(/no entry data to skip/);
  });
});

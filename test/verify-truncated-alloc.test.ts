/**
 * A bundle's tar headers are claims. A manifest (or envelope, checksums, audit log) is
 * held whole while verifying, so a header declaring one of tens of MiB, in a bundle that
 * ends after a few KiB, must not make verify allocate tens of MiB first and only then find
 * that the data ran out: a plain tar is refused at the header (the file's size says the
 * data is not there), a gzip stream's entry grows with what actually arrives.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { verifyBundle, type VerifyOptions } from '../src/verify/verifier.js';
import { HeldEntry } from '../src/verify/held-entry.js';
import type { VerifyReport } from '../src/verify/report.js';
import { TarFormatError } from '../src/bundle/tar-reader.js';
import { EVIDENCE, KEYS, REPO, expectCleanFailure, mustExport, runCli } from './helpers/cli.js';
import { writeTrustFile } from './helpers/keys.js';
import { expectSchema } from './helpers/schema.js';
import { base256, file, header } from './helpers/tar-craft.js';
import { readBundle, type TarEntry } from './helpers/tar.js';
import { removeTempDirs, tempDir } from './helpers/tmp.js';

afterAll(removeTempDirs);

const MiB = 1024 * 1024;
/** Declared by the lying headers of the CLI cases: under the default manifest limit (64 MiB). */
const DECLARED = 60_000_000;
/** Declared by the library cases, with the limit raised: beyond the largest Buffer on Node 20 (4 GiB). */
const HUGE = 2 ** 33;
/** Generous room for the reader's own buffers; nowhere near what the headers declare. */
const MAX_FAIR_ALLOCATION = 16 * MiB;

let dir: string;
let trust: string;
let entries: TarEntry[];

beforeAll(async () => {
  dir = tempDir('truncated-alloc-');
  const bundle = join(dir, 'acme.tar');
  mustExport({ out: bundle, inputs: [join(EVIDENCE, 'acme')], extra: ['--scope', 'environment=prod'] });
  entries = await readBundle(bundle);
  trust = writeTrustFile(join(dir, 'trust.json'), { acme: [KEYS.acme.pub] });
});

let n = 0;
const scratch = (name: string, bytes: Buffer): string => {
  const d = join(dir, `case-${++n}`);
  mkdirSync(d);
  const p = join(d, name);
  writeFileSync(p, bytes);
  return p;
};

/**
 * The exported bundle's entries in their order up to manifest.json, whose header then
 * declares `declared` bytes (base-256 when octal cannot hold it) and which is followed by
 * its real bytes and `extra`: the file ends there, as if cut, or as if the header lied.
 */
function cutAtManifest(declared: number, extra: Buffer = Buffer.alloc(0)): { tar: Buffer; held: number } {
  const parts: Buffer[] = [];
  for (const e of entries) {
    if (e.name !== 'manifest.json') {
      parts.push(file(e.name, e.data));
      continue;
    }
    const spec = declared > 0o77777777777 ? { sizeField: base256(declared) } : { size: declared };
    const data = Buffer.concat([e.data, extra]);
    parts.push(header({ name: 'manifest.json', ...spec }), data);
    return { tar: Buffer.concat(parts), held: data.length };
  }
  throw new Error('the exported bundle has no manifest.json');
}

interface Report {
  exitCode: number;
  verified: boolean;
  checks: Array<{ name: string; status: string; code: string; category: string; message: string }>;
}

function verifyCli(bundle: string): Report {
  const r = runCli(['verify', bundle, '--trust', trust, '--json']);
  expectCleanFailure(r, 1, /verification failed/);
  const doc = JSON.parse(r.stdout) as Report;
  expectSchema('verify-report', doc);
  expect(doc.exitCode).toBe(1);
  expect(doc.verified).toBe(false);
  const failed = doc.checks.filter((c) => c.status === 'fail');
  expect(failed.map((c) => [c.name, c.code, c.category])).toEqual([['archive', 'ARCHIVE_MALFORMED', 'integrity']]);
  return doc;
}

describe('verify (CLI): a bundle that ends inside a manifest its header declares large', () => {
  it('plain tar: refused as truncated, naming the entry, where the file ends', () => {
    const { tar, held } = cutAtManifest(DECLARED);
    const doc = verifyCli(scratch('cut.tar', tar));
    expect(doc.checks[0]!.message).toBe(
      `unexpected end of archive inside manifest.json: its header declares ${DECLARED} bytes, the file holds ${held} (the archive is truncated) (at byte ${tar.length})`,
    );
  });

  it('.tar.gz whose tar ends inside the manifest: refused as truncated, naming the entry', () => {
    const { tar, held } = cutAtManifest(DECLARED);
    const doc = verifyCli(scratch('cut.tar.gz', gzipSync(tar)));
    expect(doc.checks[0]!.message).toBe(
      `unexpected end of archive inside manifest.json: its header declares ${DECLARED} bytes, ${held} arrived (the archive is truncated) (at byte ${tar.length})`,
    );
  });

  it('.tar.gz cut inside the gzip stream, in the manifest: refused as truncated, naming the entry', () => {
    // Incompressible bytes after the manifest, so that half of the gzip file ends in them.
    const noise = Buffer.from(Array.from({ length: 400_000 }, (_, i) => (i * 7919 + (i >> 9) * 104729) % 251));
    const { tar } = cutAtManifest(DECLARED, noise);
    const gz = gzipSync(tar);
    const doc = verifyCli(scratch('cut-stream.tar.gz', gz.subarray(0, gz.length >> 1)));
    expect(doc.checks[0]!.message).toMatch(
      new RegExp(`^gzip stream is corrupt or truncated \\(Z_BUF_ERROR\\) inside manifest\\.json: its header declares ${DECLARED} bytes, \\d+ arrived \\(at byte \\d+\\)$`),
    );
  });
});

/** Sizes asked of every allocator a held entry could use, while `run` runs. */
async function allocations<T>(run: () => Promise<T>): Promise<{ result: T; sizes: number[] }> {
  const sizes: number[] = [];
  const record = (size: unknown) => {
    if (typeof size === 'number') sizes.push(size);
  };
  const unsafe = Buffer.allocUnsafe.bind(Buffer);
  const unsafeSlow = Buffer.allocUnsafeSlow.bind(Buffer);
  const alloc = Buffer.alloc.bind(Buffer);
  vi.spyOn(Buffer, 'allocUnsafe').mockImplementation((size: number) => (record(size), unsafe(size)));
  vi.spyOn(Buffer, 'allocUnsafeSlow').mockImplementation((size: number) => (record(size), unsafeSlow(size)));
  vi.spyOn(Buffer, 'alloc').mockImplementation(((size: number, ...rest: never[]) => (record(size), alloc(size, ...rest))) as typeof Buffer.alloc);
  const Real = globalThis.SharedArrayBuffer;
  globalThis.SharedArrayBuffer = new Proxy(Real, {
    construct(target, args: [number]) {
      record(args[0]);
      return Reflect.construct(target, args) as SharedArrayBuffer;
    },
  });
  try {
    return { result: await run(), sizes };
  } finally {
    globalThis.SharedArrayBuffer = Real;
    vi.restoreAllMocks();
  }
}

afterEach(() => vi.restoreAllMocks());

const hugeLimits = { maxManifestBytes: 2 * HUGE };

describe('verify (library): memory follows the bytes that arrive, not the declared size', () => {
  const refusal = (r: VerifyReport) => {
    expect(r.exitCode).toBe(1);
    expect(r.checks[0]).toMatchObject({ name: 'archive', status: 'fail', code: 'ARCHIVE_MALFORMED' });
    return r.checks[0]!.message;
  };

  it(`plain tar declaring a ${HUGE}-byte manifest: refused at its header, nothing of that size allocated`, async () => {
    const { tar, held } = cutAtManifest(HUGE);
    const path = scratch('huge.tar', tar);
    const { result, sizes } = await allocations(() => verifyBundle({ bundle: path, trust: null, limits: hugeLimits, threads: 0 }));
    expect(refusal(result)).toBe(
      `unexpected end of archive inside manifest.json: its header declares ${HUGE} bytes, the file holds ${held} (the archive is truncated) (at byte ${tar.length})`,
    );
    expect(sizes.length).toBeGreaterThan(0);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(MAX_FAIR_ALLOCATION);
  });

  it(`.tar.gz declaring a ${HUGE}-byte manifest: grows with the data, then refused as truncated`, async () => {
    const { tar, held } = cutAtManifest(HUGE, Buffer.alloc(3 * MiB, 0x20));
    const path = scratch('huge.tar.gz', gzipSync(tar));
    const { result, sizes } = await allocations(() => verifyBundle({ bundle: path, trust: null, limits: hugeLimits, threads: 0 }));
    expect(refusal(result)).toBe(
      `unexpected end of archive inside manifest.json: its header declares ${HUGE} bytes, ${held} arrived (the archive is truncated) (at byte ${tar.length})`,
    );
    expect(Math.max(...sizes)).toBeLessThanOrEqual(MAX_FAIR_ALLOCATION);
  });

  it('.tar.gz declaring a huge manifest, checks on worker threads (shared memory): same refusal, same bound', async () => {
    // The remote checks (and so the shared buffers) exist only in the compiled verifier.
    const compiled = (await import(join(REPO, 'dist', 'verify', 'verifier.js'))) as { verifyBundle: (o: VerifyOptions) => Promise<VerifyReport> };
    const remote = (await import(join(REPO, 'dist', 'verify', 'remote-checks.js'))) as { RemoteChecks: { started: number } };
    const { tar, held } = cutAtManifest(HUGE, Buffer.alloc(3 * MiB, 0x20));
    const path = scratch('huge-remote.tar.gz', gzipSync(tar));
    const before = remote.RemoteChecks.started;
    const { result, sizes } = await allocations(() => compiled.verifyBundle({ bundle: path, trust: null, limits: hugeLimits, threads: 2 }));
    expect(remote.RemoteChecks.started).toBeGreaterThan(before);
    expect(refusal(result)).toBe(
      `unexpected end of archive inside manifest.json: its header declares ${HUGE} bytes, ${held} arrived (the archive is truncated) (at byte ${tar.length})`,
    );
    expect(Math.max(...sizes)).toBeLessThanOrEqual(MAX_FAIR_ALLOCATION);
  });

  it('plain tar past --max-archive-bytes: the size limit refuses it as before, nothing of the declared size allocated', async () => {
    const { tar } = cutAtManifest(HUGE, Buffer.alloc(3 * MiB, 0x20));
    const path = scratch('huge-limited.tar', tar);
    const max = 2 * MiB + 5;
    const { result, sizes } = await allocations(() =>
      verifyBundle({ bundle: path, trust: null, limits: { ...hugeLimits, maxArchiveBytes: max }, threads: 0 }),
    );
    expect(refusal(result)).toBe(
      `archive expands beyond ${max} bytes (raise the limit with --max-archive-bytes if this bundle is genuine) (at byte ${3 * MiB})`,
    );
    expect(Math.max(...sizes)).toBeLessThanOrEqual(MAX_FAIR_ALLOCATION);
  });

  it('an intact plain bundle verifies, with a buffer of exactly its manifest\'s size (the growing path is tested on HeldEntry below)', async () => {
    const manifest = entries.find((e) => e.name === 'manifest.json')!.data;
    const tar = Buffer.concat([...entries.map((e) => file(e.name, e.data)), Buffer.alloc(1024)]);
    const path = scratch('intact.tar', tar);
    const { result, sizes } = await allocations(() => verifyBundle({ bundle: path, trust: null, threads: 0 }));
    expect(result.exitCode, JSON.stringify(result.checks)).toBe(0);
    expect(sizes.filter((s) => s === manifest.length).length).toBeGreaterThanOrEqual(1);
  });
});

describe('HeldEntry', () => {
  const chunks = (data: Buffer, step: number) => Array.from({ length: Math.ceil(data.length / step) }, (_, k) => data.subarray(k * step, (k + 1) * step));
  const data = Buffer.from(Array.from({ length: 5 * MiB + 123 }, (_, i) => (i * 31 + (i >> 12)) & 0xff));

  it('allocates the declared size at once when the file holds it, and hands back that buffer', () => {
    const { sizes, held } = (() => {
      const sizes: number[] = [];
      const real = Buffer.allocUnsafe.bind(Buffer);
      vi.spyOn(Buffer, 'allocUnsafe').mockImplementation((s: number) => (sizes.push(s), real(s)));
      const held = new HeldEntry('manifest.json', data.length, 0, data.length + 1024, false);
      for (const c of chunks(data, 256 * 1024)) held.add(c);
      vi.restoreAllMocks();
      return { sizes, held };
    })();
    expect(sizes).toEqual([data.length]);
    expect(held.capacity).toBe(data.length);
    expect(held.bytes().equals(data)).toBe(true);
    expect(held.bytes().buffer.byteLength).toBe(data.length);
  });

  it('grows with the data when the room is unknown, ending at exactly the declared size', () => {
    const held = new HeldEntry('manifest.json', data.length, 0, Infinity, false);
    expect(held.capacity).toBeLessThanOrEqual(MiB);
    let got = 0;
    for (const c of chunks(data, 256 * 1024 + 7)) {
      held.add(c);
      got += c.length;
      // Never more than twice what arrived (or the first allocation).
      expect(held.capacity).toBeLessThanOrEqual(Math.max(MiB, 2 * got));
    }
    expect(held.capacity).toBe(data.length);
    expect(held.bytes().equals(data)).toBe(true);
  });

  it(`declared ${HUGE} bytes with unknown room: allocates little, and what arrived is kept`, () => {
    const held = new HeldEntry('checksums.sha256', HUGE, 0, Infinity, false);
    expect(held.capacity).toBeLessThanOrEqual(MiB);
    const part = data.subarray(0, 3 * MiB);
    for (const c of chunks(part, 64 * 1024)) held.add(c);
    expect(held.capacity).toBeLessThanOrEqual(6 * MiB);
    expect(held.bytes().equals(part)).toBe(true);
  });

  it('in shared memory, grown or not, for the remote checks', () => {
    for (const room of [Infinity, data.length]) {
      const held = new HeldEntry('manifest.dsse.json', data.length, 0, room, true);
      for (const c of chunks(data, 300_000)) held.add(c);
      expect(held.bytes().buffer).toBeInstanceOf(SharedArrayBuffer);
      expect(held.bytes().equals(data)).toBe(true);
    }
  });

  it('names itself only for a read that ended inside it', () => {
    const held = new HeldEntry('manifest.json', 1000, 4096, Infinity, false);
    held.add(Buffer.alloc(10));
    expect(held.cutShort(new TarFormatError('unexpected end of archive inside an entry (the archive is truncated)', 5000))).toBe(
      'unexpected end of archive inside manifest.json: its header declares 1000 bytes, 10 arrived (the archive is truncated)',
    );
    expect(held.cutShort(new TarFormatError('gzip stream is corrupt or truncated (Z_BUF_ERROR)', 5000))).toBe(
      'gzip stream is corrupt or truncated (Z_BUF_ERROR) inside manifest.json: its header declares 1000 bytes, 10 arrived',
    );
    // Other failures keep their words; so does a worker's short read of an earlier entry.
    expect(held.cutShort(new TarFormatError('gzip stream is corrupt or truncated (Z_DATA_ERROR)', 5000))).toBeNull();
    expect(held.cutShort(new TarFormatError('archive expands beyond 4096 bytes (raise the limit with --max-archive-bytes if this bundle is genuine)', 5000))).toBeNull();
    expect(held.cutShort(new TarFormatError('unexpected end of archive inside an entry (the archive is truncated)', 100))).toBeNull();
  });
});

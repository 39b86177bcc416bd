import { closeSync, createReadStream, fstatSync, openSync, read, readSync } from 'node:fs';
import { createGunzip, type Gunzip } from 'node:zlib';
import { usageError } from '../errors.js';
import { EntryDigests, type DigestSink, type SharedBuffers } from './entry-digests.js';
import { HashPool } from './hash-pool.js';
import { TarFormatError, TarReader, type EntrySink, type TarEntryHeader, type TarReaderLimits, DEFAULT_TAR_LIMITS } from './tar-reader.js';

export type { DigestSink } from './entry-digests.js';

export interface ArchiveLimits extends TarReaderLimits {
  /** Uncompressed bytes at most: stops decompression bombs long before they cost much. */
  maxArchiveBytes: number;
}

export const DEFAULT_ARCHIVE_LIMITS: ArchiveLimits = {
  ...DEFAULT_TAR_LIMITS,
  maxArchiveBytes: 64 * 1024 ** 3,
};

export class StopReading extends Error {}

/** Bytes of the bundle file read so far (compressed bytes for gzip), its size, entries begun. */
export type ArchiveProgress = (p: { bytes: number; totalBytes: number; entries: number }) => void;

export interface ArchiveRead {
  gzip: boolean;
  /** Uncompressed bytes read. */
  bytes: number;
  /** An entry handler threw StopReading. */
  stopped: boolean;
  /** Entries hashed on worker threads. */
  offloaded: number;
}

export interface ReadOptions {
  /** Worker threads for hashing the large entries of a plain tar; default by core count. */
  hashThreads?: number | undefined;
}

const CHUNK = 1 << 20;
const READS_IN_FLIGHT = 4;
/** Buffers beyond those being read and consumed, so reading goes on while workers hash. */
const SPARE_BUFFERS = 4;

/**
 * Stream an archive (plain or gzip, detected by magic bytes, never by name) through the
 * strict tar reader. A missing or unreadable file is an input error (exit 2); anything
 * wrong with the bytes is a TarFormatError for the caller to report.
 * `onEntry` may throw StopReading to end early (diff only needs the metadata).
 * A chunk handed to an entry sink is valid only during that call: buffers are reused.
 * An entry whose bytes are not needed gets a DigestSink: it is hashed here, large ones of
 * a plain tar on worker threads, and every byte still passes the tar reader's checks.
 */
export async function readArchive(
  path: string,
  onEntry: (h: TarEntryHeader) => EntrySink | DigestSink,
  limits: ArchiveLimits = DEFAULT_ARCHIVE_LIMITS,
  onProgress?: ArchiveProgress,
  options: ReadOptions = {},
): Promise<ArchiveRead> {
  const { gzip, size, fd } = openArchive(path);
  let entries = 0;
  const ring = gzip ? null : new Ring(READS_IN_FLIGHT + 1 + SPARE_BUFFERS);
  const digests = new EntryDigests(ring, options.hashThreads ?? HashPool.defaultThreads());
  const reader = new TarReader((h) => {
    entries++;
    const sink = onEntry(h);
    return 'digest' in sink ? digests.sink(h, sink) : sink;
  }, limits);
  // Plain tar: our own reads, several in flight, so the copy from disk or page cache runs
  // on libuv's threads while this thread hashes (a read stream keeps at most one
  // read going: 38% of a 1 GiB verify was idle). gzip: inflate dominates; a stream will do.
  const src = gzip ? createReadStream('', { fd, highWaterMark: CHUNK }) : null;
  const gunzip: Gunzip | null = gzip ? createGunzip({ chunkSize: 1 << 18 }) : null;
  if (src && gunzip) src.on('error', (e) => gunzip.destroy(e));
  const plain = { read: 0 };
  const stream: AsyncIterable<Buffer> = src && gunzip ? src.pipe(gunzip) : readAhead(fd, ring!, plain);
  let bytes = 0;
  try {
    for await (const chunk of stream) {
      bytes += chunk.length;
      if (bytes > limits.maxArchiveBytes) {
        throw new TarFormatError(
          `archive expands beyond ${limits.maxArchiveBytes} bytes (raise the limit with --max-archive-bytes if this bundle is genuine)`,
          bytes,
        );
      }
      reader.write(chunk);
      onProgress?.({ bytes: src ? src.bytesRead : plain.read, totalBytes: size, entries });
    }
    reader.end();
    await digests.drained();
    // zlib quietly stops at a gzip member followed by a zero byte and ignores the rest of
    // the file: bytes no check would cover. bytesWritten counts the compressed input used.
    if (gunzip && gunzip.bytesWritten !== size) {
      throw new TarFormatError(`${size - gunzip.bytesWritten} bytes after the end of the gzip stream`, bytes);
    }
    return { gzip, bytes, stopped: false, offloaded: digests.offloaded };
  } catch (e) {
    src?.destroy();
    gunzip?.destroy();
    if (e instanceof StopReading) return { gzip, bytes, stopped: true, offloaded: digests.offloaded };
    if (e instanceof TarFormatError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && code.startsWith('Z_')) {
      throw new TarFormatError(`gzip stream is corrupt or truncated (${code})`, bytes);
    }
    throw e;
  } finally {
    // The stream owns (and closes) the descriptor on the gzip path.
    if (!src) closeSync(fd);
    await digests.close();
  }
}

function readAt(fd: number, b: Buffer, pos: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    read(fd, b, 0, b.length, pos, (err, n) => (err ? reject(err) : resolve(b.subarray(0, n))));
  });
}

/**
 * The read buffers of a plain tar, in shared memory so hash workers can read entries in
 * place. A buffer a worker still hashes from is held and not read into again until released.
 */
class Ring implements SharedBuffers {
  readonly buffers: SharedArrayBuffer[];
  readonly views: Buffer[];
  private readonly refs: number[];
  private readonly slots = new Map<ArrayBufferLike, number>();
  private wake: (() => void) | null = null;
  private broken: Error | null = null;

  constructor(readonly size: number) {
    this.buffers = Array.from({ length: size }, () => new SharedArrayBuffer(CHUNK));
    this.views = this.buffers.map((b) => Buffer.from(b));
    this.refs = this.buffers.map(() => 0);
    this.buffers.forEach((b, k) => this.slots.set(b, k));
  }

  slotOf(chunk: Buffer): number {
    return this.slots.get(chunk.buffer) ?? -1;
  }

  hold(slot: number): void {
    this.refs[slot]!++;
  }

  release(slot: number): void {
    if (--this.refs[slot]! === 0) this.wake?.();
  }

  isFree(slot: number): boolean {
    return this.refs[slot] === 0;
  }

  async whenFree(slot: number): Promise<void> {
    while (!this.broken && !this.isFree(slot)) {
      await new Promise<void>((r) => (this.wake = r));
      this.wake = null;
    }
    if (this.broken) throw this.broken;
  }

  abort(e: Error): void {
    this.broken ??= e;
    this.wake?.();
  }
}

/**
 * The file in order, to its end, with reads of the next chunks already issued. A short
 * read re-aims the reads in flight. Leaves no read running when it ends, however it ends,
 * so the caller may close the descriptor.
 *
 * Buffers rotate: one per read in flight, the one being consumed, and spares for those
 * hash workers still hold. A read is issued only after the previous chunk in its buffer
 * was consumed and released, so it never lands in a buffer still in use; fresh 1 MiB
 * buffers per read cost a page fault per 4 KiB (a third of a second per GiB).
 */
async function* readAhead(fd: number, ring: Ring, progress: { read: number }): AsyncGenerator<Buffer> {
  let issued = 0;
  const queue: Array<{ at: number; chunk: Promise<Buffer> }> = [];
  let issueAt = 0;
  let pos = 0;
  try {
    for (;;) {
      while (queue.length < READS_IN_FLIGHT && ring.isFree(issued % ring.size)) {
        const chunk = readAt(fd, ring.views[issued++ % ring.size]!, issueAt);
        chunk.catch(() => undefined); // rejections are taken when the chunk's turn comes
        queue.push({ at: issueAt, chunk });
        issueAt += CHUNK;
      }
      if (queue.length === 0) {
        await ring.whenFree(issued % ring.size);
        continue;
      }
      const { at, chunk } = queue.shift()!;
      const b = await chunk;
      if (at !== pos) continue; // issued before a short read: stale
      if (b.length === 0) return;
      pos += b.length;
      if (b.length < CHUNK) issueAt = pos;
      progress.read = pos;
      yield b;
    }
  } finally {
    await Promise.allSettled(queue.map((q) => q.chunk));
  }
}

function openArchive(path: string): { gzip: boolean; size: number; fd: number } {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw usageError('BUNDLE_UNREADABLE', code === 'ENOENT' ? `bundle ${path} does not exist` : `cannot read bundle ${path} (${code})`);
  }
  try {
    const b = Buffer.alloc(2);
    const n = readSync(fd, b, 0, 2, 0);
    return { gzip: n === 2 && b[0] === 0x1f && b[1] === 0x8b, size: fstatSync(fd).size, fd };
  } catch (e) {
    closeSync(fd);
    throw usageError('BUNDLE_UNREADABLE', `cannot read bundle ${path} (${(e as NodeJS.ErrnoException).code})`);
  }
}

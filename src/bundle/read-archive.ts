import { closeSync, createReadStream, fstatSync, openSync, read, readSync } from 'node:fs';
import { createGunzip, type Gunzip } from 'node:zlib';
import { usageError } from '../errors.js';
import { EntryDigests, type DigestSink } from './entry-digests.js';
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
  /**
   * Worker threads for hashing the large entries of a plain tar; default by core count
   * from HASH_THREADS_MIN_BYTES of file, none below.
   */
  hashThreads?: number | undefined;
}

const CHUNK = 1 << 20;
const READS_IN_FLIGHT = 4;
/** The first read after a skip: enough for the next headers, little wasted if skipped too. */
const FIRST_READ = 64 * 1024;

/**
 * Below this size a plain tar is hashed on this thread alone: there, starting a hash
 * thread costs what it saves. `verify` here, this thread against threads, medians of 7
 * interleaved runs: 64 MiB 0.28 s against 0.31 s, 128 MiB 0.33 s against 0.34 s (about
 * even); of 5 runs: 256 MiB 0.42 s against 0.40 s.
 */
export const HASH_THREADS_MIN_BYTES = 128 * 1024 * 1024;

/**
 * Stream an archive (plain or gzip, detected by magic bytes, never by name) through the
 * strict tar reader. A missing or unreadable file is an input error (exit 2); anything
 * wrong with the bytes is a TarFormatError for the caller to report.
 * `onEntry` may throw StopReading to end early (diff only needs the metadata). `dataAt` is
 * where the entry's data starts; `room` what the file holds from there on, when a plain
 * file's size says and the read would get to its end (no size limit stopping it first),
 * else Infinity: an entry larger than a finite room is cut short, and reading it would end
 * in the truncated-archive refusal at byte dataAt + room, with nothing refused before that.
 * A chunk handed to an entry sink is valid only during that call: buffers are reused.
 * An entry whose bytes are not needed gets a DigestSink: it is hashed here, or, when large
 * and in a plain tar, on a worker thread that reads its data from the file while the tar
 * reader here passes over it to the padding and the next header. Failures and their
 * offsets are those of a sequential read either way.
 */
export async function readArchive(
  path: string,
  onEntry: (h: TarEntryHeader, room: number, dataAt: number) => EntrySink | DigestSink,
  limits: ArchiveLimits = DEFAULT_ARCHIVE_LIMITS,
  onProgress?: ArchiveProgress,
  options: ReadOptions = {},
): Promise<ArchiveRead> {
  const { gzip, size, fd } = openArchive(path);
  let entries = 0;
  const stop = limitStop(size, limits.maxArchiveBytes);
  // Skipping an entry's data is safe when the file holds all of it before the point where
  // the size limit may stop reading: nothing a sequential read would report lies inside it.
  const skippableTo = Number.isFinite(size) ? Math.min(size, stop.at) : 0;
  const digests = new EntryDigests(gzip ? null : fd, options.hashThreads ?? (size >= HASH_THREADS_MIN_BYTES ? HashPool.defaultThreads() : 0));
  // Reading reaches the end of a plain file, no size limit stopping it first.
  const readsToEnd = !gzip && Number.isFinite(size) && size <= limits.maxArchiveBytes;
  const reader: TarReader = new TarReader((h) => {
    entries++;
    const at = reader.position;
    const sink = onEntry(h, readsToEnd ? size - at : Infinity, at);
    if (!('digest' in sink)) return sink;
    return digests.sink(h, sink, at, !gzip && at + h.size <= skippableTo);
  }, limits);
  const totalBytes = Number.isFinite(size) ? size : 0;
  const progress = onProgress && ((bytes: number) => onProgress({ bytes, totalBytes, entries }));
  const seen = { bytes: 0 };
  // gzip: inflate dominates; a read stream will do.
  const src = gzip ? createReadStream('', { fd, highWaterMark: CHUNK }) : null;
  const gunzip: Gunzip | null = gzip ? createGunzip({ chunkSize: 1 << 18 }) : null;
  if (src && gunzip) src.on('error', (e) => gunzip.destroy(e));
  const plain = src ? null : new PlainReads(fd);
  try {
    if (src && gunzip) {
      for await (const chunk of src.pipe(gunzip) as AsyncIterable<Buffer>) {
        seen.bytes += chunk.length;
        if (seen.bytes > limits.maxArchiveBytes) throw limitError(limits.maxArchiveBytes, seen.bytes);
        reader.write(chunk);
        progress?.(src.bytesRead);
      }
    } else await readPlain(plain!, reader, digests, stop, limits.maxArchiveBytes, seen, progress);
    reader.end();
    await digests.drained();
    // zlib quietly stops at a gzip member followed by a zero byte and ignores the rest of
    // the file: bytes no check would cover. bytesWritten counts the compressed input used.
    if (gunzip && gunzip.bytesWritten !== totalBytes) {
      throw new TarFormatError(`${totalBytes - gunzip.bytesWritten} bytes after the end of the gzip stream`, seen.bytes);
    }
    return { gzip, bytes: seen.bytes, stopped: false, offloaded: digests.offloaded };
  } catch (e) {
    src?.destroy();
    gunzip?.destroy();
    if (e instanceof StopReading) return { gzip, bytes: seen.bytes, stopped: true, offloaded: digests.offloaded };
    if (e instanceof TarFormatError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && code.startsWith('Z_')) {
      throw new TarFormatError(`gzip stream is corrupt or truncated (${code})`, seen.bytes);
    }
    throw e;
  } finally {
    // Nothing may read the descriptor when it is closed: not our reads, not the workers.
    await plain?.close();
    await digests.close();
    // The stream owns (and closes) the descriptor on the gzip path.
    if (!src) closeSync(fd);
  }
}

function limitError(max: number, offset: number): TarFormatError {
  return new TarFormatError(
    `archive expands beyond ${max} bytes (raise the limit with --max-archive-bytes if this bundle is genuine)`,
    offset,
  );
}

/**
 * Where the size limit stops a plain tar, and the offset the refusal names: those of
 * reading it in chunks of 1 MiB and refusing, before reading any of it, the first chunk
 * that ends past the limit (what this reader always did), so a limit stops the same
 * archive at the same place however the reads go now. Only the chunk holding the limit
 * can end past it. `offset` null: the size does not say (a file smaller than the limit,
 * unless it grows; a device), the bytes read decide.
 */
function limitStop(size: number, max: number): { at: number; offset: number | null } {
  const at = Math.floor(max / CHUNK) * CHUNK;
  return { at, offset: size > max && Number.isFinite(size) ? Math.min(at + CHUNK, size) : null };
}

/**
 * Feed a plain tar to the reader, passing over the data of entries hashed on workers.
 * Every other byte goes through the reader in file order, up to the limit's stop.
 */
async function readPlain(
  reads: PlainReads,
  reader: TarReader,
  digests: EntryDigests,
  stop: { at: number; offset: number | null },
  max: number,
  seen: { bytes: number },
  progress: ((bytes: number) => void) | undefined,
): Promise<void> {
  let pos = 0;
  for (;;) {
    if (pos >= stop.at && stop.offset !== null) throw limitError(max, stop.offset);
    digests.check();
    const chunk = await reads.next(pos);
    if (chunk.length === 0) return;
    // In the chunk holding the limit, with no size to go by: the bytes there decide.
    if (pos >= stop.at && pos + chunk.length > max) throw limitError(max, stop.at + CHUNK);
    const part = pos < stop.at && pos + chunk.length > stop.at ? chunk.subarray(0, stop.at - pos) : chunk;
    seen.bytes = pos + part.length;
    pos += reader.feed(part);
    seen.bytes = pos;
    progress?.(pos);
  }
}

function readInto(fd: number, b: Buffer, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) => {
    read(fd, b, 0, length, position, (err, n) => (err ? reject(err) : resolve(n)));
  });
}

/**
 * The file from any position on, with reads of what follows already issued (the copy from
 * disk or page cache then runs on libuv's threads while this thread hashes; a read stream
 * keeps at most one read going: 38% of a 1 GiB verify was idle). Reading ahead starts small
 * after every jump, since the data there may be passed over too, and grows while reading
 * goes straight on. Buffers are reused (fresh 1 MiB buffers per read cost a page fault per
 * 4 KiB, a third of a second per GiB); a chunk is valid until the next call.
 */
class PlainReads {
  private readonly free: Buffer[] = Array.from({ length: READS_IN_FLIGHT + 1 }, () => Buffer.allocUnsafeSlow(CHUNK));
  private readonly queue: Array<{ at: number; length: number; buf: Buffer; done: Promise<number> }> = [];
  private current: Buffer | null = null;
  private streak = 0;
  private issueAt = 0;
  /** Where the chunk last returned ends: reading on from there is no jump. */
  private expect = -1;

  constructor(private readonly fd: number) {}

  /** The bytes from `pos` on (empty at the end of the file). */
  async next(pos: number): Promise<Buffer> {
    if (this.current) this.free.push(this.current);
    this.current = null;
    if (pos === this.expect) this.streak++;
    else {
      await this.drop();
      // The start of the file is read as it always was; a jump, carefully.
      this.streak = pos === 0 ? READS_IN_FLIGHT : 0;
      this.issueAt = pos;
    }
    const depth = this.streak === 0 ? 1 : Math.min(READS_IN_FLIGHT, this.streak + 1);
    while (this.queue.length < depth && this.free.length > 0) {
      const length = this.streak === 0 ? FIRST_READ : CHUNK;
      const buf = this.free.pop()!;
      const done = readInto(this.fd, buf, length, this.issueAt);
      done.catch(() => undefined); // taken when its turn comes, or dropped
      this.queue.push({ at: this.issueAt, length, buf, done });
      this.issueAt += length;
    }
    const r = this.queue.shift()!;
    this.current = r.buf;
    const n = await r.done;
    this.expect = r.at + n;
    // Only the end of the file reads short: what was issued beyond it is void.
    if (n < r.length) {
      await this.drop();
      this.issueAt = this.expect;
    }
    return r.buf.subarray(0, n);
  }

  /** Let the reads in flight land, then forget them. */
  private async drop(): Promise<void> {
    const q = this.queue.splice(0);
    await Promise.allSettled(q.map((r) => r.done));
    for (const r of q) this.free.push(r.buf);
  }

  /** Resolves when no read is running any more. */
  close(): Promise<void> {
    return this.drop();
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
    const st = fstatSync(fd);
    // A device or pipe has no size to go by: as if endless.
    return { gzip: n === 2 && b[0] === 0x1f && b[1] === 0x8b, size: st.isFile() ? st.size : Infinity, fd };
  } catch (e) {
    closeSync(fd);
    const code = (e as NodeJS.ErrnoException).code;
    // Read by position (and twice by extract): a pipe cannot be.
    if (code === 'ESPIPE') throw usageError('BUNDLE_UNREADABLE', `cannot read bundle ${path}: it is a pipe, and a bundle is read by position; save it to a file first`);
    throw usageError('BUNDLE_UNREADABLE', `cannot read bundle ${path} (${code})`);
  }
}

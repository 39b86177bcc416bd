import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs';
import { createHash, type Hash } from 'node:crypto';
import { sha256Hex } from '../crypto/sha256.js';

/** 1 MiB reads: about 30% faster here than Node's 64 KiB default for large files. */
export const CHUNK = 1 << 20;

/** Why an input could not be exported; the caller words the message. */
export class InputReadError extends Error {
  constructor(
    readonly path: string,
    readonly reason: 'unreadable' | 'changed',
    readonly errno: string | undefined,
  ) {
    super(`${reason}: ${path}${errno ? ` (${errno})` : ''}`);
    this.name = 'InputReadError';
  }
}

const asInputError = (path: string, e: unknown, missingMeansChanged: boolean): InputReadError => {
  if (e instanceof InputReadError) return e;
  const code = (e as NodeJS.ErrnoException).code;
  // ELOOP: a file collected as a regular file is now a symbolic link (see openInput).
  const changed = code === 'ELOOP' || (missingMeansChanged && code === 'ENOENT');
  return new InputReadError(path, changed ? 'changed' : 'unreadable', code ?? 'error');
};

/**
 * Open an input for reading. Non-blocking: a FIFO put in a file's place must not hang
 * the export. Unless the input was reached through a symbolic link the user asked to
 * follow, the last component must not be one: an input swapped for a link after it was
 * listed is refused as changed instead of being followed somewhere else.
 */
export function openInput(path: string, viaLink: boolean): number {
  return openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | (viaLink ? 0 : constants.O_NOFOLLOW));
}

// One buffer per thread, grown on demand: small files are read whole with one read()
// instead of a stream per file (20 to 30 times slower for 1 KiB files).
let scratch = Buffer.allocUnsafe(1 << 16);
const scratchOf = (n: number): Buffer => (scratch.length >= n ? scratch : (scratch = Buffer.allocUnsafe(n)));

export interface HashedFile {
  sha256: string;
  size: number;
  /**
   * The whole content when the file is at most `keepUpTo` bytes, else null. It is a view
   * of a reused buffer: valid only until the next read on this thread.
   */
  content: Buffer | null;
  /**
   * How long (ms) the file had been unchanged when it was read: now less its ctime (set by
   * any write, truncation or rename, and by nothing a program can turn back) as fstat
   * gives it after the read. A ctime a second old then means no change during the read
   * either. -1 when not asked (the file is larger than `recheckUpTo`), or when one read did
   * not take the whole file at the size fstat gives (procfs reports 0 bytes).
   */
  settledMs: number;
}

/**
 * First pass: read a file to its end, hashing; keep the content of small files for the
 * classifier; for files up to `recheckUpTo` bytes, tell how long they had been settled
 * (see HashedFile.settledMs). Synchronous: it runs on a worker thread, or inline for
 * small exports.
 */
export function hashFileSync(
  path: string,
  keepUpTo: number,
  wantWhole: (head: Uint8Array) => boolean = () => true,
  viaLink = false,
  recheckUpTo = -1,
): HashedFile {
  let fd: number;
  try {
    fd = openInput(path, viaLink);
  } catch (e) {
    throw asInputError(path, e, false);
  }
  try {
    // fstat comes after the first read, not before: one call then checks the type (a
    // FIFO or device swapped in for the file is a change, refused after at most one
    // non-blocking read of it), gives the size at which a read that comes back short is
    // the end, and tells whether the file had settled, as of after the read.
    let st: Stats | null = null;
    const check = (): Stats => {
      const got = fstatSync(fd);
      if (!got.isFile()) throw new InputReadError(path, 'changed', undefined);
      return got;
    };
    let buf = scratchOf(1 << 16);
    let fill = 0;
    let firstRead = -1;
    const whole = () => {
      const content = buf.subarray(0, fill);
      // Settled only when one read took it all and fstat, after it, says so.
      const settledMs = fill <= recheckUpTo && fill === firstRead ? settledFor(st!, fill) : -1;
      return { sha256: sha256Hex(content), size: fill, content: fill <= keepUpTo ? content : null, settledMs };
    };
    // Read whole while it fits under keepUpTo, growing the buffer.
    for (;;) {
      if (fill === buf.length) {
        // Held whole only if the caller wants it, so memory stays at one chunk for large
        // files that are not JSON.
        if (buf.length > keepUpTo || !wantWhole(buf.subarray(0, fill))) break;
        const bigger = scratchOf(Math.min(buf.length * 4, keepUpTo + 1));
        if (bigger !== buf) bigger.set(buf.subarray(0, fill));
        buf = bigger;
        if (fill === buf.length) break;
      }
      // The end is a read that says 0, or one that comes back short exactly at the size
      // fstat gave: a read per file saved (0.1 s of each thread's time for 100,000 files
      // here). procfs reports 0 bytes and still reads to its end. Given up: a file that
      // holds more than its reported size and whose read stops exactly there (a write
      // landing after the last read; page-cache file systems end a read at the size fstat
      // gives) is taken at that size. The second pass, which asks a byte past the size,
      // refuses it as changed; but if an input earlier in name order has the same first
      // bytes and supplies the blob, or the file is kept (its bytes then match the
      // manifest), it is not read again, and is recorded at that size without an error, as
      // it would be had the write come after its read.
      let n: number;
      try {
        n = readSync(fd, buf, fill, buf.length - fill, null);
      } catch (e) {
        // What cannot be read because it is no longer a regular file (a directory, a FIFO
        // that would block) has changed.
        st ??= check();
        throw e;
      }
      st ??= check();
      if (firstRead < 0) firstRead = n;
      if (n === 0) return whole();
      fill += n;
      if (fill === st.size && fill < buf.length) return whole();
    }
    // Larger than keepUpTo: stream the rest in chunks.
    const hash = createHash('sha256');
    hash.update(buf.subarray(0, fill));
    const size = fill + streamHash(fd, hash, Number.MAX_SAFE_INTEGER);
    return { sha256: hash.digest('hex'), size, content: null, settledMs: -1 };
  } catch (e) {
    throw asInputError(path, e, false);
  } finally {
    closeSync(fd);
  }
}

/** HashedFile.settledMs of a file read whole in one read of `size` bytes, given fstat's word after it. */
function settledFor(after: Stats, size: number): number {
  if (size !== after.size) return -1;
  // Whole milliseconds both sides: a file written within this millisecond is 0 ms old,
  // not a fraction below 0. A ctime in the future (a file server's clock ahead of ours)
  // is not settled at all.
  const age = Date.now() - Math.floor(after.ctimeMs);
  if (age < 0) return -1;
  // A file system that keeps whole seconds (or two) cuts a ctime down by up to that much:
  // such a ctime says only that the change was less than two seconds later.
  return after.ctimeMs % 1000 === 0 ? Math.max(0, age - 2000) : age;
}

function streamHash(fd: number, hash: Hash, limit: number): number {
  const buf = scratchOf(CHUNK);
  let size = 0;
  for (;;) {
    const n = readSync(fd, buf, 0, Math.min(buf.length, limit - size), null);
    if (n === 0) return size;
    hash.update(buf.subarray(0, n));
    size += n;
    if (size >= limit) return size;
  }
}

/**
 * Second pass: read exactly `size` bytes, hand them over in pieces, and check that the
 * file still has that size and digest. Reads ask for a byte past the end to notice growth.
 * `take(n)` returns a buffer of at least n bytes to read into (the caller's output
 * buffer, so content is copied once); `done(n)` says n bytes of it were filled.
 */
export function copyVerifiedSync(
  path: string,
  size: number,
  sha256: string,
  take: (max: number) => Buffer,
  done: (n: number) => void,
  viaLink = false,
): void {
  let fd: number;
  try {
    fd = openInput(path, viaLink);
  } catch (e) {
    throw asInputError(path, e, true);
  }
  try {
    // Made only for a file that takes more than one read: a small one is hashed in one go,
    // which costs half as much for 1 KiB (no Hash object), twice per input.
    let hash: Hash | null = null;
    let whole: string | null = null;
    let got = 0;
    // Each read asks for one byte more than is left: a file that grew says so in that
    // call, and a small file takes one read, not a second one to see the end.
    for (;;) {
      const left = size - got;
      const ask = Math.min(CHUNK, left + 1);
      const buf = take(ask);
      const n = readSync(fd, buf, 0, ask, null);
      if (n > left) throw new InputReadError(path, 'changed', undefined); // grew
      if (n === 0) {
        if (left === 0) break;
        throw new InputReadError(path, 'changed', undefined); // shrank
      }
      got += n;
      const end = got === size && n < ask;
      if (end && hash === null) whole = sha256Hex(buf.subarray(0, n));
      else (hash ??= createHash('sha256')).update(buf.subarray(0, n));
      done(n);
      if (end) break;
    }
    const digest = whole ?? (hash ?? createHash('sha256')).digest('hex');
    if (digest !== sha256) throw new InputReadError(path, 'changed', undefined);
  } catch (e) {
    throw asInputError(path, e, true);
  } finally {
    closeSync(fd);
  }
}

/**
 * Async variant of the second pass for sequential output (gzip): chunks are fresh
 * buffers because the stream may hold on to them.
 */
export async function readVerified(
  path: string,
  size: number,
  sha256: string,
  onChunk: (chunk: Buffer) => Promise<void>,
  viaLink = false,
): Promise<void> {
  let fd: number;
  try {
    fd = openInput(path, viaLink);
  } catch (e) {
    throw asInputError(path, e, true);
  }
  try {
    const hash = createHash('sha256');
    let got = 0;
    while (got < size) {
      const buf = Buffer.allocUnsafe(Math.min(CHUNK, size - got));
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) throw new InputReadError(path, 'changed', undefined);
      const chunk = buf.subarray(0, n);
      hash.update(chunk);
      got += n;
      await onChunk(chunk);
    }
    if (readSync(fd, scratchOf(1), 0, 1, null) !== 0) throw new InputReadError(path, 'changed', undefined);
    if (hash.digest('hex') !== sha256) throw new InputReadError(path, 'changed', undefined);
  } catch (e) {
    throw asInputError(path, e, true);
  } finally {
    closeSync(fd);
  }
}

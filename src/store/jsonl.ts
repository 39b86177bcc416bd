import { closeSync, constants, fstatSync, fsyncSync, ftruncateSync, readSync, writevSync } from 'node:fs';
import type { TenantNamespace } from './fs-namespace.js';
import { storeIo } from './fs-namespace.js';

/**
 * The store's two logs (records.jsonl, audit.jsonl) are append-only JSON Lines. A line is
 * committed once its newline is on disk; bytes after the last newline are an append in
 * progress (a reader ignores them) or the remains of a crash (the next writer, holding the
 * lock, cuts them off).
 */
export interface Committed {
  bytes: Buffer;
  /** Length of the incomplete tail after the last newline. */
  torn: number;
}

export function readCommitted(ns: TenantNamespace, path: string, from = 0): Committed | null {
  const fd = ns.openFile(path, constants.O_RDONLY);
  if (fd === null) return null;
  try {
    const size = Math.max(0, fstatSync(fd).size - from);
    const buf = Buffer.allocUnsafe(size);
    let off = 0;
    while (off < size) {
      const n = readSync(fd, buf, off, size - off, from + off);
      if (n === 0) break;
      off += n;
    }
    const all = buf.subarray(0, off);
    const end = all.lastIndexOf(0x0a) + 1;
    return { bytes: all.subarray(0, end), torn: all.length - end };
  } catch (e) {
    throw storeIo(e, path);
  } finally {
    closeSync(fd);
  }
}

/** Where eachCommittedLine stopped. */
export interface LineWalk {
  /** Byte offset just after the last line `onLine` accepted. */
  offset: number;
  /** Where the file ended when the walk began (never below `from`). */
  end: number;
}

const WALK_CHUNK = 1 << 20;

/**
 * Each committed line from byte `from` on, decoded as UTF-8 without its newline, until
 * `onLine` returns false. Read in chunks through one reused buffer: one allocation the
 * size of a large index costs more in page faults than parsing it. Bytes after the last
 * newline, and anything appended after the walk began, are not read.
 */
export function eachCommittedLine(
  ns: TenantNamespace,
  path: string,
  from: number,
  onLine: (text: string) => boolean,
  /** The buffer's first size (tests use tiny ones to cross chunk boundaries). */
  chunk = WALK_CHUNK,
): LineWalk | null {
  const fd = ns.openFile(path, constants.O_RDONLY);
  if (fd === null) return null;
  const io = <T>(f: () => T): T => {
    try {
      return f();
    } catch (e) {
      throw storeIo(e, path);
    }
  };
  try {
    const end = Math.max(from, io(() => fstatSync(fd).size));
    let buf = Buffer.allocUnsafe(Math.max(1, Math.min(chunk, end - from)));
    /** File offset of buf[0]; buf[0, held) is read and not yet consumed. */
    let base = from;
    let held = 0;
    while (base + held < end) {
      if (held === buf.length) {
        // A line longer than the buffer: grow it.
        const bigger = Buffer.allocUnsafe(Math.min(buf.length * 2, end - base));
        buf.copy(bigger, 0, 0, held);
        buf = bigger;
      }
      const want = Math.min(buf.length - held, end - base - held);
      const n = io(() => readSync(fd, buf, held, want, base + held));
      // The file shrank under us (only tampering can do that): what is gone is not read.
      if (n === 0) return { offset: base, end: base + held };
      held += n;
      let start = 0;
      for (let nl = buf.indexOf(0x0a, start); nl >= 0 && nl < held; nl = buf.indexOf(0x0a, start)) {
        if (!onLine(buf.toString('utf8', start, nl))) return { offset: base + start, end };
        start = nl + 1;
      }
      buf.copy(buf, 0, start, held);
      base += start;
      held -= start;
    }
    return { offset: base, end };
  } finally {
    closeSync(fd);
  }
}

/**
 * Size of the file and of its committed part (up to and including the last newline),
 * reading only its end: a writer checks for an interrupted append without reading it all.
 */
export function committedLength(ns: TenantNamespace, path: string): { size: number; committed: number } | null {
  const fd = ns.openFile(path, constants.O_RDONLY);
  if (fd === null) return null;
  try {
    const size = fstatSync(fd).size;
    const buf = Buffer.allocUnsafe(64 * 1024);
    for (let end = size; end > 0; ) {
      const len = Math.min(buf.length, end);
      const n = readSync(fd, buf, 0, len, end - len);
      const nl = buf.subarray(0, n).lastIndexOf(0x0a);
      if (nl >= 0) return { size, committed: end - len + nl + 1 };
      end -= len;
    }
    return { size, committed: 0 };
  } catch (e) {
    throw storeIo(e, path);
  } finally {
    closeSync(fd);
  }
}

/**
 * The last committed line (without its newline) of the first `upTo` bytes (default: the
 * whole file), reading only the end.
 */
export function readLastLine(ns: TenantNamespace, path: string, upTo?: number): Buffer | null {
  const fd = ns.openFile(path, constants.O_RDONLY);
  if (fd === null) return null;
  try {
    const size = Math.min(upTo ?? Infinity, fstatSync(fd).size);
    for (let want = 64 * 1024; ; want *= 4) {
      const len = Math.min(want, size);
      const buf = Buffer.allocUnsafe(len);
      let off = 0;
      while (off < len) {
        const n = readSync(fd, buf, off, len - off, size - len + off);
        if (n === 0) break;
        off += n;
      }
      const end = buf.lastIndexOf(0x0a, off - 1);
      if (end < 0) {
        if (len === size) return null;
        continue;
      }
      // (lastIndexOf with a negative offset would count from the end.)
      const start = end === 0 ? 0 : buf.lastIndexOf(0x0a, end - 1) + 1;
      if (start > 0 || len === size) return buf.subarray(start, end);
    }
  } catch (e) {
    throw storeIo(e, path);
  } finally {
    closeSync(fd);
  }
}

/** Append complete lines and make them durable before returning. */
export function appendLines(ns: TenantNamespace, path: string, lines: readonly Buffer[]): void {
  if (lines.length === 0) return;
  const fd = ns.openFile(path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT)!;
  try {
    for (let k = 0; k < lines.length; k += 512) {
      const batch = lines.slice(k, k + 512);
      const total = batch.reduce((n, b) => n + b.length, 0);
      let written = writevSync(fd, batch as Buffer[]);
      if (written !== total) {
        // A short write on a regular file: finish the rest byte-exactly.
        const rest = Buffer.concat(batch).subarray(written);
        written = 0;
        while (written < rest.length) written += writevSync(fd, [rest.subarray(written)]);
      }
    }
    fsyncSync(fd);
  } catch (e) {
    throw storeIo(e, path);
  } finally {
    closeSync(fd);
  }
}

/** Cut the file back to `length` bytes (only the lock holder does this). */
export function truncateTo(ns: TenantNamespace, path: string, length: number): void {
  const fd = ns.openFile(path, constants.O_WRONLY);
  if (fd === null) return;
  try {
    ftruncateSync(fd, length);
    fsyncSync(fd);
  } catch (e) {
    throw storeIo(e, path);
  } finally {
    closeSync(fd);
  }
}

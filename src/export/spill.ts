import { randomBytes } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync, statfsSync, unlinkSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { sha256Hex } from '../crypto/sha256.js';
import { integrityError } from '../errors.js';
import { writeAll } from '../util/write-all.js';

/**
 * Small settled inputs are read once. The hashing pass writes each one's bytes to a
 * private file (the spill: opened beside the output and unlinked at once), and the
 * writing pass copies them from there: one positional read instead of an open, a read
 * and a close of the input (0.66 s less CPU for 100,000 files of 1 KiB here, a third of
 * the writing pass's time). The bundle holds exactly the bytes that one read gave, so it
 * can never contradict its manifest; but a later change to such a file goes unnoticed.
 * So only files that look settled are kept (see keepable): one still being written, or
 * larger than KEEP_MAX_FILE, is read again by the writing pass and refused if it changed.
 */

/**
 * Inputs up to this size are kept. Above it, writing the bytes to the spill and reading
 * them back costs more than the open and close it saves: exports of 1 KiB and 4 KiB files
 * gained, 16 KiB ones were even, and 48 KiB ones took a fifth longer when kept.
 */
export const KEEP_MAX_FILE = 8 * 1024;
/** At most this much is kept (less when the output's file system is short of room); later files are read again. */
export const KEEP_MAX_BYTES = 1024 * 1024 * 1024;
/**
 * A file is kept only if its ctime, as fstat gives it after the read, says it had not
 * changed for this long: not in the second before the read, nor during it. Far longer
 * than the steps of a few milliseconds the file system's clock takes (whole-second
 * ctimes are taken as up to two seconds later: see settledFor). What this cannot see: a
 * file server whose clock lags ours, and writes through a memory map, which move ctime
 * only on a page's first write; such a file is exported as its one read found it, which
 * its manifest then names.
 */
export const KEEP_SETTLED_MS = 1000;

/**
 * Whether a file just read may be kept instead of read again: small, and settled (see
 * HashedFile.settledMs: unchanged for KEEP_SETTLED_MS before the read and during it, and
 * as large as fstat said, so not a procfs file).
 */
export function keepable(r: { size: number; settledMs: number }): boolean {
  return r.size <= KEEP_MAX_FILE && r.settledMs >= KEEP_SETTLED_MS;
}

/** The spill as a hashing job sees it: the file, and its end, shared by every thread. */
export interface SpillTarget {
  fd: number;
  /** One 64-bit counter: the next free offset. Threads reserve room with Atomics.add. */
  end: SharedArrayBuffer;
  cap: number;
}

/**
 * A spill beside `out`, or null when one cannot be made (the inputs are then read twice).
 * It takes at most a quarter of the room the file system has left, which the bundle needs.
 */
export function openSpill(out: string, cap = KEEP_MAX_BYTES): SpillTarget | null {
  const dir = dirname(out);
  const path = join(dir, `.${basename(out)}.${process.pid}.${randomBytes(6).toString('hex')}.spill`);
  let fd: number;
  try {
    fd = openSync(path, 'wx+', 0o600);
  } catch {
    return null;
  }
  try {
    unlinkSync(path);
    // Gone from the directory: had the name been swapped in between, or were it kept
    // alive under another name (NFS), bytes of the inputs would stay behind.
    if (fstatSync(fd).nlink !== 0) throw new Error('the spill still has a name');
    const room = statfsSync(dir);
    return { fd, end: new SharedArrayBuffer(8), cap: Math.min(cap, Math.floor((room.bavail * room.bsize) / 4)) };
  } catch {
    closeSync(fd);
    return null;
  }
}

export function closeSpill(spill: SpillTarget | null): void {
  if (spill) closeSync(spill.fd);
}

// Per thread, made on first use, grown on demand, reused by every job.
let room: Buffer | null = null;

/**
 * One job's kept inputs, gathered and written with one write per megabyte or so. `add`
 * gives a place in the batch; `settle` writes what is left and turns each place into an
 * offset in the spill, or -1 for any that could not be kept (the spill full, or a write
 * failed: those files are read again).
 */
export class SpillBatch {
  private fill = 0;
  /** Places not yet written, and the results they belong to. */
  private readonly waiting: number[] = [];
  private readonly ats: number[] = [];

  constructor(private readonly spill: SpillTarget) {}

  /** Keep `content`; its offset is filled in `ats[index]` by settle(). */
  add(content: Uint8Array): number {
    room ??= Buffer.allocUnsafe(1 << 20);
    if (this.fill + content.length > room.length) {
      this.write();
      if (content.length > room.length) room = Buffer.allocUnsafe(content.length);
    }
    room.set(content, this.fill);
    this.waiting.push(this.ats.length, this.fill);
    this.fill += content.length;
    this.ats.push(-1);
    return this.ats.length - 1;
  }

  /** Writes what is left; the offset of each kept content, in the order added (-1: not kept). */
  settle(): number[] {
    this.write();
    return this.ats;
  }

  private write(): void {
    const length = this.fill;
    const waiting = this.waiting.splice(0);
    this.fill = 0;
    if (waiting.length === 0) return;
    const end = new BigInt64Array(this.spill.end);
    const base = Number(Atomics.add(end, 0, BigInt(length)));
    if (base + length > this.spill.cap) return;
    try {
      writeAll(this.spill.fd, room!, base, length);
    } catch {
      return;
    }
    for (let k = 0; k < waiting.length; k += 2) this.ats[waiting[k]!] = base + waiting[k + 1]!;
  }
}

/**
 * Read a kept input's `size` bytes at `at` into `into`, and check them against the digest
 * the hashing pass gave: what goes into the bundle is checked as it is written, wherever
 * it comes from.
 */
export function readKept(fd: number, at: number, size: number, sha256: string, into: Buffer, shown: string): void {
  let got = 0;
  while (got < size) {
    const n = readSync(fd, into, got, size - got, at + got);
    if (n === 0) break;
    got += n;
  }
  if (got !== size || sha256Hex(into.subarray(0, size)) !== sha256) {
    throw integrityError('SPILL_DAMAGED', `the copy of ${shown} kept since the hashing pass was damaged (something wrote to the export's temporary file): export again`);
  }
}

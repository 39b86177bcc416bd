import { randomBytes } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync, statfsSync, unlinkSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { sha256Hex } from '../crypto/sha256.js';
import { integrityError } from '../errors.js';
import { writeAll } from '../util/write-all.js';

/**
 * Small settled inputs are read once. The hashing pass keeps each one's bytes, and the
 * writing pass copies them from there instead of opening, reading and closing the input
 * again. They are kept in memory the export's threads share (the arena) up to
 * ARENA_MAX_BYTES, and beyond it in a private file (the spill: opened beside the output
 * and unlinked at once), from which each is read back with one positional read. The file
 * saved 0.66 s of CPU for 100,000 files of 1 KiB here, a third of the writing pass's time;
 * the arena saves a write per megabyte and a read per file more: 0.33 to 0.35 s of CPU
 * and 0.1 to 0.2 s for 100,000 such files, all held in it (two runs of 16 interleaved
 * pairs, in a slow hour), for 100 MB more peak memory (211 MB became 311). The bundle holds
 * exactly the bytes that one read gave, so it can never contradict its manifest; but a
 * later change to such a file goes unnoticed. So only files that look settled are kept
 * (see keepable): one still being written, or larger than KEEP_MAX_FILE, is read again by
 * the writing pass and refused if it changed.
 */

/**
 * Inputs up to this size are kept. Above it, writing the bytes to the spill and reading
 * them back costs more than the open and close it saves: exports of 1 KiB and 4 KiB files
 * gained, 16 KiB ones were even, and 48 KiB ones took a fifth longer when kept.
 */
export const KEEP_MAX_FILE = 8 * 1024;
/** At most this much is kept in the file (less when the output's file system is short of room); later files are read again. */
export const KEEP_MAX_BYTES = 1024 * 1024 * 1024;
/**
 * At most this much is kept in memory: a bound on what the arena adds to the export's
 * resident memory, whatever the number of inputs (its pages are taken as they are first
 * written, and an export sets aside no more than its inputs could need). With half of it,
 * which held two thirds of those 100,000 files, the gain was within the noise: 0.03 s and
 * 0.08 s of CPU, 16 pairs.
 */
export const ARENA_MAX_BYTES = 128 * 1024 * 1024;
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

/**
 * Where kept bytes are: the arena, then the file. A kept copy's place is one number:
 * below the arena's length, an offset in the arena; from there on, an offset in the file
 * plus the arena's length.
 */
export interface KeptStore {
  fd: number;
  /** Null when no memory is set aside. */
  arena: SharedArrayBuffer | null;
}

/** The store as a hashing job sees it: also where each part's free room starts, shared by every thread. */
export interface SpillTarget extends KeptStore {
  /** Two 64-bit counters, the next free offset in the arena and in the file: threads reserve room with a compare-and-swap (see reserve). */
  end: SharedArrayBuffer;
  /** At most this much of the file is used. */
  cap: number;
}

/**
 * A store beside `out`, or null when its file cannot be made (the inputs are then read
 * twice). The file takes at most a quarter of the room the file system has left, which
 * the bundle needs; the arena, `arenaBytes` (0: none).
 */
export function openSpill(out: string, cap = KEEP_MAX_BYTES, arenaBytes = ARENA_MAX_BYTES): SpillTarget | null {
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
    return { fd, arena: arenaOf(arenaBytes), end: new SharedArrayBuffer(16), cap: Math.min(cap, Math.floor((room.bavail * room.bsize) / 4)) };
  } catch {
    closeSync(fd);
    return null;
  }
}

/** Memory for the arena, or null for none: where it cannot be had (a memory limit), the file alone keeps. */
function arenaOf(bytes: number): SharedArrayBuffer | null {
  if (!(bytes > 0)) return null;
  try {
    return new SharedArrayBuffer(bytes);
  } catch {
    return null;
  }
}

export function closeSpill(spill: SpillTarget | null): void {
  if (spill) closeSync(spill.fd);
}

// Per thread, made on first use, grown on demand, reused by every job.
let room: Buffer | null = null;

/**
 * One job's kept inputs, gathered and stored a megabyte or so at a time. `add` gives a
 * place in the batch; `settle` stores what is left and turns each place into the kept
 * copy's place in the store (see KeptStore), or -1 for any that could not be kept (the
 * store full, or a write failed: those files are read again).
 */
export class SpillBatch {
  private fill = 0;
  /** Places not yet stored, and the results they belong to. */
  private readonly waiting: number[] = [];
  private readonly ats: number[] = [];

  constructor(private readonly spill: SpillTarget) {}

  /** Keep `content`; its place is filled in `ats[index]` by settle(). */
  add(content: Uint8Array): number {
    room ??= Buffer.allocUnsafe(1 << 20);
    if (this.fill + content.length > room.length) {
      this.store();
      if (content.length > room.length) room = Buffer.allocUnsafe(content.length);
    }
    room.set(content, this.fill);
    this.waiting.push(this.ats.length, this.fill);
    this.fill += content.length;
    this.ats.push(-1);
    return this.ats.length - 1;
  }

  /** Stores what is left; the place of each kept content, in the order added (-1: not kept). */
  settle(): number[] {
    this.store();
    return this.ats;
  }

  private store(): void {
    const length = this.fill;
    const waiting = this.waiting.splice(0);
    this.fill = 0;
    if (waiting.length === 0) return;
    const ends = new BigInt64Array(this.spill.end);
    const { arena } = this.spill;
    let place: number;
    const inArena = arena === null ? -1 : reserve(ends, 0, length, arena.byteLength);
    if (inArena >= 0) {
      new Uint8Array(arena!, inArena, length).set(room!.subarray(0, length));
      place = inArena;
    } else {
      const base = reserve(ends, 1, length, this.spill.cap);
      if (base < 0) return;
      try {
        writeAll(this.spill.fd, room!, base, length);
      } catch {
        return;
      }
      place = (arena?.byteLength ?? 0) + base;
    }
    for (let k = 0; k < waiting.length; k += 2) this.ats[waiting[k]!] = place + waiting[k + 1]!;
  }
}

/**
 * Room for `length` bytes below `cap` in the part whose next free offset is `ends[slot]`:
 * its offset, or -1 when it does not fit. What does not fit takes nothing, so a smaller
 * batch after it may still fit.
 */
function reserve(ends: BigInt64Array, slot: number, length: number, cap: number): number {
  for (;;) {
    const free = Atomics.load(ends, slot);
    if (Number(free) + length > cap) return -1;
    if (Atomics.compareExchange(ends, slot, free, free + BigInt(length)) === free) return Number(free);
  }
}

/**
 * Copy a kept input's `size` bytes from `place` in `store` into `into`, and check them
 * against the digest the hashing pass gave: what goes into the bundle is checked as it is
 * written, wherever it comes from.
 */
export function readKept(store: KeptStore, place: number, size: number, sha256: string, into: Buffer, shown: string): void {
  const inArena = store.arena?.byteLength ?? 0;
  let got = 0;
  if (place < inArena) {
    if (place + size <= inArena) {
      into.set(new Uint8Array(store.arena!, place, size));
      got = size;
    }
  } else {
    while (got < size) {
      const n = readSync(store.fd, into, got, size - got, place - inArena + got);
      if (n === 0) break;
      got += n;
    }
  }
  if (got !== size || sha256Hex(into.subarray(0, size)) !== sha256) {
    throw integrityError('SPILL_DAMAGED', `the copy of ${shown} kept since the hashing pass was damaged (something wrote to the export's temporary file or memory): export again`);
  }
}

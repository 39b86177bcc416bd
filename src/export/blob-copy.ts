import { createHash, type Hash } from 'node:crypto';
import { writeAll } from '../util/write-all.js';
import { BLOCK, entryHeader, entryHeaderInto, padOf } from '../bundle/tar-writer.js';
import { copyVerifiedSync } from './read-file.js';
import { readKept, type KeptStore } from './spill.js';

/** One tar entry at a known place: content from a file (re-hashed), from memory, or made as it goes. */
export interface PlacedEntry {
  name: string;
  size: number;
  mode: number;
  /** The digest the content must come out with: for a file, what the first pass saw. */
  sha256?: string;
  path?: string;
  /** The path's last component is a symbolic link the user asked to follow. */
  viaLink?: boolean;
  /**
   * The bytes the hashing pass read from `path`, kept in `store` at place `at`: copied
   * from there (`path` may then be left empty).
   */
  kept?: { store: KeptStore; at: number };
  data?: Uint8Array;
  /**
   * Content made as it is written (metadata of a large bundle: no copy of it in memory):
   * called once, it must give exactly `size` bytes, and their digest must be `sha256` when
   * that is given. Strings are written as UTF-8.
   */
  pieces?: () => Iterable<string | Uint8Array>;
}

const OUT = 4 << 20;
let out: Buffer | null = null;

/**
 * Write a run of consecutive entries (headers, content, padding) at `position` of the
 * archive, with large coalesced writes. Every size is known beforehand, so runs can be
 * written by several threads at once, each at its own offset. Returns the end offset.
 */
export function writeEntriesSync(
  fd: number,
  position: number,
  entries: readonly PlacedEntry[],
  mtimeSec: number,
  onProgress: (bytes: number, files: number) => void,
): number {
  out ??= Buffer.allocUnsafe(OUT);
  const buf = out;
  let fill = 0;
  let pos = position;
  const flush = () => {
    writeAll(fd, buf, pos, fill);
    pos += fill;
    fill = 0;
  };
  const room = (n: number) => {
    if (OUT - fill < n) flush();
  };
  const put = (b: Uint8Array) => {
    if (b.length > OUT - fill) flush();
    if (b.length > OUT) {
      writeAll(fd, b, pos);
      pos += b.length;
    } else {
      buf.set(b, fill);
      fill += b.length;
    }
  };
  const zeros = (n: number) => {
    room(n);
    buf.fill(0, fill, fill + n);
    fill += n;
  };

  // Into the output buffer where it fits, so the text is encoded once, in place.
  const putText = (s: string): Uint8Array => {
    const n = Buffer.byteLength(s, 'utf8');
    if (n > OUT) {
      const b = Buffer.from(s, 'utf8');
      put(b);
      return b;
    }
    room(n);
    if (buf.write(s, fill, 'utf8') !== n) throw new Error('a piece was cut short');
    fill += n;
    return buf.subarray(fill - n, fill);
  };

  for (const e of entries) {
    // Into the output buffer where it is one block (every blob's is); a pax header is made.
    room(BLOCK);
    const header = entryHeaderInto(buf, fill, e.name, e.size, e.mode, mtimeSec);
    if (header > 0) fill += header;
    else put(entryHeader(e.name, e.size, e.mode, mtimeSec));
    if (e.data) {
      put(e.data);
      onProgress(e.data.length, 1);
    } else if (e.pieces) {
      const hash = e.sha256 === undefined ? null : createHash('sha256');
      let made = 0;
      for (const p of e.pieces()) {
        const bytes = typeof p === 'string' ? putText(p) : (put(p), p);
        hash?.update(bytes);
        made += bytes.length;
        onProgress(bytes.length, 0);
      }
      checkMade(e, made, hash);
      onProgress(0, 1);
    } else if (e.kept) {
      // At most KEEP_MAX_FILE bytes: always within the output buffer.
      if (e.size > OUT) throw new Error(`${e.name} is too large to have been kept`);
      room(e.size);
      readKept(e.kept.store, e.kept.at, e.size, e.sha256!, buf.subarray(fill, fill + e.size), e.path || e.name);
      fill += e.size;
      onProgress(e.size, 1);
    } else {
      copyVerifiedSync(
        e.path!,
        e.size,
        e.sha256!,
        (max) => {
          room(max);
          return buf.subarray(fill, fill + max);
        },
        (n) => {
          fill += n;
          onProgress(n, 0);
        },
        e.viaLink,
      );
      onProgress(0, 1);
    }
    zeros(padOf(e.size));
  }
  flush();
  return pos;
}

/** Throws unless an entry's made content came out as reserved: its size, and its digest when pinned. */
function checkMade(e: PlacedEntry, made: number, hash: Hash | null): void {
  if (made !== e.size) throw new Error(`${e.name} is ${made} bytes, ${e.size} were reserved`);
  if (hash && hash.digest('hex') !== e.sha256) throw new Error(`${e.name} came out other than its pinned digest`);
}

/** The entry with its made or kept content in memory (for a writer that takes buffers), checked as writeEntriesSync checks it. */
export function materialized(e: PlacedEntry): PlacedEntry {
  if (e.kept) {
    const data = Buffer.allocUnsafe(e.size);
    readKept(e.kept.store, e.kept.at, e.size, e.sha256!, data, e.path || e.name);
    return { name: e.name, size: e.size, mode: e.mode, data };
  }
  if (!e.pieces) return e;
  const data = Buffer.allocUnsafe(e.size);
  const hash = e.sha256 === undefined ? null : createHash('sha256');
  let made = 0;
  for (const p of e.pieces()) {
    const bytes = typeof p === 'string' ? Buffer.from(p, 'utf8') : p;
    if (made + bytes.length <= e.size) data.set(bytes, made);
    hash?.update(bytes);
    made += bytes.length;
  }
  checkMade(e, made, hash);
  return { name: e.name, size: e.size, mode: e.mode, data };
}

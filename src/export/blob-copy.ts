import { writeSync } from 'node:fs';
import { entryHeader, padOf } from '../bundle/tar-writer.js';
import { copyVerifiedSync } from './read-file.js';

/** One tar entry at a known place: content from a file (re-hashed) or from memory. */
export interface PlacedEntry {
  name: string;
  size: number;
  mode: number;
  /** For file content: the digest the first pass saw. */
  sha256?: string;
  path?: string;
  /** The path's last component is a symbolic link the user asked to follow. */
  viaLink?: boolean;
  data?: Uint8Array;
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
    let off = 0;
    while (off < fill) off += writeSync(fd, buf, off, fill - off, pos + off);
    pos += fill;
    fill = 0;
  };
  const room = (n: number) => {
    if (OUT - fill < n) flush();
  };
  const put = (b: Uint8Array) => {
    if (b.length > OUT - fill) flush();
    if (b.length > OUT) {
      let off = 0;
      while (off < b.length) off += writeSync(fd, b, off, b.length - off, pos + off);
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

  for (const e of entries) {
    put(entryHeader(e.name, e.size, e.mode, mtimeSec));
    if (e.data) {
      put(e.data);
      onProgress(e.data.length, 1);
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

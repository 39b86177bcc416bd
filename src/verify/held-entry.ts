import type { TarFormatError } from '../bundle/tar-reader.js';

/** Held before growing: small entries (nearly all) are allocated once, at their size. */
const HELD_FIRST = 1024 * 1024;

/**
 * The bytes of an entry read whole. Its header's size is a claim: allocated at once only
 * when the file is known to hold that much (`room`, see readArchive), else grown as the
 * data arrives, so a bundle cut short (or lying) costs memory for what it holds, not for
 * what it declares. Growing doubles, and ends at the declared size, which the tar reader
 * never exceeds: no copy trims it at the end.
 */
export class HeldEntry {
  private buf: Buffer;
  private filled = 0;

  constructor(
    readonly name: string,
    readonly size: number,
    private readonly offset: number,
    room: number,
    /** In a SharedArrayBuffer, to be handed to the remote checks without a copy. */
    private readonly shared: boolean,
  ) {
    // An infinite room is an unknown one: nothing says the data is there.
    this.buf = this.alloc(Number.isFinite(room) && size <= room ? size : Math.min(size, HELD_FIRST));
  }

  add(chunk: Buffer): void {
    const need = this.filled + chunk.length;
    if (need > this.buf.length) {
      const bigger = this.alloc(Math.min(this.size, Math.max(need, 2 * this.buf.length)));
      bigger.set(this.buf.subarray(0, this.filled));
      this.buf = bigger;
    }
    this.buf.set(chunk, this.filled);
    this.filled = need;
  }

  /** All of the entry's bytes, once it ended. */
  bytes(): Buffer {
    return this.filled === this.buf.length ? this.buf : this.buf.subarray(0, this.filled);
  }

  /**
   * The message for a read that failed while this entry was open, when it failed because
   * the input ended inside it (the tar, or the gzip stream holding it): it names the entry.
   * null for any other failure, whose message stays as it is.
   */
  cutShort(e: TarFormatError): string | null {
    // A worker's short read of an earlier entry fails with the same words, at its place.
    if (e.offset < this.offset) return null;
    const what = `its header declares ${this.size} bytes, ${this.filled} arrived`;
    if (e.message.startsWith('unexpected end of archive inside an entry ')) {
      return `unexpected end of archive inside ${this.name}: ${what} (the archive is truncated)`;
    }
    if (e.message.endsWith('(Z_BUF_ERROR)')) return `${e.message} inside ${this.name}: ${what}`;
    return null;
  }

  /** Visible for tests: bytes allocated now. */
  get capacity(): number {
    return this.buf.length;
  }

  private alloc(n: number): Buffer {
    return this.shared ? Buffer.from(new SharedArrayBuffer(n)) : Buffer.allocUnsafe(n);
  }
}

/**
 * Bytes made on one thread and read on another while they are made: the maker writes
 * them in order into shared memory and publishes how far it has got; the reader takes
 * each newly published run as it comes, and waits (blocking: a worker thread only) for
 * the next. The maker never writes below a mark it has published, so a run once read
 * stays as it was read.
 */

/** The maker's side: publishes how many bytes are ready, or that none will follow. */
export class FeedMark {
  /** One 64-bit counter: bytes ready, or -1 once abandoned. Handed to the reader. */
  readonly shared = new SharedArrayBuffer(8);
  private readonly mark = new BigInt64Array(this.shared);
  private at = 0;

  constructor(readonly total: number) {}

  /** The first `end` bytes are written and will not change. */
  publish(end: number): void {
    if (!Number.isSafeInteger(end) || end < this.at || end > this.total) throw new Error(`cannot publish ${end} of ${this.total} bytes after ${this.at}`);
    if (Atomics.load(this.mark, 0) < 0n) throw new Error('the feed was abandoned');
    this.at = end;
    Atomics.store(this.mark, 0, BigInt(end));
    Atomics.notify(this.mark, 0);
  }

  /** No more bytes will come: the reader stops with an error. */
  abandon(): void {
    Atomics.store(this.mark, 0, -1n);
    Atomics.notify(this.mark, 0);
  }
}

/**
 * The reader's side: `bytes` (in the shared memory the maker writes) in runs, as the
 * maker publishes them, to its end. Throws once the maker abandons the feed. Waits for
 * the maker's word in steps of `waitMs`, reading the mark again after each.
 */
export function* fedRuns(bytes: Uint8Array, shared: SharedArrayBuffer, waitMs = 50): Generator<Uint8Array> {
  if (!(bytes.buffer instanceof SharedArrayBuffer)) throw new Error('a feed\'s bytes must be in shared memory');
  const mark = new BigInt64Array(shared);
  let at = 0;
  while (at < bytes.length) {
    const ready = Atomics.load(mark, 0);
    if (ready < 0n) throw new Error('the feed was abandoned');
    const end = Number(ready);
    if (end > bytes.length) throw new Error(`the feed says ${end} bytes are ready, of ${bytes.length}`);
    if (end > at) {
      yield bytes.subarray(at, end);
      at = end;
    } else {
      Atomics.wait(mark, 0, ready, waitMs);
    }
  }
}

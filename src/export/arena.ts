/**
 * Small inputs, as read and hashed by the first pass, kept for the writing pass: opening,
 * reading and closing 100,000 small files a second time cost about a second of system
 * calls here, and bytes kept from the hashing pass are exactly the bytes the manifest
 * names, so they need no second hash (a stat shows whether the file changed since: see
 * unchangedSince). One bump allocator over shared memory, so every
 * pool thread can keep and copy. Pages never written are never resident, so exports of
 * large files pay nothing for it.
 */
export const ARENA_BYTES = 128 << 20;
/** Larger files are read again: keeping them would use the budget on few files. */
export const ARENA_FILE_MAX = 64 << 10;

export interface ArenaMemory {
  data: SharedArrayBuffer;
  /** One Int32: the next free offset. */
  cursor: SharedArrayBuffer;
}

export class Arena {
  private readonly bytes: Buffer;
  private readonly next: Int32Array;

  constructor(readonly memory: ArenaMemory) {
    this.bytes = Buffer.from(memory.data);
    this.next = new Int32Array(memory.cursor);
  }

  static create(bytes = ARENA_BYTES): Arena {
    return new Arena({ data: new SharedArrayBuffer(bytes), cursor: new SharedArrayBuffer(4) });
  }

  /** Keep a copy of `content`; its offset, or -1 when it is too large or the arena is full. */
  keep(content: Uint8Array): number {
    const n = content.length;
    if (n > ARENA_FILE_MAX || Atomics.load(this.next, 0) + n > this.bytes.length) return -1;
    const at = Atomics.add(this.next, 0, n);
    if (at + n > this.bytes.length) return -1;
    this.bytes.set(content, at);
    return at;
  }

  view(offset: number, size: number): Buffer {
    if (offset < 0 || size < 0 || offset + size > this.bytes.length) throw new RangeError('arena range out of bounds');
    return this.bytes.subarray(offset, offset + size);
  }
}

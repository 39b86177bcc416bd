import { createHash, hash, type Hash } from 'node:crypto';
import { HashPool } from './hash-pool.js';
import type { EntrySink, TarEntryHeader } from './tar-reader.js';

/** An entry the caller needs only the SHA-256 of, not its bytes. */
export interface DigestSink {
  /** The entry's SHA-256 (hex). Calls come in archive order, all before the read resolves. */
  digest(sha256: string): void;
}

/** Read buffers that hash workers may read from, and that the reader refills only when released. */
export interface SharedBuffers {
  readonly buffers: readonly SharedArrayBuffer[];
  /** The buffer a chunk lies in, -1 for none of them. */
  slotOf(chunk: Buffer): number;
  hold(slot: number): void;
  release(slot: number): void;
  /** Wake whoever waits for a buffer: the workers are gone. */
  abort(e: Error): void;
}

/**
 * Below this, handing an entry to a worker (two messages, a thread hop) costs about what
 * hashing it here does.
 */
const OFFLOAD_MIN = 256 * 1024;
/** Bytes waiting at a worker before this thread hashes the next entry itself. */
const MAX_BACKLOG = 4 * 1024 * 1024;

const EMPTY_SHA256 = createHash('sha256').digest('hex');

/**
 * Hashes the entries behind DigestSinks: small ones (and all of a gzip stream) on this
 * thread, large ones of a plain tar on worker threads straight from the shared read
 * buffers. Digests are handed over in archive order whatever thread finishes first, so
 * the caller sees the same sequence as a sequential read.
 */
export class EntryDigests {
  private pool: HashPool | null = null;
  private readonly queue: Array<{ target: DigestSink; hex: string | null }> = [];
  private head = 0;
  private drainedWake: (() => void) | null = null;
  private failure: Error | null = null;
  /** Entries hashed on worker threads. */
  offloaded = 0;

  constructor(
    private readonly shared: SharedBuffers | null,
    private readonly threads: number,
  ) {}

  sink(h: TarEntryHeader, target: DigestSink): EntrySink {
    if (this.shared && this.threads > 0 && h.size >= OFFLOAD_MIN) {
      this.pool ??= new HashPool(this.shared.buffers, this.threads, (slot) => this.shared!.release(slot), (e) => this.fail(e));
      const id = this.pool.begin(MAX_BACKLOG);
      if (id !== null) {
        this.offloaded++;
        return this.pooled(h, target, this.pool, this.shared, id);
      }
    }
    return this.inline(h, target);
  }

  private inline(h: TarEntryHeader, target: DigestSink): EntrySink {
    let state: Hash | null = null;
    let whole: string | null = null;
    return {
      update: (chunk) => {
        // Most small entries arrive in one piece: one call instead of three.
        if (state === null && chunk.length === h.size) whole = hash('sha256', chunk, 'hex');
        else (state ??= createHash('sha256')).update(chunk);
      },
      end: () => this.deliver(target, whole ?? state?.digest('hex') ?? EMPTY_SHA256),
    };
  }

  private pooled(h: TarEntryHeader, target: DigestSink, pool: HashPool, shared: SharedBuffers, id: number): EntrySink {
    let sent = 0;
    const item = { target, hex: null as string | null };
    pool.onDigest(id, (hex) => {
      item.hex = hex;
      this.flush();
    });
    return {
      update: (chunk) => {
        const slot = shared.slotOf(chunk);
        if (slot < 0) throw new Error('internal: pooled hashing of a chunk outside the shared buffers');
        shared.hold(slot);
        sent += chunk.length;
        pool.update(id, slot, chunk.byteOffset, chunk.length, sent === h.size);
      },
      end: () => {
        this.queue.push(item);
      },
    };
  }

  private deliver(target: DigestSink, hex: string): void {
    if (this.head === this.queue.length) target.digest(hex);
    else this.queue.push({ target, hex });
  }

  private flush(): void {
    const q = this.queue;
    while (this.head < q.length && q[this.head]!.hex !== null) {
      const { target, hex } = q[this.head++]!;
      target.digest(hex!);
    }
    if (this.head === q.length) {
      q.length = 0;
      this.head = 0;
      this.drainedWake?.();
    }
  }

  private fail(e: Error): void {
    this.failure ??= e;
    this.shared?.abort(e);
    this.drainedWake?.();
  }

  /** Resolves once every entry that ended has had its digest delivered. */
  async drained(): Promise<void> {
    while (this.head < this.queue.length) {
      if (this.failure) throw this.failure;
      await new Promise<void>((r) => (this.drainedWake = r));
      this.drainedWake = null;
    }
    if (this.failure) throw this.failure;
  }

  async close(): Promise<void> {
    await this.pool?.close();
  }
}

import { createHash, hash, type Hash } from 'node:crypto';
import { HashPool, RangeReadError } from './hash-pool.js';
import { TarFormatError, type EntrySink, type TarEntryHeader } from './tar-reader.js';

/** An entry the caller needs only the SHA-256 of, not its bytes. */
export interface DigestSink {
  /** The entry's SHA-256 (hex). Calls come in archive order, all before the read resolves. */
  digest(sha256: string): void;
}

/**
 * Below this, handing an entry to a worker (a message each way, a thread hop) costs about
 * what hashing it here does.
 */
const OFFLOAD_MIN = 256 * 1024;
/** Bytes waiting at a worker before this thread hashes the next entry itself. */
const MAX_BACKLOG = 4 * 1024 * 1024;

const EMPTY_SHA256 = createHash('sha256').digest('hex');

/**
 * Hashes the entries behind DigestSinks: small ones (and all of a gzip stream) on this
 * thread as their bytes pass, large ones of a plain tar on worker threads that read them
 * from the file themselves while this thread skips to the next header. Digests are handed
 * over in archive order whatever thread finishes first, so the caller sees the sequence a
 * sequential read gives.
 */
export class EntryDigests {
  private pool: HashPool | null = null;
  private readonly queue: Array<{ target: DigestSink; hex: string | null }> = [];
  private head = 0;
  private wake: (() => void) | null = null;
  private failure: Error | null = null;
  /** Entries hashed on worker threads. */
  offloaded = 0;

  /** `fd`: the plain tar the workers may read, null for none (gzip). */
  constructor(
    private readonly fd: number | null,
    private readonly threads: number,
  ) {}

  /**
   * The sink for an entry whose data starts at `dataAt`; `skippable`: the caller can pass
   * over its data (all of it is in the file), so a worker may read it instead.
   */
  sink(h: TarEntryHeader, target: DigestSink, dataAt: number, skippable: boolean): EntrySink {
    if (skippable && this.fd !== null && this.threads > 0 && h.size >= OFFLOAD_MIN) {
      // A worker's failure surfaces as the reader would report it, not as the pool's error.
      this.check();
      this.pool ??= new HashPool(this.fd, this.threads, (e) => this.fail(e));
      const item = { target, hex: null as string | null };
      const taken = this.pool.hash(dataAt, h.size, MAX_BACKLOG, (hex) => {
        item.hex = hex;
        this.flush();
      });
      if (taken) {
        this.offloaded++;
        return {
          external: true,
          update: () => {
            throw new Error('internal: data of an external entry passed to its sink');
          },
          end: () => {
            this.queue.push(item);
          },
        };
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
      this.wake?.();
    }
  }

  private fail(e: Error): void {
    // A range the file no longer holds is a truncated archive, as the reader would say.
    this.failure ??=
      e instanceof RangeReadError && e.reason === 'short'
        ? new TarFormatError('unexpected end of archive inside an entry (the archive is truncated)', e.at)
        : e;
    this.wake?.();
  }

  /** Throws what went wrong on a worker, if anything did. */
  check(): void {
    if (this.failure) throw this.failure;
  }

  /** Resolves once every entry that ended has had its digest delivered. */
  async drained(): Promise<void> {
    while (this.head < this.queue.length) {
      this.check();
      await new Promise<void>((r) => (this.wake = r));
      this.wake = null;
    }
    this.check();
  }

  /** Stops the workers; once resolved, none reads the descriptor any more. */
  async close(): Promise<void> {
    await this.pool?.close();
  }
}

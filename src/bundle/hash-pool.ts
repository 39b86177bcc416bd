import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

/**
 * The worker's whole program. It is source text rather than a compiled module so the pool
 * runs the same from dist/ and from the TypeScript sources under the test runner (a worker
 * cannot load .ts files); it needs nothing but node builtins.
 *
 * In: [entry, position, length]: read that range of the archive (the descriptor is the
 * process's, shared) and hash it. Out: [entry, hex, null], or [entry, null, [reason, at]]
 * when the file ends early ('short') or cannot be read (the error code).
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { readSync } = require('node:fs');
const { createHash } = require('node:crypto');
const fd = workerData;
const buf = Buffer.allocUnsafe(${1 << 20});
parentPort.on('message', ([entry, position, length]) => {
  const h = createHash('sha256');
  let done = 0;
  try {
    while (done < length) {
      const n = readSync(fd, buf, 0, Math.min(buf.length, length - done), position + done);
      if (n === 0) return parentPort.postMessage([entry, null, ['short', position + done]]);
      h.update(n === buf.length ? buf : buf.subarray(0, n));
      done += n;
    }
  } catch (e) {
    return parentPort.postMessage([entry, null, [e.code || String(e), position + done]]);
  }
  parentPort.postMessage([entry, h.digest('hex'), null]);
});
`;

type Reply = [entry: number, hex: string | null, problem: [reason: string, at: number] | null];

/** A range the pool could not hash: the file ended before it (`short`), or a read failed. */
export class RangeReadError extends Error {
  constructor(
    readonly reason: string,
    readonly at: number,
  ) {
    super(reason === 'short' ? `the archive ended early at byte ${at}` : `cannot read the archive at byte ${at} (${reason})`);
  }
}

interface Lane {
  worker: Worker;
  /** Bytes handed out and not hashed yet: new entries go to the lane with the least. */
  backlog: number;
}

/**
 * Worker threads that read and hash byte ranges of a plain tar on their own, so SHA-256
 * of large entries runs on every core while this thread reads only the headers (and the
 * padding) between them. One entry is hashed by one worker (SHA-256 is sequential), so the
 * gain comes from bundles of many large blobs. One message each way per entry.
 */
export class HashPool {
  private readonly lanes: Lane[] = [];
  private readonly pending = new Map<number, { lane: Lane; length: number; done: (hex: string) => void }>();
  private nextEntry = 0;
  private failure: Error | null = null;

  constructor(
    fd: number,
    threads: number,
    private readonly onFailure: (e: Error) => void,
  ) {
    for (let k = 0; k < threads; k++) {
      const worker = new Worker(WORKER_SOURCE, {
        eval: true,
        workerData: fd,
        // Little garbage is made there: a small young generation keeps the heap small.
        resourceLimits: { maxYoungGenerationSizeMb: 2 },
      });
      const lane: Lane = { worker, backlog: 0 };
      worker.on('message', (m: Reply) => this.onReply(m));
      worker.on('error', (e) => this.fail(e));
      worker.on('exit', (code) => this.fail(new Error(`hash worker exited (${code})`)));
      this.lanes.push(lane);
    }
  }

  /**
   * Hash threads for this machine: one per core but this thread's, which hashes too when
   * the workers fall behind; none on a single core.
   */
  static defaultThreads(): number {
    return Math.min(availableParallelism() - 1, 3);
  }

  /**
   * Hash `length` bytes at `position` on the least busy worker, `done` getting the digest;
   * false when every worker already has `maxBacklog` bytes waiting (or is still starting):
   * then the caller hashes the entry itself.
   */
  hash(position: number, length: number, maxBacklog: number, done: (hex: string) => void): boolean {
    if (this.failure) throw this.failure;
    let best: Lane | null = null;
    for (const l of this.lanes) if (l.backlog < maxBacklog && (!best || l.backlog < best.backlog)) best = l;
    if (!best) return false;
    const id = this.nextEntry++;
    best.backlog += length;
    this.pending.set(id, { lane: best, length, done });
    best.worker.postMessage([id, position, length]);
    return true;
  }

  private onReply([id, hex, problem]: Reply): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    p.lane.backlog -= p.length;
    if (hex !== null) p.done(hex);
    else this.fail(new RangeReadError(problem![0], problem![1]));
  }

  private fail(e: Error): void {
    if (this.failure) return;
    this.failure = e;
    this.onFailure(e);
  }

  /**
   * Stop the workers; resolves when none runs any more, so the descriptor they read may be
   * closed after.
   */
  async close(): Promise<void> {
    this.failure ??= new Error('hash pool closed');
    await Promise.all(this.lanes.map((l) => l.worker.terminate()));
  }
}

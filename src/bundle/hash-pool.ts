import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

/**
 * The worker's whole program. It is source text rather than a compiled module so the pool
 * runs the same from dist/ and from the TypeScript sources under the test runner (a worker
 * cannot load .ts files); it needs nothing but node builtins.
 *
 * In: [entry, slot, offset, length, last]: hash those bytes of shared buffer `slot` into
 * the entry's digest. Out: [slot, entry, length, hex | null] once the bytes are hashed, so the
 * reader may fill the buffer again; hex when the entry is complete.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const views = workerData.map((b) => Buffer.from(b));
const open = new Map();
parentPort.on('message', ([entry, slot, offset, length, last]) => {
  let h = open.get(entry);
  if (h === undefined) open.set(entry, (h = createHash('sha256')));
  h.update(views[slot].subarray(offset, offset + length));
  let hex = null;
  if (last) {
    hex = h.digest('hex');
    open.delete(entry);
  }
  parentPort.postMessage([slot, entry, length, hex]);
});
`;

type Reply = [slot: number, entry: number, length: number, hex: string | null];

interface Lane {
  worker: Worker;
  /** Bytes sent and not yet hashed: new entries go to the lane with the least. */
  backlog: number;
}

/**
 * Worker threads hashing entry data straight out of the shared buffers a plain tar is read
 * into: SHA-256 then runs on every core while this thread parses headers and checks
 * padding. One entry is hashed by one worker (SHA-256 is sequential), so the gain comes
 * from bundles of many large blobs. The caller keeps a buffer untouched until `onRelease`
 * says every slice of it handed out was hashed.
 */
export class HashPool {
  private readonly lanes: Lane[] = [];
  private readonly laneOf = new Map<number, Lane>();
  private readonly waiting = new Map<number, (hex: string) => void>();
  private nextEntry = 0;
  private failure: Error | null = null;

  constructor(
    buffers: readonly SharedArrayBuffer[],
    threads: number,
    private readonly onRelease: (slot: number) => void,
    private readonly onFailure: (e: Error) => void,
  ) {
    for (let k = 0; k < threads; k++) {
      const worker = new Worker(WORKER_SOURCE, {
        eval: true,
        workerData: buffers,
        // Little garbage is made there: a small young generation keeps the heap small.
        resourceLimits: { maxYoungGenerationSizeMb: 2 },
      });
      const lane: Lane = { worker, backlog: 0 };
      worker.on('message', (m: Reply) => this.onReply(lane, m));
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
   * A new entry for the least busy worker, or null when every worker has `maxBacklog`
   * bytes waiting (or still starting): then the caller hashes it itself.
   */
  begin(maxBacklog: number): number | null {
    if (this.failure) throw this.failure;
    let best: Lane | null = null;
    for (const l of this.lanes) if (l.backlog < maxBacklog && (!best || l.backlog < best.backlog)) best = l;
    if (!best) return null;
    const id = this.nextEntry++;
    this.laneOf.set(id, best);
    return id;
  }

  /** Hash `length` bytes at `offset` of buffer `slot` into entry `id`; `last` completes it. */
  update(id: number, slot: number, offset: number, length: number, last: boolean): void {
    if (this.failure) throw this.failure;
    const lane = this.laneOf.get(id)!;
    lane.backlog += length;
    lane.worker.postMessage([id, slot, offset, length, last ? 1 : 0]);
    if (last) this.laneOf.delete(id);
  }

  /** Called with the digest of entry `id` once its last bytes are hashed. */
  onDigest(id: number, done: (hex: string) => void): void {
    this.waiting.set(id, done);
  }

  private onReply(lane: Lane, [slot, id, length, hex]: Reply): void {
    lane.backlog -= length;
    this.onRelease(slot);
    if (hex !== null) {
      const done = this.waiting.get(id);
      this.waiting.delete(id);
      done?.(hex);
    }
  }

  private fail(e: Error): void {
    if (this.failure) return;
    this.failure = e;
    this.onFailure(e);
  }

  async close(): Promise<void> {
    this.failure ??= new Error('hash pool closed');
    await Promise.all(this.lanes.map((l) => l.worker.terminate()));
  }
}

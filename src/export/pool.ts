import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { errorOf, type Failure } from './failure.js';
import { runJob, type Job } from './jobs.js';

const STOPPED = 'the run was stopped before all its jobs ran';

/** From these, an export's work is worth worker threads (see JobPool.worth). */
export const THREADS_MIN_FILES = 10_000;
export const THREADS_MIN_BYTES = 256 * 1024 * 1024;

/**
 * A job made only when it is handed out: an export's 200 write jobs for 100,000 blobs took
 * 110 to 190 ms to make all at once while the pool's threads waited, and their 11 MB of
 * digests and paths lived long enough to be copied by the collector. Made as the pool
 * asks, two at a time a thread, they die young.
 */
export type LazyJob = () => Job;

const made = (job: Job | LazyJob): Job => (typeof job === 'function' ? job() : job);

/**
 * Runs export jobs on worker threads, one per core, so hashing and copying use every
 * core; or inline, when the export is too small to repay starting threads (see worth)
 * or the compiled worker is absent (running from sources under a test runner).
 * Progress is counted in shared memory so it can be read while jobs run.
 */
export class JobPool {
  private readonly tally: Float64Array;
  private readonly workers: Worker[] = [];
  private readonly inFlight = new Map<Worker, number>();
  // Message ids are the pool's, not a run's: runs may overlap (an export signs while its
  // blobs are being written), and a reply must reach the job that asked.
  private nextId = 0;

  private constructor(threads: number) {
    this.tally = new Float64Array(new SharedArrayBuffer(16 * (threads + 1)));
    const url = new URL('./worker.js', import.meta.url);
    for (let slot = 0; slot < threads; slot++) {
      // Workers make little garbage; a small young generation keeps their heaps from
      // growing to V8's default before the first scavenge (flat memory at any size).
      const w = new Worker(url, {
        workerData: { counters: this.tally.buffer, slot: slot + 1 },
        resourceLimits: { maxYoungGenerationSizeMb: 4 },
      });
      w.unref();
      this.workers.push(w);
    }
  }

  /**
   * Threads for a workload: none for small ones. `threads`, when given, overrides the
   * choice (0: this thread only); there are none either way without the compiled worker.
   */
  static create(files: number, bytes: number, threads?: number): JobPool {
    if (threads !== undefined && Number.isFinite(threads)) {
      return new JobPool(JobPool.compiled() ? Math.min(Math.max(0, Math.floor(threads)), 8) : 0);
    }
    return new JobPool(JobPool.worth(files, bytes) ? JobPool.threadsHere() : 0);
  }

  /**
   * Whether a workload repays starting threads. A thread's start costs about a tenth of a
   * second of this machine's two cores (a new engine instance, and its memory's first
   * touches), so the bar is high: it sits where the two are about even, the gain growing
   * beyond. Measured with the command, median of 4 interleaved runs, this thread only
   * against threads: 600 files of 1 KiB 0.44 s against 0.68 s, 5,000 0.76 s against
   * 0.95 s, 10,000 1.05 s against 1.10 s, 20,000 1.89 s against 1.70 s; 64 files of 1 MiB
   * 0.64 s against 0.76 s, 256 of them 1.07 s against 1.11 s, 512 2.12 s against 1.54 s.
   */
  static worth(files: number, bytes: number): boolean {
    return files >= THREADS_MIN_FILES || bytes >= THREADS_MIN_BYTES;
  }

  /**
   * Threads for a workload known to be worth them before it is fully listed: they boot
   * while the caller goes on walking the inputs.
   */
  static early(): JobPool {
    return new JobPool(JobPool.threadsHere());
  }

  private static threadsHere(): number {
    const cores = availableParallelism();
    return JobPool.compiled() && cores > 1 ? Math.min(cores, 8) : 0;
  }

  private static compiled(): boolean {
    return existsSync(fileURLToPath(new URL('./worker.js', import.meta.url)));
  }

  get threads(): number {
    return this.workers.length;
  }

  /** Work done on this thread, counted with the pool's. */
  count(bytes: number, files: number): void {
    this.tally[0] = this.tally[0]! + bytes;
    this.tally[1] = this.tally[1]! + files;
  }

  /** Bytes and files done so far, over all jobs this pool ran. */
  done(): { bytes: number; files: number } {
    let bytes = 0;
    let files = 0;
    for (let k = 0; k < this.tally.length; k += 2) {
      bytes += this.tally[k]!;
      files += this.tally[k + 1]!;
    }
    return { bytes, files };
  }

  /**
   * Run jobs, results in job order. After a failure, or once `stop` says so, no new job
   * starts, but those in flight are awaited: a write job must not outlive the file
   * descriptor it writes to. Runs may overlap. A job may be given as a function that
   * makes it, called when the job is handed out (see LazyJob). `onResult` sees each
   * job's result as it comes, in whatever order the jobs end (an export reads a hashing
   * job's results while the threads go on): its throwing is the run's failure.
   */
  async run<T>(jobs: readonly (Job | LazyJob)[], stop: () => boolean = () => false, onResult?: (result: T, k: number) => void): Promise<T[]> {
    const results: T[] = new Array(jobs.length);
    let failure: unknown = null;
    if (this.workers.length === 0) {
      const progress = (b: number, f: number) => this.count(b, f);
      for (let k = 0; k < jobs.length; k++) {
        if (stop()) throw new Error(STOPPED);
        results[k] = (await runJob(made(jobs[k]!), progress)) as T;
        onResult?.(results[k], k);
        // Let timers (progress display) run between batches.
        await new Promise((r) => setImmediate(r));
      }
      return results;
    }
    let next = 0;
    // Two jobs of a run in flight per thread: the next one is already queued at the thread
    // when a job ends, so it never waits for this thread to hand it out while this thread
    // runs something long and synchronous (writing the metadata).
    const lanes = this.workers.flatMap((w) => [w, w]);
    await Promise.all(
      lanes.map(async (w) => {
        while (failure === null && next < jobs.length) {
          if (stop()) {
            failure = new Error(STOPPED);
            break;
          }
          const k = next++;
          try {
            results[k] = (await this.send(w, made(jobs[k]!))) as T;
            onResult?.(results[k], k);
          } catch (e) {
            failure ??= e;
          }
        }
      }),
    );
    if (failure !== null) throw failure;
    return results;
  }

  private send(w: Worker, job: Job): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const cleanup = () => {
        w.off('message', onMessage);
        w.off('error', onError);
        w.off('exit', onExit);
      };
      const onMessage = (m: { id: number; result?: unknown; error?: Failure }) => {
        if (m.id !== id) return;
        cleanup();
        if (!m.error) resolve(m.result);
        else reject(errorOf(m.error));
      };
      const onError = (e: Error) => {
        cleanup();
        reject(e);
      };
      const onExit = (code: number) => {
        cleanup();
        reject(new Error(`export worker exited (${code})`));
      };
      w.on('message', onMessage);
      w.on('error', onError);
      w.on('exit', onExit);
      // Referenced while any job of its is in flight, so the process waits for them.
      if (this.inFlight.set(w, (this.inFlight.get(w) ?? 0) + 1).get(w) === 1) w.ref();
      // The message to sign (tens of MB for a large manifest) moves instead of being
      // copied, when it owns its memory and nothing else here reads it again.
      const m = job.kind === 'sign' ? job.message : null;
      const movable = m && m.byteOffset === 0 && m.byteLength === m.buffer.byteLength && m.buffer instanceof ArrayBuffer;
      w.postMessage({ id, job }, movable ? [m.buffer as ArrayBuffer] : []);
    }).finally(() => {
      const left = this.inFlight.get(w)! - 1;
      this.inFlight.set(w, left);
      if (left === 0) w.unref();
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

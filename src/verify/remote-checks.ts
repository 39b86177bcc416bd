import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { TrustFileData } from '../trust/trust-file.js';
import type { CheckOptions, Seen } from './checks.js';
import type { VerifyReport } from './report.js';

/** What crosses to the worker: options without the TrustStore class, which does not clone. */
export interface RemoteInit {
  opts: Omit<CheckOptions, 'trust'>;
  trust: TrustFileData | null;
}

export type ToWorker =
  | { t: 'file'; name: string; audit: boolean; bytes: Uint8Array }
  | { t: 'entries'; names: string; digests: string; sizes: Float64Array }
  | { t: 'finish' };

export type FromWorker = { report: VerifyReport } | { error: string };

/** Entries per message: few messages, none of them large. */
const BATCH = 4096;
const WORKER_URL = new URL('./checks-worker.js', import.meta.url);

/**
 * BundleChecks on a worker thread, fed while the archive is read: the metadata files as
 * soon as each is complete, so parsing the statement, checking its canonical form and
 * schema and the signatures (seconds for a manifest of 100,000 artifacts) overlaps with
 * hashing the blobs here; the entries in batches; at the end only the cross-checks remain.
 * Only the report comes back (cloning the statement back would cost what was saved).
 * The compiled worker exists only under dist/: from the sources there is no remote.
 */
export class RemoteChecks {
  private readonly worker: Worker;
  private names: string[] = [];
  private digests: string[] = [];
  private sizes: number[] = [];
  private failed: Error | null = null;
  /** Workers started in this process (tests tell the remote path from the inline one by it). */
  static started = 0;

  private constructor(init: RemoteInit) {
    RemoteChecks.started++;
    this.worker = new Worker(WORKER_URL, { workerData: init });
    this.worker.unref();
    this.worker.on('error', (e) => (this.failed ??= e));
  }

  static start(opts: CheckOptions): RemoteChecks | null {
    if (!existsSync(fileURLToPath(WORKER_URL))) return null;
    const { trust, ...rest } = opts;
    return new RemoteChecks({ opts: rest, trust: trust ? trust.data : null });
  }

  file(name: string, bytes: Buffer, audit: boolean): void {
    this.post({ t: 'file', name, audit, bytes });
  }

  entry(name: string, seen: Seen): void {
    this.names.push(name);
    this.digests.push(seen.sha256);
    this.sizes.push(seen.size);
    if (this.names.length >= BATCH) this.flush();
  }

  private flush(): void {
    if (this.names.length === 0) return;
    // Entry names hold no control characters (unsafeNameReason), so a newline separates them.
    const sizes = Float64Array.from(this.sizes);
    this.post({ t: 'entries', names: this.names.join('\n'), digests: this.digests.join(''), sizes }, [sizes.buffer]);
    this.names = [];
    this.digests = [];
    this.sizes = [];
  }

  private post(m: ToWorker, transfer: ArrayBuffer[] = []): void {
    if (!this.failed) this.worker.postMessage(m, transfer);
  }

  /** The report, or null when the worker failed (the caller then checks on this thread). */
  async finish(): Promise<VerifyReport | null> {
    this.flush();
    if (this.failed) return null;
    const w = this.worker;
    w.ref();
    try {
      return await new Promise<VerifyReport | null>((resolve) => {
        w.once('message', (m: FromWorker) => resolve('report' in m ? m.report : null));
        w.once('error', () => resolve(null));
        w.once('exit', () => resolve(null));
        w.postMessage({ t: 'finish' } satisfies ToWorker);
      });
    } finally {
      w.unref();
    }
  }

  close(): Promise<number> {
    return this.worker.terminate();
  }
}

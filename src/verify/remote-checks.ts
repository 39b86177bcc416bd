import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { TrustFileData } from '../trust/trust-file.js';
import type { CheckOptions, EnvelopeRead, Seen, SignatureChecked } from './checks.js';
import type { VerifyReport } from './report.js';

/**
 * What crosses to a worker: options without the TrustStore class, which does not clone.
 * role 'checks' runs BundleChecks; 'envelope' only reads the DSSE envelope.
 */
export interface RemoteInit {
  role: 'checks' | 'envelope';
  opts: Omit<CheckOptions, 'trust'>;
  trust: TrustFileData | null;
}

export type ToWorker =
  | { t: 'file'; name: string; audit: boolean; bytes: Uint8Array }
  | { t: 'entries'; names: string; digests: string; sizes: Float64Array }
  | { t: 'envelope-elsewhere' }
  | { t: 'envelope-read'; read: EnvelopeRead; checked: SignatureChecked[] }
  | { t: 'finish' };

export type FromWorker = { report: VerifyReport } | { envelope: EnvelopeRead; checked: SignatureChecked[] } | { error: string };

/** Entries per message: few messages, none of them large. */
const BATCH = 4096;
const WORKER_URL = new URL('./checks-worker.js', import.meta.url);

/**
 * BundleChecks on a worker thread, fed while the archive is read: the metadata files as
 * soon as each is complete, so parsing the statement, checking its canonical form and
 * schema and the signatures (seconds for a manifest of 100,000 artifacts) overlaps with
 * reading and hashing the entries here; the entries in batches; at the end only the
 * cross-checks remain. A large envelope is read on a second worker meanwhile (its strict
 * parse and base64 decoding cost about what the statement's parse does), which also checks
 * the signatures against the keys they name, and hands both over.
 * Only the report comes back (cloning the statement back would cost what was saved).
 * The compiled worker exists only under dist/: from the sources there is no remote.
 */
export class RemoteChecks {
  private readonly checks: Worker;
  private envelope: Worker | null = null;
  /** Settles when the envelope worker answered or failed. */
  private envelopeDone: Promise<void> = Promise.resolve();
  private names: string[] = [];
  private digests: string[] = [];
  private sizes: number[] = [];
  private failed: Error | null = null;
  /** Workers started in this process (tests tell the remote path from the inline one by it). */
  static started = 0;

  private constructor(private readonly init: Omit<RemoteInit, 'role'>) {
    this.checks = RemoteChecks.spawn({ ...init, role: 'checks' });
    this.checks.on('error', (e) => (this.failed ??= e));
  }

  private static spawn(init: RemoteInit): Worker {
    RemoteChecks.started++;
    const w = new Worker(WORKER_URL, { workerData: init });
    w.unref();
    return w;
  }

  static start(opts: CheckOptions): RemoteChecks | null {
    if (!existsSync(fileURLToPath(WORKER_URL))) return null;
    const { trust, ...rest } = opts;
    return new RemoteChecks({ opts: rest, trust: trust ? trust.data : null });
  }

  /** The envelope is coming: read it on a worker of its own. Before its bytes are passed. */
  readEnvelopeApart(): void {
    if (this.envelope || this.failed) return;
    const w = RemoteChecks.spawn({ ...this.init, role: 'envelope' });
    this.envelope = w;
    this.post({ t: 'envelope-elsewhere' });
    this.envelopeDone = new Promise<void>((resolve) => {
      w.once('message', (m: FromWorker) => {
        // Without an answer the checks worker reads the envelope itself, from its bytes.
        if ('envelope' in m) {
          const payload = typeof m.envelope === 'string' ? null : m.envelope.payload;
          this.post({ t: 'envelope-read', read: m.envelope, checked: m.checked }, payload ? [payload.buffer as ArrayBuffer] : []);
        }
        resolve();
      });
      w.once('error', () => resolve());
      w.once('exit', () => resolve());
    });
  }

  file(name: string, bytes: Buffer, audit: boolean, envelope: boolean): void {
    this.post({ t: 'file', name, audit, bytes });
    if (envelope && this.envelope) this.envelope.postMessage({ t: 'file', name, audit, bytes } satisfies ToWorker);
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
    if (!this.failed) this.checks.postMessage(m, transfer);
  }

  /** The report, or null when the worker failed (the caller then checks on this thread). */
  async finish(): Promise<VerifyReport | null> {
    this.flush();
    const w = this.checks;
    w.ref();
    try {
      this.envelope?.ref();
      await this.envelopeDone;
      if (this.failed) return null;
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

  async close(): Promise<void> {
    await Promise.all([this.checks.terminate(), this.envelope?.terminate()]);
  }
}

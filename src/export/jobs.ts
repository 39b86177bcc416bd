import { classify, CLASSIFY_MAX_BYTES, classifyWantsContent } from '../evidence/classify.js';
import { writeEntriesSync, type PlacedEntry } from './blob-copy.js';
import { hashFileSync } from './read-file.js';
import { blobPath } from '../bundle/layout.js';
import { KEEP_MAX_FILE, keepable, SpillBatch, type KeptStore, type SpillTarget } from './spill.js';
import { fedRuns } from '../util/feed.js';

/**
 * The kinds of work an export hands out, in batches, to worker threads (or runs inline
 * for small exports). Plain data in, plain data out: they cross thread borders.
 */
export interface HashTask {
  name: string;
  path: string;
  viaLink?: boolean;
}

/**
 * A hashing job's results, in its files' order: each file's digest and size, its
 * classification, and the place in the store (see spill.ts) of the bytes this pass read
 * (-1: the file is to be read again). Compact: an object a file (a large export's batches
 * hold 128), cloned out of one thread and into another, cost an export of 100,000 files
 * about 0.1 s more than strings and a few typed arrays (a microbenchmark of the messages
 * alone). The digests come as separate strings, not cut from one: a cut string is a view
 * of it, and the main thread's comparisons and checks of 100,000 such views took twice as
 * long (0.15 s more). The caller makes each artifact, with strings it holds for the kind,
 * media type, name and tenant: a thread's result would carry its own copy of each (two
 * strings a file deserialised and looked up cost an export of 100,000 files about 0.1 s).
 */
export interface HashedBatch {
  /** The files' SHA-256 digests, in hex. */
  digests: string[];
  sizes: Float64Array;
  keptAt: Float64Array;
  /** The batch's distinct classifications, each once. */
  types: { kind: string; mediaType: string }[];
  /** Each file's, as an index into `types`. */
  typeOf: Uint16Array;
}

/**
 * Blobs to write one after another, each from a file or the spill, compactly: an export
 * hands out 100,000 of them, and a message of a few strings and numbers costs a fraction
 * of one with an object and a name per blob (copied out of one thread and into another).
 */
export interface BlobRun {
  /** Their digests, 64 hex digits each, one after another. */
  digests: string;
  /** Their files' paths, a NUL after each (no path holds one); empty for a blob kept in the spill. */
  paths: string;
  sizes: Float64Array;
  /** Which of them are reached through a symbolic link the user asked to follow. */
  viaLink: number[];
  /** Where kept copies are, and each one's place there (-1: read from its file), when any is kept. */
  kept: { store: KeptStore; at: Float64Array } | null;
}

/** Gathers blobs into BlobRuns, one run at a time. */
export class BlobRunBuilder {
  private digests: string[] = [];
  private paths: string[] = [];
  private sizes: number[] = [];
  private viaLink: number[] = [];
  private kept: number[] = [];
  private anyKept = false;
  /** Bytes of content in the run so far. */
  bytes = 0;

  /** `store`: where the blobs' kept places are, if anywhere. */
  constructor(private readonly store: KeptStore | null = null) {}

  get length(): number {
    return this.sizes.length;
  }

  /** `path` may be empty for a blob kept in the store (at place `keptAt`), which is not read from it. */
  add(sha256: string, path: string, size: number, viaLink: boolean, keptAt = -1): void {
    // The export's digests are checked by its checksum list, and each again against the
    // content it names; here only the length matters, to keep the run's parts in step.
    if (sha256.length !== 64 || path.includes('\0')) throw new Error(`blob ${sha256} cannot be sent as given`);
    if (keptAt >= 0 && this.store === null) throw new Error(`blob ${sha256} is kept in no spill`);
    if (keptAt < 0 && path === '') throw new Error(`blob ${sha256} has neither a file nor a kept copy`);
    if (viaLink) this.viaLink.push(this.sizes.length);
    this.kept.push(keptAt);
    if (keptAt >= 0) this.anyKept = true;
    this.digests.push(sha256);
    this.paths.push(path);
    this.sizes.push(size);
    this.bytes += size;
  }

  /** The run gathered so far; the builder starts a new one. */
  take(): BlobRun {
    if (this.sizes.length === 0) throw new Error('an empty blob run');
    const run: BlobRun = {
      digests: this.digests.join(''),
      paths: this.paths.join('\0') + '\0',
      sizes: Float64Array.from(this.sizes),
      viaLink: this.viaLink,
      kept: this.anyKept ? { store: this.store!, at: Float64Array.from(this.kept) } : null,
    };
    this.digests = [];
    this.paths = [];
    this.sizes = [];
    this.viaLink = [];
    this.kept = [];
    this.anyKept = false;
    this.bytes = 0;
    return run;
  }
}

/** The entries a BlobRun stands for, named blobs/sha256/<digest>. */
export function blobRunEntries(run: BlobRun): PlacedEntry[] {
  const out: PlacedEntry[] = new Array(run.sizes.length);
  const links = new Set(run.viaLink);
  let at = 0;
  for (let k = 0; k < out.length; k++) {
    const end = run.paths.indexOf('\0', at);
    if (end < 0) throw new Error('a blob run holds fewer paths than sizes');
    const sha256 = run.digests.slice(64 * k, 64 * k + 64);
    const e: PlacedEntry = { name: blobPath(sha256), size: run.sizes[k]!, mode: 0o644, sha256, path: run.paths.slice(at, end), viaLink: links.has(k) };
    const keptAt = run.kept?.at[k] ?? -1;
    if (keptAt >= 0) e.kept = { store: run.kept!.store, at: keptAt };
    out[k] = e;
    at = end + 1;
  }
  if (
    at !== run.paths.length ||
    run.digests.length !== 64 * out.length ||
    run.viaLink.some((k) => !(k >= 0 && k < out.length)) ||
    (run.kept !== null && run.kept.at.length !== out.length)
  ) {
    throw new Error('a blob run\'s parts disagree in length');
  }
  return out;
}

export type Job =
  // `spill`: keep the bytes of small files read, for the writing pass.
  | { kind: 'hash'; files: HashTask[]; spill?: SpillTarget | undefined }
  | { kind: 'write'; fd: number; position: number; mtimeSec: number; entries: PlacedEntry[] | BlobRun }
  // Ed25519 with a pure-JS SHA-512 over a large manifest takes about a second: on a
  // pool thread it runs while the other threads write the blobs. The pool moves
  // `message` to the thread when it owns its memory: the caller must not read it
  // afterwards. Shared memory is never moved (the export's message is shared, and read on).
  // With `feed`, the message is in shared memory another thread is still writing (see
  // util/feed.ts): the first pass hashes it as it is published.
  | { kind: 'sign'; message: Uint8Array; signers: Signer[]; feed?: SharedArrayBuffer | undefined };

/** A key to sign with: its seed, and the public key the bundle names, which must match. */
export interface Signer {
  seed: Uint8Array;
  publicKey: Uint8Array;
}

export type Progress = (bytes: number, files: number) => void;

export async function runJob(job: Job, progress: Progress): Promise<HashedBatch | Uint8Array[] | number> {
  if (job.kind === 'write') {
    const entries = Array.isArray(job.entries) ? job.entries : blobRunEntries(job.entries);
    return writeEntriesSync(job.fd, job.position, entries, job.mtimeSec, progress);
  }
  if (job.kind === 'sign') {
    // Loaded on first use: a third of a worker's start-up otherwise, for one job.
    const { Ed25519Signing } = await import('../crypto/ed25519.js');
    const signing = job.signers.map((k) => new Ed25519Signing(k.seed, k.publicKey));
    for (const run of job.feed ? fedRuns(job.message, job.feed) : [job.message]) for (const s of signing) s.update(run);
    return signing.map((s) => s.finish(job.message));
  }
  const digests: string[] = new Array(job.files.length);
  const sizes = new Float64Array(job.files.length);
  const keptAt = new Float64Array(job.files.length);
  const keep = job.spill ? new SpillBatch(job.spill) : null;
  const types: HashedBatch['types'] = [];
  const typeOf = new Uint16Array(job.files.length);
  job.files.forEach((f, k) => {
    const r = hashFileSync(f.path, CLASSIFY_MAX_BYTES, (head) => classifyWantsContent(f.name, head), f.viaLink, keep ? KEEP_MAX_FILE : -1);
    const c = classify(f.name, r.content);
    // A handful of classifications in a batch: found by a scan.
    let t = types.findIndex((x) => x.kind === c.kind && x.mediaType === c.mediaType);
    if (t < 0) t = types.push({ kind: c.kind, mediaType: c.mediaType }) - 1;
    typeOf[k] = t;
    digests[k] = r.sha256;
    sizes[k] = r.size;
    // A place in the batch for now; a place in the store once the batch is stored.
    keptAt[k] = keep !== null && r.content !== null && keepable(r) ? keep.add(r.content) : -1;
    progress(r.size, 1);
  });
  if (keep !== null) {
    const ats = keep.settle();
    for (let k = 0; k < keptAt.length; k++) if (keptAt[k]! >= 0) keptAt[k] = ats[keptAt[k]!]!;
  }
  return { digests, sizes, keptAt, types, typeOf };
}

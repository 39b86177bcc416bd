import { existsSync, fdatasync, fstatSync, fsyncSync, statSync } from 'node:fs';
import { integrityError, usageError } from '../errors.js';
import { AtomicFile } from '../util/atomic-file.js';
import { requireTenantId, type Scope } from '../util/tenant.js';
import { bundleTimeOf } from '../util/time.js';
import { TOOL_NAME, TOOL_VERSION } from '../version.js';
import { paced, PacedStop } from '../util/paced.js';
import { FeedMark } from '../util/feed.js';
import { PiecesDigest, SHA256_HEX, sha256Hex } from '../crypto/sha256.js';
import { spkiPem, type SigningKey } from '../crypto/keys.js';
import { envelopeTemplate, IN_TOTO_PAYLOAD_TYPE, PaeBuilder, type EnvelopeTemplate } from '../crypto/dsse.js';
import { sign, SIGNATURE_BYTES } from '../crypto/ed25519.js';
import { ChecksumList } from '../bundle/checksums.js';
import { amongBlobs, blobPath, CHECKSUMS, ENVELOPE, keyPath, MANIFEST, placeAmongBlobs, VERIFY_DOC, VERIFY_SCRIPT } from '../bundle/layout.js';
import { END_OF_ARCHIVE, entryHeaderLength, entrySpan, TarWriter } from '../bundle/tar-writer.js';
import { VERIFY_MD } from '../bundle/verify-doc.js';
import { VERIFY_SH } from '../bundle/verify-script.js';
import {
  ArtifactsLength,
  computeTotals,
  PREDICATE_TYPE,
  STATEMENT_TYPE,
  statementLength,
  statementText,
  type Artifact,
  type EvidencePredicate,
  type Statement,
} from '../manifest/statement.js';
import type { Authorization } from '../authority/record.js';
import { collectInputs, type InputFile } from './collect.js';
import { InputReadError, readVerified } from './read-file.js';
import { materialized, writeEntriesSync, type PlacedEntry } from './blob-copy.js';
import { writeAll } from '../util/write-all.js';
import { BlobRunBuilder, type HashedBatch, type Job, type Signer } from './jobs.js';
import { JobPool, THREADS_MIN_FILES, type LazyJob } from './pool.js';
import { ARENA_MAX_BYTES, closeSpill, KEEP_MAX_FILE, openSpill, type KeptStore } from './spill.js';
import { DistinctKeys, distinctSorted } from './distinct.js';

export interface ExportOptions {
  tenant: string;
  keys: readonly SigningKey[];
  out: string;
  inputs: readonly string[];
  createdAt: string;
  scope?: Scope;
  force?: boolean;
  followSymlinks?: boolean;
  /** undefined: decide by the output name (.tar.gz/.tgz compresses). */
  gzipLevel?: number | undefined;
  /** Recorded in the signed predicate; omitted, the manifest says nothing about authorization. */
  authorization?: Authorization | undefined;
  /** Called every ~100 ms during long work, and at the end of each phase. */
  onProgress?: ((p: ExportProgress) => void) | undefined;
  /**
   * Worker threads that hash and copy (0: none). Left out, one per core when the export
   * repays starting them (10,000 files, or 256 MiB), else none.
   */
  threads?: number | undefined;
  /**
   * At most this many bytes of small settled inputs are kept in memory for the writing
   * pass (default ARENA_MAX_BYTES; 0: none); beyond, in a temporary file beside the output.
   */
  keepInMemory?: number | undefined;
}

/** `hash`: first pass over the inputs; `write`: the archive being written. */
export interface ExportProgress {
  phase: 'hash' | 'write';
  bytes: number;
  /** Unknown in the hashing pass over many files (sizes come from reading them). */
  totalBytes: number | undefined;
  files: number;
  totalFiles: number;
}

export interface ExportResult {
  out: string;
  tenant: string;
  createdAt: string;
  manifestSha256: string;
  bundleBytes: number;
  artifacts: number;
  blobs: number;
  bytes: number;
  signers: string[];
}

/** Stands for the checksum list's digest while the manifest is only measured: any 64 hex digits take its room. */
const SIZE_ONLY_DIGEST = '0'.repeat(64);

export const isGzipName = (p: string): boolean => /\.(tar\.gz|tgz)$/i.test(p);

/**
 * Where an item's bytes come from. A file is copied by the pool's threads and re-hashed;
 * a stream (a store blob, read through the store's own checks) is written in order and
 * must throw if its bytes do not match the digest. Either way the bundle never holds
 * bytes other than those its manifest names.
 */
export type ItemSource = { path: string; viaLink?: boolean } | { read: (onChunk: (chunk: Buffer) => Promise<void>) => Promise<void> };

/** One artifact to bundle: its manifest entry (name and metadata) and its source. */
export interface ExportItem {
  artifact: Artifact;
  source: ItemSource;
}

/** Everything the shared writer needs; loose-file and store exports both end here. */
export interface BundleSpec {
  tenant: string;
  keys: readonly SigningKey[];
  out: string;
  createdAt: string;
  scope?: Scope | undefined;
  force?: boolean | undefined;
  gzipLevel?: number | undefined;
  authorization?: Authorization | undefined;
  onProgress?: ExportOptions['onProgress'];
  /** In manifest order. */
  items: readonly ExportItem[];
  /** Extra predicate members (store exports); absent ones leave the manifest unchanged. */
  predicate?: Pick<EvidencePredicate, 'selection' | 'audit' | 'crossTenant'> | undefined;
  /** Extra files, listed in checksums.sha256 (store exports: audit/<tenant>.jsonl). */
  files?: ReadonlyMap<string, Buffer> | undefined;
  /**
   * Runs once the archive is complete and durable but before it appears under its name:
   * a store export logs itself here, so no bundle exists that its audit log does not name.
   */
  beforeCommit?: ((manifestSha256: string) => Promise<void>) | undefined;
  /** As ExportOptions.threads. */
  threads?: number | undefined;
}

/**
 * Export a tenant's files as a signed bundle. Two passes over the inputs: the first
 * hashes (blob names and the manifest must be known before the first tar entry), the
 * second streams into the archive and hashes again, so an input that changed in
 * between fails the export instead of producing a bundle that contradicts its manifest.
 * Small settled files are the exception: the second pass copies the bytes the first read
 * (see spill.ts), which cannot contradict the manifest either.
 */
export async function exportBundle(opts: ExportOptions): Promise<ExportResult> {
  const tenant = requireTenantId(opts.tenant);
  bundleTimeOf(opts.createdAt);
  if (opts.keys.length === 0) throw usageError('KEY_REQUIRED', 'no signing key given: pass --key KEYFILE');
  if (!opts.force && existsSync(opts.out)) {
    throw usageError('OUTPUT_EXISTS', `output ${opts.out} already exists: choose another path or pass --force`);
  }
  // Once the walk has found enough files to be worth threads, they start booting while
  // it goes on.
  let pool: JobPool | null = null;
  const onProgress = (n: number) => {
    if (pool === null && opts.threads === undefined && JobPool.worth(n, 0)) pool = JobPool.early();
  };
  try {
    const files = collectInputs(opts.inputs, { followSymlinks: opts.followSymlinks ?? false, onProgress });
    const sizes = files.length < THREADS_MIN_FILES ? sizesOf(files) : undefined;
    const inputBytes = sizes?.reduce((a, b) => a + b, 0);
    pool ??= JobPool.create(files.length, inputBytes ?? Infinity, opts.threads);
    return await exportWith(pool, opts, tenant, files, sizes, inputBytes);
  } catch (e) {
    throw asStellaError(e);
  } finally {
    await (pool as JobPool | null)?.close();
  }
}

async function exportWith(
  pool: JobPool,
  opts: ExportOptions,
  tenant: string,
  files: readonly InputFile[],
  sizes: readonly number[] | undefined,
  inputBytes: number | undefined,
): Promise<ExportResult> {
  // Small files are read once: the hashing pass keeps their bytes for the writing pass.
  // In memory no more than the inputs could take, were all kept.
  const spill = openSpill(opts.out, undefined, Math.min(opts.keepInMemory ?? ARENA_MAX_BYTES, files.length * KEEP_MAX_FILE));
  try {
    // Pass 1: digests, sizes and kinds, in batches across the pool; small batches while
    // sizes are unknown, so one thread does not get all the large files.
    const hashJobs: Extract<Job, { kind: 'hash' }>[] = batches(files, (_, k) => sizes?.[k] ?? 0, sizes ? 512 : 128).map((b) => ({
      kind: 'hash',
      files: b.map((f) => ({ name: f.name, path: f.path, viaLink: f.viaLink === true })),
      spill: spill ?? undefined,
    }));
    // Each batch's results are taken in as they come back, while the threads hash on: the
    // items, and what the writing pass needs of all of them (the distinct contents' keys,
    // the bytes, the manifest's length), which took this thread 0.1 to 0.2 s for 100,000
    // files with both threads idle once the pass had ended.
    const keptAt = new Float64Array(files.length);
    const keptSize = new Float64Array(files.length);
    const items: ExportItem[] = new Array(files.length);
    const known = { keys: new DistinctKeys(files.length), bytes: 0, length: new ArtifactsLength() };
    // Each thread's result carries its own copy of every kind and media type string, once
    // a batch.
    const interned = new Map<string, string>();
    const intern = (s: string): string => interned.get(s) ?? (interned.set(s, s), s);
    const startOf: number[] = [];
    let start = 0;
    for (const job of hashJobs) {
      startOf.push(start);
      start += job.files.length;
    }
    if (start !== files.length) throw new Error(`${start} files in hashing jobs, ${files.length} listed`);
    const take = (batch: HashedBatch, b: number) => {
      let k = startOf[b]!;
      const want = hashJobs[b]!.files.length;
      if (batch.sizes.length !== want || batch.digests.length !== want || batch.typeOf.length !== want || batch.keptAt.length !== want) {
        throw new Error(`a hashing batch of ${want} files came back with parts of other lengths`);
      }
      keptAt.set(batch.keptAt, k);
      keptSize.set(batch.sizes, k);
      const types = batch.types.map((t) => ({ kind: intern(t.kind), mediaType: intern(t.mediaType) }));
      for (let i = 0; i < want; i++) {
        const f = files[k]!;
        const t = types[batch.typeOf[i]!]!;
        // One shape for every artifact: made with the same members in the same order.
        const a: Artifact = { kind: t.kind, mediaType: t.mediaType, name: f.name, sha256: batch.digests[i]!, size: batch.sizes[i]!, tenant };
        known.keys.set(k, a.sha256);
        known.bytes += a.size;
        known.length.add(a);
        // The input file is the source as it stands: {path, viaLink}, and its name.
        items[k++] = { artifact: a, source: f };
      }
    };
    await withProgress(pool, opts.onProgress, 'hash', inputBytes, files.length, () => pool.run<HashedBatch>(hashJobs, undefined, take));
    return await writeBundleWith(pool, { ...opts, tenant, items }, spill ? { store: { fd: spill.fd, arena: spill.arena }, at: keptAt, size: keptSize } : null, {
      distinct: known.keys.sorted(),
      bytes: known.bytes,
      length: known.length,
    });
  } finally {
    // Every job that reads it has ended: the pool's runs settle before they return.
    closeSpill(spill);
  }
}

/** Write a bundle of items that are already hashed and named (store exports). */
export async function writeBundle(spec: BundleSpec): Promise<ExportResult> {
  requireTenantId(spec.tenant);
  bundleTimeOf(spec.createdAt);
  if (spec.keys.length === 0) throw usageError('KEY_REQUIRED', 'no signing key given: pass --key KEYFILE');
  if (!spec.force && existsSync(spec.out)) {
    throw usageError('OUTPUT_EXISTS', `output ${spec.out} already exists: choose another path or pass --force`);
  }
  let bytes = 0;
  let files = 0;
  for (const it of spec.items) {
    // The caller's digests, checked before any byte is written: the checksum list checks
    // them again, but only once the pool copies, and a copy that met a malformed digest
    // first would be reported as an input that changed.
    if (!SHA256_HEX.test(it.artifact.sha256)) {
      throw new Error(`cannot bundle ${it.artifact.name}: its digest ${JSON.stringify(it.artifact.sha256)} is not 64 lowercase hex digits`);
    }
    if (!('path' in it.source)) continue;
    files++;
    bytes += it.artifact.size;
  }
  const pool = JobPool.create(files, bytes, spec.threads);
  try {
    return await writeBundleWith(pool, spec, null);
  } catch (e) {
    throw asStellaError(e);
  } finally {
    await pool.close();
  }
}

/**
 * `kept`: the store the hashing pass kept small files' bytes in, where each item's are
 * (by item, -1 for none), and every item's size: read from these arrays, not from 100,000
 * objects at random places in memory.
 */
async function writeBundleWith(
  pool: JobPool,
  spec: BundleSpec,
  kept: { store: KeptStore; at: Float64Array; size: Float64Array } | null,
  known: Known = {},
): Promise<ExportResult> {
  const opts = spec;
  const tenant = spec.tenant;
  const items = spec.items;
  const artifacts: Artifact[] = items.map((it) => it.artifact);
  // Each content once, in blob order, and the first item with it, which supplies the blob.
  const { blobs, first } = known.distinct ?? distinctSorted(artifacts.length, (k) => artifacts[k]!.sha256);
  const keptAt = (k: number): number => kept?.at[k] ?? -1;
  const sizeOfItem = kept ? (k: number) => kept.size[k]! : (k: number) => items[k]!.artifact.size;

  const signerKeys = dedupeKeys(opts.keys);
  const extras = new Map<string, Buffer>([
    [VERIFY_DOC, Buffer.from(VERIFY_MD, 'utf8')],
    [VERIFY_SCRIPT, Buffer.from(VERIFY_SH, 'utf8')],
  ]);
  for (const k of signerKeys) extras.set(keyPath(k.keyid), Buffer.from(spkiPem(k), 'utf8'));
  for (const [path, data] of spec.files ?? []) extras.set(path, data);

  const extraLines = [...extras].map(([path, data]) => ({ path, sha256: sha256Hex(data) }));
  const totals = computeTotals(artifacts, blobs.length, known.bytes);
  const subjectOf = (checksumsSha256: string): Statement['subject'] => [{ name: CHECKSUMS, digest: { sha256: checksumsSha256 } }];
  const statementWith = (checksumsSha256: string): Statement => ({
    _type: STATEMENT_TYPE,
    subject: subjectOf(checksumsSha256),
    predicateType: PREDICATE_TYPE,
    predicate: {
      tenant,
      scope: opts.scope ?? {},
      createdAt: opts.createdAt,
      exporter: { name: TOOL_NAME, version: TOOL_VERSION },
      artifacts,
      totals,
      ...(opts.authorization ? { authorization: opts.authorization } : {}),
      ...spec.predicate,
    },
  });
  // The metadata's sizes come first: they fix where every other entry lies, so the pool
  // can write those while this thread makes and writes the metadata (about half a second
  // for 100,000 files). They are reckoned, not made: any 64 hex digits give the manifest
  // its size before the checksum list's digest is known, and the list's size is
  // arithmetic. Each is checked against its size when it is made, before anything is
  // signed or the bundle gets its name.
  const checksumsSize = ChecksumList.bytesOf(blobs.length, extraLines);
  const manifestSize = statementLength(statementWith(SIZE_ONLY_DIGEST), known.length);
  const template = envelopeTemplate(IN_TOTO_PAYLOAD_TYPE, manifestSize, signerKeys.map((k) => ({ keyid: k.keyid, sigBytes: SIGNATURE_BYTES })));
  const headSizes = [
    { name: MANIFEST, size: manifestSize },
    { name: ENVELOPE, size: template.size },
    { name: CHECKSUMS, size: checksumsSize },
  ];
  const gzipLevel = opts.gzipLevel ?? (isGzipName(opts.out) ? 6 : undefined);
  // One pass over the blobs' first items: what their contents weigh, and whether each
  // comes from a file or the spill, which placing needs.
  let blobBytes = 0;
  let fromFilesOrSpill = true;
  // Indexed: iterating the typed array took 10 to 40 ms for 100,000 blobs, run once and
  // so mostly before the engine optimises the loop.
  for (let i = 0; i < first.length; i++) {
    const k = first[i]!;
    blobBytes += sizeOfItem(k);
    if (fromFilesOrSpill && keptAt(k) < 0 && !('path' in items[k]!.source)) fromFilesOrSpill = false;
  }
  const placed = gzipLevel === undefined && fromFilesOrSpill;

  // The manifest names the checksum list by digest; the list is made twice, to be hashed
  // now and written later, and never held whole (14 MB of fresh memory for 100,000 blobs,
  // which costs more to touch than the text costs to make). The signed message holds the
  // manifest's bytes: made once, in memory a signing thread shares, and the manifest
  // entry is a view of it. The manifest's artifacts come first (a signing thread hashes
  // them meanwhile, when `signAsMade` says so), then the list, then the rest of the
  // manifest, which names it. All in slices: between them this thread hands the pool its
  // next jobs, which otherwise sat idle for most of the 0.3 s this takes for 100,000
  // artifacts.
  const metadata = async (stop: () => boolean, signAsMade?: (message: Uint8Array) => (made: number) => void) => {
    const text = statementText(statementWith(SIZE_ONLY_DIGEST));
    const pae = new PaeBuilder(IN_TOTO_PAYLOAD_TYPE, manifestSize, placed);
    const madeTo = signAsMade?.(pae.message);
    madeTo?.(pae.made);
    await paced(text.artifacts, (slice) => {
      pae.write(slice);
      madeTo?.(pae.made);
    }, undefined, stop);
    // Sorted once, the blob lines are in order, and only the few other files are merged
    // in. Made here, once the pool has its jobs: the list checks every digest (30 ms for
    // 100,000 blobs) while the threads copy, and before the message to sign is whole.
    const checksumList = new ChecksumList(blobs, extraLines);
    const digest = new PiecesDigest();
    await paced(checksumList.pieces(), (slice) => digest.update(slice), undefined, stop);
    const listed = digest.result();
    if (listed.bytes !== checksumsSize) throw new Error(`${CHECKSUMS} is ${listed.bytes} bytes, ${checksumsSize} were reserved`);
    pae.write([text.rest(subjectOf(listed.sha256))]);
    madeTo?.(pae.made);
    const { message, payload } = pae.finish();
    const checksums: PlacedEntry = { name: CHECKSUMS, size: checksumsSize, mode: 0o644, sha256: listed.sha256, pieces: () => checksumList.pieces() };
    return { message, payload, checksums };
  };
  type Made = Awaited<ReturnType<typeof metadata>>;

  // Pass 2: the archive. Metadata first, then everything else in name order.
  const mtimeSec = bundleTimeOf(opts.createdAt);
  // verify.sh is executable so that GNU tar unpacks it ready to run.
  const extraEntries = [...extras].map(([name, data]): PlacedEntry => ({ name, size: data.length, mode: name === VERIFY_SCRIPT ? 0o755 : 0o644, data }));
  let totalBytes = 0;
  for (const e of [...headSizes, ...extraEntries]) totalBytes += e.size;
  totalBytes += blobBytes;
  const totalFiles = headSizes.length + extraEntries.length + blobs.length;

  const file = new AtomicFile(opts.out, 0o644, opts.force ?? false);
  try {
    const signers: Signer[] = signerKeys.map((k) => ({ seed: k.seed, publicKey: k.raw }));
    const headOf = (m: Made, envelope: Pick<PlacedEntry, 'data'> | Pick<PlacedEntry, 'pieces'>): PlacedEntry[] => [
      { name: MANIFEST, size: manifestSize, mode: 0o644, data: m.payload },
      { name: ENVELOPE, size: template.size, mode: 0o644, ...envelope },
      m.checksums,
    ];
    const made = await withProgress(pool, opts.onProgress, 'write', totalBytes, totalFiles, async (): Promise<Made> => {
      if (placed) {
        // A kept blob is copied from the spill: its item (an object among 100,000 at random
        // places in memory, and its path's text) is not read again.
        const addBlob = (run: BlobRunBuilder, i: number) => {
          const k = first[i]!;
          const at = keptAt(k);
          if (at >= 0) return run.add(blobs[i]!, '', sizeOfItem(k), false, at);
          const { source, artifact } = items[k]!;
          if (!('path' in source)) throw new Error('a blob to place has no file');
          run.add(blobs[i]!, source.path, artifact.size, source.viaLink === true);
        };
        let m: Made | null = null;
        const sizeOf = (i: number) => sizeOfItem(first[i]!);
        const body = (at: number) => bodyJobs(file.fd, at, mtimeSec, blobs, sizeOf, addBlob, extraEntries, kept?.store ?? null);
        await writePlaced(pool, file.fd, headSizes, body, mtimeSec, signers, template, async (stop, signAsMade) => {
          const got = await metadata(stop, signAsMade);
          m = got;
          return { message: got.message, head: headOf(got, { pieces: () => template.pieces(got.payload) }) };
        });
        return m!;
      }
      const streams = new Map<string, (onChunk: (chunk: Buffer) => Promise<void>) => Promise<void>>();
      const blobEntries = blobs.map((hex, i): PlacedEntry => {
        const k = first[i]!;
        const { source, artifact } = items[k]!;
        const name = blobPath(hex);
        if ('path' in source) {
          const e: PlacedEntry = { name, size: artifact.size, mode: 0o644, sha256: hex, path: source.path, viaLink: source.viaLink === true };
          if (keptAt(k) >= 0) e.kept = { store: kept!.store, at: keptAt(k) };
          return e;
        }
        streams.set(name, source.read);
        return { name, size: artifact.size, mode: 0o644, sha256: hex };
      });
      const rest = amongBlobs(blobEntries, placeAmongBlobs(blobs, extraEntries, (e) => e.name));
      const m = await metadata(() => false);
      const envelope = template.fill(m.payload, signers.map((k) => sign(m.message, k.seed, k.publicKey)));
      await writeSequential(pool, file.fd, gzipLevel, [...headOf(m, { data: envelope }), ...rest], mtimeSec, streams);
      return m;
    });
    const manifestSha256 = sha256Hex(made.payload);
    const bundleBytes = fstatSync(file.fd).size;
    if (spec.beforeCommit) {
      fsyncSync(file.fd);
      await spec.beforeCommit(manifestSha256);
    }
    file.commit();
    return {
      out: opts.out,
      tenant,
      createdAt: opts.createdAt,
      manifestSha256,
      bundleBytes,
      artifacts: totals.artifacts,
      blobs: totals.blobs,
      bytes: totals.bytes,
      signers: signerKeys.map((k) => k.keyid),
    };
  } catch (e) {
    file.abort();
    throw e;
  }
}

/**
 * What the hashing pass of an export of files worked out as it went, for the items it
 * gives in the same order: the distinct contents (as distinctSorted), the sum of their
 * sizes, and the length of the manifest's artifacts. Anything left out is worked out
 * from the items.
 */
interface Known {
  distinct?: { blobs: string[]; first: Int32Array };
  bytes?: number;
  length?: ArtifactsLength;
}

/** Whether a batch of jobs' work is big enough to amortise a message: about 8 MiB, or `most` files. */
const batchFull = (files: number, bytes: number, most = 512): boolean => files >= most || bytes >= 8 << 20;

/** Consecutive runs of about 8 MiB or `most` files. */
function batches<T>(items: readonly T[], sizeOf: (t: T, k: number) => number, most = 512): T[][] {
  const out: T[][] = [];
  let cur: T[] = [];
  let bytes = 0;
  for (let k = 0; k < items.length; k++) {
    const it = items[k]!;
    cur.push(it);
    bytes += sizeOf(it, k);
    if (batchFull(cur.length, bytes, most)) {
      out.push(cur);
      cur = [];
      bytes = 0;
    }
  }
  if (cur.length) out.push(cur);
  return out;
}

/**
 * Plain tar: every size is known, so every entry's offset is too. The pool writes runs
 * of entries at their offsets in parallel (reading, re-hashing and writing on every
 * core) while this thread makes the metadata, whose sizes were reserved, and one pool
 * thread hashes the message to sign as it is made (`metadata` calls `signAsMade` with
 * it, when given, and publishes how much is made); then that thread finishes the
 * signatures while this one writes the metadata at the start, the envelope with room for
 * the signatures, which go in last. `metadata` gives the message to sign and the head's
 * entries, in `headSizes` order.
 */
async function writePlaced(
  pool: JobPool,
  fd: number,
  headSizes: readonly { name: string; size: number }[],
  body: (position: number) => { jobs: (Job | LazyJob)[]; ends: number[]; end: number },
  mtimeSec: number,
  signers: Signer[],
  envelope: EnvelopeTemplate,
  metadata: (stop: () => boolean, signAsMade?: (message: Uint8Array) => (made: number) => void) => Promise<{ message: Uint8Array; head: PlacedEntry[] }>,
): Promise<void> {
  const span = (e: { name: string; size: number }) => entrySpan(entryHeaderLength(e.name), e.size);
  let pos = 0;
  for (const e of headSizes) pos += span(e);
  const firstAfterHead = pos;
  const { jobs, ends, end } = body(firstAfterHead);
  pos = end;
  let headError: unknown = null;
  // Once the metadata has failed, the bundle is lost: no further blobs are copied.
  const copying = pool.run<number>(jobs, () => headError !== null);
  // Settled below, once the metadata is written; once a copy has failed, the bundle is
  // lost, and the metadata stops between slices (nor is it signed).
  let copyFailed = false;
  copying.catch(() => {
    copyFailed = true;
  });
  const flusher = new Flusher(fd);
  let signing: Promise<Uint8Array[][]> | null = null;
  const startSigning = (message: Uint8Array, feed?: FeedMark) => {
    // Shared, so the signing thread reads it where it lies, and the manifest entry (a
    // view of it) is still readable here. Moved instead, it would be gone from here.
    if (!(message.buffer instanceof SharedArrayBuffer)) throw new Error('the message to sign is not in shared memory');
    signing = pool.run<Uint8Array[]>([{ kind: 'sign', message, signers, feed: feed?.shared }]);
    signing.catch(() => undefined);
  };
  // With threads, one of them signs as the message is made (see Ed25519Signing): the
  // first of its two passes runs alongside the making instead of after it. Not on this
  // thread, which would wait on itself.
  const fed: { mark: FeedMark | null } = { mark: null };
  const signAsMade =
    pool.threads > 0
      ? (message: Uint8Array) => {
          const mark = new FeedMark(message.length);
          startSigning(message, mark);
          fed.mark = mark;
          return (made: number) => mark.publish(made);
        }
      : undefined;
  try {
    const { message, head } = await metadata(() => copyFailed, signAsMade);
    if (copyFailed) throw new PacedStop();
    if (signing === null) startSigning(message);
    // The pool writes from where the head is reserved to the end: it must end there.
    const headEnd = writeEntriesSync(fd, 0, head, mtimeSec, (b, f) => pool.count(b, f));
    if (headEnd !== firstAfterHead) throw new Error(`the metadata ends at ${headEnd}, ${firstAfterHead} was reserved`);
    writeAll(fd, Buffer.alloc(END_OF_ARCHIVE), pos);
  } catch (e) {
    headError = e;
    // The signing thread waits for the rest of a message that will not come.
    fed.mark?.abandon();
  }
  // Every job in flight has ended, whatever failed, before the descriptor can be closed.
  const [copied, signed] = await Promise.allSettled([copying, signing ?? Promise.resolve([])]);
  await flusher.stop();
  // A copy's failure (an input that changed) comes first when it stopped the metadata.
  if (copied.status === 'rejected' && headError instanceof PacedStop) throw copied.reason;
  if (headError) throw headError;
  if (copied.status === 'rejected') throw copied.reason;
  if (signed.status === 'rejected') throw signed.reason;
  // Each job ends where the next was placed: else entries overlap, or leave a gap.
  copied.value.forEach((at, k) => {
    if (at !== ends[k]) throw new Error(`write job ${k} ends at ${at}, ${ends[k]} was planned`);
  });
  let envelopeAt = 0;
  for (const e of headSizes) {
    if (e.name === ENVELOPE) break;
    envelopeAt += span(e);
  }
  envelopeAt += entryHeaderLength(ENVELOPE);
  for (const s of envelope.signaturesAt(signed.value[0]!)) writeAll(fd, s.bytes, envelopeAt + s.at);
}

/**
 * Write jobs for everything after the metadata, from `position`: the blobs (sorted
 * digests, each from a file or the spill) in compact runs, each made when the pool hands
 * it out; and the few other entries, each group at its place among them by name. Returns
 * the jobs, where each one is to end, and where the last one does.
 */
function bodyJobs(
  fd: number,
  position: number,
  mtimeSec: number,
  blobs: readonly string[],
  sizeOf: (blob: number) => number,
  addBlob: (run: BlobRunBuilder, blob: number) => void,
  others: readonly PlacedEntry[],
  store: KeptStore | null,
): { jobs: (Job | LazyJob)[]; ends: number[]; end: number } {
  const { sorted, places } = placeAmongBlobs(blobs, others, (e) => e.name);
  const jobs: (Job | LazyJob)[] = [];
  const ends: number[] = [];
  let pos = position;
  // The blobs from `runFrom` on, `runCount` of them and `runBytes` of content, whose run
  // is made when the pool hands it out.
  let runFrom = 0;
  let runCount = 0;
  let runBytes = 0;
  let runAt = pos;
  const endRun = () => {
    if (runCount === 0) return;
    const from = runFrom;
    const to = from + runCount;
    const at = runAt;
    jobs.push((): Job => {
      const run = new BlobRunBuilder(store);
      for (let i = from; i < to; i++) addBlob(run, i);
      return { kind: 'write', fd, position: at, mtimeSec, entries: run.take() };
    });
    ends.push(pos);
    runCount = 0;
    runBytes = 0;
  };
  // Every blob's name is blobs/sha256/ and 64 hex digits: 77 ASCII bytes, one ustar
  // header block each. The checksum list checks the digests before anything is signed,
  // and each job's end is checked.
  const blobHeader = blobs.length > 0 ? entryHeaderLength(blobPath(blobs[0]!)) : 0;
  for (let i = 0, j = 0; i <= blobs.length; i++) {
    if (j < sorted.length && places[j] === i) {
      endRun();
      const group: PlacedEntry[] = [];
      const at = pos;
      for (; j < sorted.length && places[j] === i; j++) {
        group.push(sorted[j]!);
        pos += entrySpan(entryHeaderLength(sorted[j]!.name), sorted[j]!.size);
      }
      jobs.push({ kind: 'write', fd, position: at, mtimeSec, entries: group });
      ends.push(pos);
    }
    if (i === blobs.length) break;
    const size = sizeOf(i);
    if (runCount === 0) {
      runFrom = i;
      runAt = pos;
    }
    runCount++;
    runBytes += size;
    pos += entrySpan(blobHeader, size);
    if (batchFull(runCount, runBytes)) endRun();
  }
  endRun();
  return { jobs, ends, end: pos };
}

/**
 * The bundle is fsynced before it gets its name. Left to the end, that is a second of
 * write-back per GiB here with nothing else to do; asking for it every 250 ms while the
 * pool writes lets the disk work alongside. Every call has returned before stop()
 * resolves, so the descriptor is never closed under one.
 */
class Flusher {
  private inFlight: Promise<void> | null = null;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly fd: number) {
    this.timer = setInterval(() => {
      if (this.inFlight) return;
      this.inFlight = new Promise<void>((resolve) => fdatasync(this.fd, () => resolve())).finally(() => {
        this.inFlight = null;
      });
    }, 250);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.inFlight;
  }
}

/**
 * gzip, or stream sources: one ordered stream; compression runs on libuv's threads.
 * A stream source that yields other than exactly its size is refused as damaged.
 */
async function writeSequential(
  pool: JobPool,
  fd: number,
  level: number | undefined,
  entries: PlacedEntry[],
  mtimeSec: number,
  streams: ReadonlyMap<string, (onChunk: (chunk: Buffer) => Promise<void>) => Promise<void>> = new Map(),
): Promise<void> {
  const writer = new TarWriter({ fd, gzipLevel: level, mtime: new Date(mtimeSec * 1000) });
  try {
    for (const entry of entries) {
      const e = materialized(entry);
      const stream = streams.get(e.name);
      if (e.data) await writer.addBuffer(e.name, e.data, e.mode);
      else if (stream) {
        await writer.addStream(e.name, e.size, async (write) => {
          let got = 0;
          await stream(async (chunk) => {
            got += chunk.length;
            if (got > e.size) throw integrityError('SOURCE_SIZE', `${e.name}: the source holds more than the ${e.size} bytes recorded for it`);
            await write(chunk);
            pool.count(chunk.length, 0);
          });
          if (got !== e.size) throw integrityError('SOURCE_SIZE', `${e.name}: the source holds ${got} bytes, ${e.size} were recorded for it`);
        }, e.mode);
      } else {
        await writer.addStream(e.name, e.size, (write) =>
          readVerified(e.path!, e.size, e.sha256!, async (chunk) => {
            await write(chunk);
            pool.count(chunk.length, 0);
          }, e.viaLink),
        e.mode);
      }
      pool.count(e.data ? e.size : 0, 1);
    }
    await writer.finish();
  } catch (e) {
    writer.destroy(e instanceof Error ? e : new Error(String(e)));
    throw e;
  }
}

async function withProgress<T>(
  pool: JobPool,
  onProgress: ExportOptions['onProgress'],
  phase: ExportProgress['phase'],
  totalBytes: number | undefined,
  totalFiles: number,
  work: () => Promise<T>,
): Promise<T> {
  if (!onProgress) return work();
  const base = pool.done();
  const report = () => {
    const d = pool.done();
    onProgress({ phase, bytes: d.bytes - base.bytes, totalBytes, files: d.files - base.files, totalFiles });
  };
  const timer = setInterval(report, 100);
  try {
    const r = await work();
    report();
    return r;
  } finally {
    clearInterval(timer);
  }
}

/**
 * Sizes of the inputs of an export of under 10,000 files: a stat each (about 45 ms for
 * 10,000 here) tells whether threads repay their start-up and how to share the hashing
 * out. From 10,000 files threads are used whatever the sizes, and sizes come from the
 * hashing pass. An input that cannot be stat'ed counts 0 here and fails there, with the
 * reason.
 */
function sizesOf(files: readonly InputFile[]): number[] {
  return files.map((f) => {
    try {
      return statSync(f.path, { throwIfNoEntry: false })?.size ?? 0;
    } catch {
      return 0;
    }
  });
}

function asStellaError(e: unknown): unknown {
  if (!(e instanceof InputReadError)) return e;
  if (e.reason === 'changed') {
    return usageError('INPUT_CHANGED', `input ${e.path} changed while it was being exported: export again once it is stable`);
  }
  return usageError('INPUT_UNREADABLE', `cannot read input ${e.path} (${e.errno ?? 'error'})`);
}

function dedupeKeys(keys: readonly SigningKey[]): SigningKey[] {
  const seen = new Map<string, SigningKey>();
  for (const k of keys) if (!seen.has(k.keyid)) seen.set(k.keyid, k);
  return [...seen.values()];
}

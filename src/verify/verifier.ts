import { hash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import type { DsseEnvelope } from '../crypto/dsse.js';
import type { Statement } from '../manifest/statement.js';
import { CHECKSUMS, ENVELOPE, MANIFEST, unsafeNameReason } from '../bundle/layout.js';
import { DEFAULT_ARCHIVE_LIMITS, readArchive, type ArchiveLimits, type ArchiveProgress } from '../bundle/read-archive.js';
import { TarFormatError } from '../bundle/tar-reader.js';
import type { TrustStore } from '../trust/trust-file.js';
import type { VerifyReport } from './report.js';
import { AUDIT_ENTRY } from './audit-trail.js';
import { BundleChecks, type CheckOptions, type Seen } from './checks.js';
import { HeldEntry } from './held-entry.js';
import { RemoteChecks } from './remote-checks.js';

export type { Seen } from './checks.js';

export interface VerifyOptions {
  bundle: string;
  /**
   * The reviewer's trust file. null runs the integrity checks only and skips the
   * signature and tenant checks (co-signing needs an intact bundle, not a trusted one).
   */
  trust: TrustStore | null;
  /** The tenant the reviewer expects; without it, the manifest's tenant is checked for consistency only. */
  tenant?: string | undefined;
  /** RFC 3339 UTC instant to evaluate key lifetimes at; default: the bundle's creation time. */
  at?: string | undefined;
  /** Accept a cross-tenant bundle (it then needs signatures trusted for every tenant involved). */
  allowCrossTenant?: boolean | undefined;
  limits?: Partial<VerifyLimits>;
  /** Called as the bundle is read (bytes of the file, entries seen). */
  onProgress?: ArchiveProgress | undefined;
  /**
   * Worker threads for hashing the large blobs of a plain tar (default: one per core but
   * this thread's, for a file of 128 MiB or more); with a large manifest two more read it
   * and its envelope meanwhile (verifyBundle only). 0 does everything on this thread.
   */
  threads?: number | undefined;
}

export interface VerifyLimits extends ArchiveLimits {
  maxManifestBytes: number;
  maxEnvelopeBytes: number;
  maxChecksumsBytes: number;
  maxSignatures: number;
  /** Each audit/<tenant>.jsonl of a store export is read whole to check its chain. */
  maxAuditBytes: number;
}

export const DEFAULT_VERIFY_LIMITS: VerifyLimits = {
  ...DEFAULT_ARCHIVE_LIMITS,
  maxManifestBytes: 64 * 1024 * 1024,
  maxEnvelopeBytes: 96 * 1024 * 1024,
  maxChecksumsBytes: 64 * 1024 * 1024,
  maxSignatures: 64,
  maxAuditBytes: 256 * 1024 * 1024,
};

/**
 * What the verifying pass saw, for commands that act on a bundle after verifying it
 * (extract, sign): they re-read the archive and must find exactly these entries again.
 */
export interface VerifiedBundle {
  report: VerifyReport;
  /** The signed statement, when it could be read and matched the schema. */
  statement: Statement | null;
  envelope: DsseEnvelope | null;
  payload: Buffer | null;
  /** Every regular file of the archive by name (a leading "./" removed), with its digest. */
  entries: ReadonlyMap<string, Seen>;
  /** The bytes of manifest.json, manifest.dsse.json and checksums.sha256, as far as present. */
  metadata: ReadonlyMap<string, Buffer>;
  gzip: boolean;
  /** Uncompressed size of the archive. */
  archiveBytes: number;
}

/**
 * Verify a bundle offline, streaming it once. Entry order does not matter: each entry
 * is hashed as it passes and all cross-checks run at the end. Every check is reported;
 * the exit code is that of the first failing category (integrity, trust, tenant).
 */
export async function verifyBundle(opts: VerifyOptions): Promise<VerifyReport> {
  return (await verify(opts, false)).report;
}

/** verifyBundle, also returning what the pass saw (see VerifiedBundle). */
export function verifyBundleDetailed(opts: VerifyOptions): Promise<VerifiedBundle> {
  return verify(opts, true);
}

/**
 * A manifest or envelope at least this large makes the checks after the read cost more
 * than starting a thread for them (about 0.2 s per MiB of manifest on one core).
 */
const REMOTE_CHECKS_MIN = 1024 * 1024;

async function verify(opts: VerifyOptions, detailed: boolean): Promise<VerifiedBundle> {
  const limits: VerifyLimits = { ...DEFAULT_VERIFY_LIMITS, ...opts.limits };
  const checkOptions: CheckOptions = {
    bundle: opts.bundle,
    trust: opts.trust,
    tenant: opts.tenant,
    at: opts.at,
    allowCrossTenant: opts.allowCrossTenant,
    maxSignatures: limits.maxSignatures,
  };
  const checks = new BundleChecks(checkOptions);
  const { entries, meta, auditFiles } = checks;
  // The remote checks report only: not for callers that need the statement itself.
  let remoteWanted = !detailed && (opts.threads ?? availableParallelism() - 1) > 0;
  let remote: RemoteChecks | null = null;
  // Entries in archive order not yet passed to the remote checks: a large entry's digest
  // comes from a worker after those of the small entries behind it, and the checks report
  // the first problem in entry order, which must not depend on thread timing.
  const unsent: Array<[string, Seen]> = [];
  let sent = 0;
  const sendReady = () => {
    const r = remote as RemoteChecks | null;
    if (!r) return;
    while (sent < unsent.length && unsent[sent]![1].sha256 !== '') {
      const [name, seen] = unsent[sent++]!;
      r.entry(name, seen);
    }
    if (sent === unsent.length) {
      unsent.length = 0;
      sent = 0;
    }
  };
  const startRemote = () => {
    remoteWanted = false;
    remote = RemoteChecks.start(checkOptions);
    if (!remote) return;
    for (const [name, bytes] of meta) remote.file(name, bytes, false, false);
    for (const [name, bytes] of auditFiles) remote.file(name, bytes, true, false);
    sendReady();
  };

  // One streaming pass: structure, names, and a digest of every entry.
  const folded = new Map<string, string>();
  let structural: string | null = null;
  let archive = { gzip: false, bytes: 0 };
  // The entry read whole whose data is passing now, to name it if the bundle ends inside it.
  let holding: HeldEntry | null = null;
  // A Map, not an object literal: an entry named "toString" must not find a limit.
  const metaLimit = new Map<string, number>([
    [MANIFEST, limits.maxManifestBytes],
    [ENVELOPE, limits.maxEnvelopeBytes],
    [CHECKSUMS, limits.maxChecksumsBytes],
  ]);
  try {
    archive = await readArchive(
      opts.bundle,
      (h, room, dataAt) => {
        const name = h.name.startsWith('./') ? h.name.slice(2) : h.name;
        const why = unsafeNameReason(name);
        if (why) throw new TarFormatError(`unsafe entry name ${JSON.stringify(h.name)} (${why})`, h.offset);
        // By the folded name: an earlier entry's digest may still be on its way.
        const key = name.toLowerCase();
        const clash = folded.get(key);
        if (clash === name) throw new TarFormatError(`duplicate entry ${JSON.stringify(name)}`, h.offset);
        if (clash !== undefined) {
          throw new TarFormatError(`entries ${JSON.stringify(clash)} and ${JSON.stringify(name)} differ only in case`, h.offset);
        }
        folded.set(key, name);
        const audit = AUDIT_ENTRY.test(name);
        const cap = metaLimit.get(name) ?? (audit ? limits.maxAuditBytes : undefined);
        const size = h.size;
        // The entry's place is taken now, in archive order; its digest is filled in when known.
        const seen: Seen = { sha256: '', size };
        entries.set(name, seen);
        if (remoteWanted || remote) unsent.push([name, seen]);
        if (cap === undefined) {
          return {
            digest: (sha256: string) => {
              seen.sha256 = sha256;
              sendReady();
            },
          };
        }
        if (size > cap) throw new TarFormatError(`${name} is ${size} bytes, over the limit of ${cap}`, h.offset);
        // Refused now, where reading on would refuse it, not once the data ran out: by then
        // the declared size would have been allocated.
        if (size > room) {
          throw new TarFormatError(
            `unexpected end of archive inside ${name}: its header declares ${size} bytes, the file holds ${room} (the archive is truncated)`,
            dataAt + room,
          );
        }
        if (remoteWanted && size >= REMOTE_CHECKS_MIN && (name === MANIFEST || name === ENVELOPE)) startRemote();
        if (name === ENVELOPE && size >= REMOTE_CHECKS_MIN) (remote as RemoteChecks | null)?.readEnvelopeApart();
        // Read whole (the limit above bounds it): one copy, one hash call at the end. Shared
        // with the remote checks rather than copied to them: tens of MiB of fresh pages cost
        // about what reading them did (page faults are slow on some hosts).
        const held = new HeldEntry(name, size, h.offset, room, remote !== null);
        holding = held;
        return {
          update(chunk: Buffer) {
            held.add(chunk);
          },
          end() {
            holding = null;
            const bytes = held.bytes();
            seen.sha256 = hash('sha256', bytes, 'hex');
            (audit ? auditFiles : meta).set(name, bytes);
            remote?.file(name, bytes, audit, name === ENVELOPE);
            sendReady();
          },
        };
      },
      limits,
      opts.onProgress,
      { hashThreads: opts.threads },
    );
  } catch (e) {
    void (remote as RemoteChecks | null)?.close();
    remote = null;
    if (!(e instanceof TarFormatError)) throw e;
    structural = `${(holding as HeldEntry | null)?.cutShort(e) ?? e.message} (at byte ${e.offset})`;
    // Entries the read never finished have no digest: they were not seen whole.
    for (const [name, s] of entries) if (s.sha256 === '') entries.delete(name);
  }
  const seen = { entries, metadata: meta, gzip: archive.gzip, archiveBytes: archive.bytes };
  const r = remote as RemoteChecks | null;
  if (r) {
    const report = await r.finish();
    void r.close();
    if (report) return { report, statement: null, envelope: null, payload: null, ...seen };
  }
  return { ...checks.finish(structural), ...seen };
}

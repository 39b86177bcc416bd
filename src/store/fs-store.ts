import { createHash, randomBytes } from 'node:crypto';
import { closeSync, constants, fstatSync, lstatSync, mkdirSync, openSync, readdirSync, readSync, realpathSync, renameSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { integrityError, StellaError, tenantError, usageError } from '../errors.js';
import { canonicalBytes } from '../json/canonical.js';
import { sha256Hex } from '../crypto/sha256.js';
import { AtomicFile, fsyncDir } from '../util/atomic-file.js';
import { requireTenantId } from '../util/tenant.js';
import { compareUtf8 } from '../bundle/layout.js';
import { eventLine, GENESIS_HASH, sealEvent, type AuditEvent, type AuditEventDraft } from '../audit/event.js';
import { checkLinks, checkTenant, parseAuditLines } from '../audit/chain.js';
import { O_NOFOLLOW, outside, storeIo, TenantNamespace } from './fs-namespace.js';
import { appendLines, committedLength, eachCommittedLine, readCommitted, readLastLine, truncateTo } from './jsonl.js';
import { acquireLock, processAlive } from './lock.js';
import { parseRecordLine, quickRecordLine, recordDigest, recordId, recordLine } from './record.js';
import { matcher, type Selection } from './selector.js';
import type { AuditContext, BlobFill, BlobResult, EvidenceStore, PutOutcome, RecordDraft, StoreRecord } from './store.js';

/**
 * The embedded store: a directory tree, one namespace per tenant.
 *
 *   store.json                          marks the directory as a store (format, version)
 *   tenants/<tenant>/blobs/sha256/ab/<hex>   content, written once, read-only
 *   tenants/<tenant>/records.jsonl      the record index, one canonical record per line
 *   tenants/<tenant>/audit.jsonl        the hash-chained audit log
 *   tenants/<tenant>/lock               held while appending to the two logs
 *   tenants/<tenant>/tmp/               blobs being written
 *
 * Write order for an ingest: blob (temporary file, fsync, rename), then under the lock the
 * record line (fsync), then its audit event (fsync). The audit event is the commit point.
 * Recovery rules, applied by every writer once it holds the lock and by every reader:
 *   - bytes after the last newline of either log are an interrupted append: readers ignore
 *     them, the writer cuts them off;
 *   - a record whose seq is beyond the last audit event was never committed: readers ignore
 *     it, the writer cuts it off (it is always at the end of records.jsonl);
 *   - a blob without a record is unreachable, harmless, and reused by the next ingest of
 *     the same bytes (it is not deleted: a concurrent writer may be about to reference it);
 *   - temporary files left by a dead process of this host are removed.
 */
export const STORE_MARKER = 'store.json';
const MARKER_CONTENT = canonicalBytes({ format: 'stella-evidence-store', version: 1 });
const HOST_TAG = sha256Hex(hostname()).slice(0, 8);
const TEMP_NAME = /^(?:\.)?([0-9a-f]{8})\.(\d+)\.[0-9a-f]+\.blob(?:\.\d+\.[0-9a-f]+\.tmp)?$/;
const CHUNK = 1 << 20;
const MARKER_TEMP = /^\.store\.json\.\d+\.[0-9a-f]+\.tmp$/;
const LOCK_TEMP = /^lock(?:\.break)?\.(\d+)\.[0-9a-f]{12}$/;

export interface OpenStoreOptions {
  /** Create the store if the directory is absent or empty (writers); readers never create. */
  create: boolean;
}

interface Head {
  seq: number;
  hash: string;
}

export class FsEvidenceStore implements EvidenceStore {
  private readonly spaces = new Map<string, TenantNamespace>();
  /** Per tenant, the committed records this process has validated (writers only). */
  private readonly indexes = new Map<string, RecordIndex>();

  private constructor(readonly location: string, private readonly root: string) {}

  static open(dir: string, opts: OpenStoreOptions): FsEvidenceStore {
    let entries: string[] | null;
    try {
      entries = readdirSync(dir);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOTDIR') throw usageError('STORE_INVALID', `store ${dir} is not a directory`);
      if (code !== 'ENOENT') throw storeIo(e, dir);
      entries = null;
    }
    // A concurrent first writer's marker in the making does not make the directory foreign.
    const meaningful = entries?.filter((n) => !MARKER_TEMP.test(n)) ?? [];
    if (entries === null || (meaningful.length === 0 && !entries.includes(STORE_MARKER))) {
      if (!opts.create) {
        throw usageError('STORE_MISSING', `store ${dir} does not exist or is empty: add evidence first with "stella-evidence store add", or pass --store DIR`);
      }
      mkdirSync(dir, { recursive: true, mode: 0o755 });
      const f = new AtomicFile(join(dir, STORE_MARKER), 0o644, true);
      f.write(Buffer.concat([MARKER_CONTENT, Buffer.from('\n')]));
      f.commit();
    } else if (!entries.includes(STORE_MARKER)) {
      throw usageError('STORE_INVALID', `${dir} is not a stella-evidence store (no ${STORE_MARKER}): pass the store's own directory to --store`);
    }
    const root = realpathSync(dir);
    const markerPath = join(root, STORE_MARKER);
    const st = lstatSync(markerPath);
    if (st.isSymbolicLink()) throw tenantError('STORE_OUTSIDE_NAMESPACE', `refusing ${markerPath}: it is a symbolic link`);
    const fd = openSync(markerPath, constants.O_RDONLY | O_NOFOLLOW);
    try {
      const buf = Buffer.alloc(256);
      const text = buf.subarray(0, readSync(fd, buf, 0, 256, 0)).toString('utf8').trim();
      let v: unknown;
      try {
        v = JSON.parse(text);
      } catch {
        v = null;
      }
      const m = v as { format?: unknown; version?: unknown } | null;
      if (!m || m.format !== 'stella-evidence-store') throw usageError('STORE_INVALID', `${markerPath} does not describe a stella-evidence store`);
      if (m.version !== 1) throw usageError('STORE_VERSION', `store ${dir} has format version ${String(m.version)}; this stella-evidence reads version 1`);
    } finally {
      closeSync(fd);
    }
    return new FsEvidenceStore(dir, root);
  }

  private ns(tenant: string): TenantNamespace {
    const t = requireTenantId(tenant);
    let ns = this.spaces.get(t);
    if (!ns) this.spaces.set(t, (ns = new TenantNamespace(this.root, t)));
    return ns;
  }

  async putBlob<T>(tenant: string, fill: BlobFill<T>): Promise<BlobResult<T>> {
    const ns = this.ns(tenant);
    ns.ensureDir(ns.tmp, true);
    const staged = join(ns.tmp, `${HOST_TAG}.${process.pid}.${randomBytes(8).toString('hex')}.blob`);
    const file = new AtomicFile(staged, 0o444, true);
    const hash = createHash('sha256');
    let size = 0;
    let result: T;
    try {
      result = await fill((chunk) => {
        hash.update(chunk);
        size += chunk.length;
        file.write(chunk);
      });
    } catch (e) {
      file.abort();
      throw e;
    }
    const hex = hash.digest('hex');
    const target = ns.blobPath(hex);
    // The directory chain is checked first: lstat follows links in all but the last part.
    const existing = ns.ensureDir(ns.blobDir(hex), false) ? lstatSync(target, { throwIfNoEntry: false }) : undefined;
    if (existing) {
      file.abort();
      if (existing.isSymbolicLink()) throw outside(target, ns.tenant, 'is a symbolic link');
      if (!existing.isFile() || existing.size !== size) {
        throw integrityError('STORE_BLOB_DAMAGED', `blob ${target} does not match its digest: the store is damaged; restore it from a backup`);
      }
      return { sha256: hex, size, result };
    }
    try {
      file.commit();
      ns.ensureDir(ns.blobDir(hex), true);
      renameSync(staged, target);
      fsyncDir(ns.blobDir(hex));
    } catch (e) {
      rmSync(staged, { force: true });
      throw e instanceof StellaError ? e : storeIo(e, target);
    }
    return { sha256: hex, size, result };
  }

  async put(tenant: string, drafts: readonly RecordDraft[], ctx: AuditContext): Promise<PutOutcome[]> {
    const ns = this.ns(tenant);
    ns.ensureDir(ns.dir, true);
    for (const d of drafts) this.requireBlob(ns, d.sha256, d.size);
    const release = await acquireLock(ns.lock, ns.tenant);
    try {
      const { head, records } = this.recover(ns);
      const byId = new Map(records.map((r) => [r.id, r]));
      const recordLines: Buffer[] = [];
      const eventLines: Buffer[] = [];
      const outcomes: PutOutcome[] = [];
      let h = head;
      for (const d of drafts) {
        const id = recordId(ns.tenant, d);
        const existing = byId.get(id);
        let ev: AuditEvent;
        if (existing) {
          ev = sealEvent({ type: 'ingest-duplicate', artifacts: [d.sha256], record: id }, h, ns.tenant, ctx.actor, ctx.time, ctx.authorization);
          outcomes.push({ record: existing, added: false });
        } else {
          const rec: StoreRecord = {
            id,
            tenant: ns.tenant,
            seq: h.seq + 1,
            name: d.name,
            sha256: d.sha256,
            size: d.size,
            kind: d.kind,
            mediaType: d.mediaType,
            labels: d.labels,
            scope: d.scope,
            ingestedAt: ctx.time,
          };
          ev = sealEvent({ type: 'ingest', artifacts: [d.sha256], record: id, recordSha256: recordDigest(rec) }, h, ns.tenant, ctx.actor, ctx.time, ctx.authorization);
          byId.set(id, rec);
          recordLines.push(recordLine(rec));
          outcomes.push({ record: rec, added: true });
        }
        eventLines.push(eventLine(ev));
        h = ev;
      }
      appendLines(ns, ns.records, recordLines);
      appendLines(ns, ns.audit, eventLines);
      return outcomes;
    } finally {
      release();
    }
  }

  async get(tenant: string, id: string): Promise<StoreRecord | null> {
    return (await this.list(tenant)).find((r) => r.id === id) ?? null;
  }

  async list(tenant: string, selection?: Selection): Promise<StoreRecord[]> {
    const ns = this.ns(tenant);
    if (!ns.exists()) return [];
    // The head first: a record is visible only if its audit event was committed before.
    const head = this.head(ns);
    // Every line is checked; only matches are kept (holding 100,000 records costs more
    // in garbage collection than checking them does).
    return this.loadRecords(ns, head.seq, emptyIndex(), matcher(selection)).records;
  }

  async readBlob(tenant: string, sha256: string, onChunk: (chunk: Buffer) => Promise<void> | void): Promise<number> {
    const ns = this.ns(tenant);
    const path = ns.blobPath(sha256);
    if (!ns.ensureDir(ns.blobDir(sha256), false)) throw missingBlob(path);
    const fd = ns.openFile(path, constants.O_RDONLY);
    if (fd === null) throw missingBlob(path);
    try {
      const hash = createHash('sha256');
      const expected = fstatSync(fd).size;
      let size = 0;
      for (;;) {
        // Sized to the blob (plus one byte to see the end): a chunk may be held by the
        // consumer, so it cannot be reused, and 1 MiB per small blob is all garbage.
        const want = Math.min(CHUNK, Math.max(expected - size, 0) + 1);
        const buf = Buffer.allocUnsafe(want);
        const n = readSync(fd, buf, 0, want, null);
        if (n === 0) break;
        const chunk = buf.subarray(0, n);
        hash.update(chunk);
        size += n;
        await onChunk(chunk);
      }
      if (hash.digest('hex') !== sha256) {
        throw integrityError('STORE_BLOB_DAMAGED', `blob ${path} does not match its digest: the store is damaged; restore it from a backup`);
      }
      return size;
    } finally {
      closeSync(fd);
    }
  }

  async appendAudit(tenants: readonly string[], draft: (tenant: string) => AuditEventDraft, ctx: AuditContext): Promise<AuditEvent[]> {
    const sorted = [...new Set(tenants.map((t) => requireTenantId(t)))].sort(compareUtf8);
    const releases: Array<() => void> = [];
    try {
      // Sorted order: two cross-tenant exports can never wait on each other in a cycle.
      for (const t of sorted) {
        const ns = this.ns(t);
        ns.ensureDir(ns.dir, true);
        releases.push(await acquireLock(ns.lock, t));
      }
      const out: AuditEvent[] = [];
      for (const t of sorted) {
        const ns = this.ns(t);
        const { head } = this.recover(ns, false);
        const ev = sealEvent(draft(t), head, t, ctx.actor, ctx.time, ctx.authorization);
        appendLines(ns, ns.audit, [eventLine(ev)]);
        out.push(ev);
      }
      return out;
    } finally {
      for (const r of releases.reverse()) r();
    }
  }

  async readAudit(tenant: string, range: { fromSeq?: number; toSeq?: number } = {}): Promise<AuditEvent[]> {
    const ns = this.ns(tenant);
    if (!ns.exists()) return [];
    const c = readCommitted(ns, ns.audit);
    if (!c) return [];
    const from = Math.max(1, range.fromSeq ?? 1);
    // Line k holds seq k, so the run is found by counting newlines, not by parsing all.
    let start = 0;
    for (let k = 1; k < from && start < c.bytes.length; k++) start = c.bytes.indexOf(0x0a, start) + 1;
    let end = c.bytes.length;
    if (range.toSeq !== undefined) {
      end = start;
      for (let k = from; k <= range.toSeq && end < c.bytes.length; k++) end = c.bytes.indexOf(0x0a, end) + 1;
    }
    const parsed = parseAuditLines(c.bytes.subarray(start, end), `${ns.audit} (from seq ${from})`, false);
    if ('code' in parsed) throw integrityError(parsed.code, `${parsed.message}; run "stella-evidence audit verify --tenant ${ns.tenant}"`);
    const events = parsed.lines as AuditEvent[];
    // Everything returned is checked: links within the range (from the genesis hash when
    // the range starts the log), then that every event is this tenant's.
    const broken =
      checkLinks(events, ns.audit, { seq: from, prev: from === 1 ? GENESIS_HASH : (events[0]?.prev ?? GENESIS_HASH) }) ??
      checkTenant(events, ns.tenant, ns.audit);
    if (broken) {
      const hint = broken.category === 'tenant' ? 'refusing it (the log was altered)' : `run "stella-evidence audit verify --tenant ${ns.tenant}"`;
      throw new StellaError(broken.category, broken.code, `${broken.message}; ${hint}`);
    }
    return events;
  }

  private requireBlob(ns: TenantNamespace, hex: string, size: number): void {
    const p = ns.blobPath(hex);
    const st = ns.ensureDir(ns.blobDir(hex), false) ? lstatSync(p, { throwIfNoEntry: false }) : undefined;
    if (!st) throw integrityError('STORE_BLOB_MISSING', `internal: blob ${hex} must be stored before its record`);
    if (st.isSymbolicLink()) throw outside(p, ns.tenant, 'is a symbolic link');
    if (st.size !== size) throw integrityError('STORE_BLOB_DAMAGED', `blob ${p} has ${st.size} bytes, expected ${size}: the store is damaged`);
  }

  private head(ns: TenantNamespace): Head {
    const line = readLastLine(ns, ns.audit);
    if (!line) return { seq: 0, hash: GENESIS_HASH };
    const parsed = parseAuditLines(Buffer.concat([line, Buffer.from('\n')]), `${ns.audit} (last event)`, false);
    if ('code' in parsed) throw integrityError(parsed.code, `${parsed.message}; run "stella-evidence audit verify --tenant ${ns.tenant}"`);
    const last = parsed.lines[0]!;
    if (last.tenant !== ns.tenant) {
      throw tenantError('AUDIT_FOREIGN_TENANT', `${ns.audit}: the last event names tenant ${last.tenant}, not ${ns.tenant}: refusing it (the log was altered)`);
    }
    return { seq: last.seq, hash: last.hash };
  }

  /**
   * Committed records (seq <= headSeq), validated, continuing from `base` (what this
   * process already validated: a writer reads only what was appended since). `offset` is
   * where uncommitted records or an interrupted append begin, `end` where the file ends.
   * With `keep`, every line is still checked, but only the records it accepts are kept
   * (a reader's selection).
   */
  private loadRecords(
    ns: TenantNamespace,
    headSeq: number,
    base: RecordIndex = emptyIndex(),
    keep?: (r: StoreRecord) => boolean,
  ): RecordIndex & { end: number } {
    const path = ns.records;
    const { records } = base;
    let { lastSeq, lines } = base;
    const walk = eachCommittedLine(ns, path, base.offset, (text) => {
      lines++;
      const r = quickRecordLine(text, ns.tenant) ?? parseRecordLine(text, ns.tenant, `${path} line ${lines}`);
      if (r.seq <= lastSeq) {
        throw integrityError('STORE_RECORD_DAMAGED', `${path} line ${lines}: seq ${r.seq} does not follow ${lastSeq}; the store is damaged`);
      }
      if (r.seq > headSeq) {
        lines--;
        return false;
      }
      lastSeq = r.seq;
      if (!keep || keep(r)) records.push(r);
      return true;
    });
    if (!walk) return { ...emptyIndex(), end: 0 };
    return { records, lastSeq, lines, offset: walk.offset, end: walk.end };
  }

  /**
   * Run the recovery rules; the caller holds the tenant's lock. Without `withRecords`
   * (appending an export event) only the end of the record index is read: uncommitted
   * records can only be there, and they must go before the log's next seq is taken.
   */
  private recover(ns: TenantNamespace, withRecords = true): { head: Head; records: StoreRecord[] } {
    const audit = committedLength(ns, ns.audit);
    if (audit && audit.committed < audit.size) truncateTo(ns, ns.audit, audit.committed);
    const head = this.head(ns);
    if (!withRecords) {
      this.cutUncommittedTail(ns, head.seq);
      return { head, records: [] };
    }
    // Records before the cached offset were committed, and committed lines are never cut,
    // so only a file shorter than that (altered behind our back) forces a full reload.
    let base = this.indexes.get(ns.tenant);
    if (base && (committedLength(ns, ns.records)?.size ?? 0) < base.offset) base = undefined;
    const loaded = this.loadRecords(ns, head.seq, base);
    if (loaded.offset < loaded.end) truncateTo(ns, ns.records, loaded.offset);
    const { end: _end, ...index } = loaded;
    void _end;
    this.indexes.set(ns.tenant, index);
    if (!base) this.removeDeadTemporaries(ns);
    return { head, records: loaded.records };
  }

  private cutUncommittedTail(ns: TenantNamespace, headSeq: number): void {
    const length = committedLength(ns, ns.records);
    if (!length) return;
    let end = length.committed;
    for (;;) {
      const line = readLastLine(ns, ns.records, end);
      if (!line) break;
      let seq: unknown;
      try {
        seq = (JSON.parse(line.toString('utf8')) as { seq?: unknown }).seq;
      } catch {
        seq = undefined;
      }
      if (typeof seq !== 'number') throw integrityError('STORE_RECORD_DAMAGED', `${ns.records}: the last record is not a record; the store is damaged`);
      if (seq <= headSeq) break;
      end -= line.length + 1;
    }
    if (end < length.size) truncateTo(ns, ns.records, end);
  }

  private removeDeadTemporaries(ns: TenantNamespace): void {
    const sweep = (dir: string, pidOf: (name: string) => number | null) => {
      let names: string[];
      try {
        names = readdirSync(dir);
      } catch {
        return;
      }
      for (const n of names) {
        const pid = pidOf(n);
        if (pid !== null && pid !== process.pid && !processAlive(pid)) rmSync(join(dir, n), { force: true });
      }
    };
    if (ns.ensureDir(ns.tmp, false)) {
      sweep(ns.tmp, (n) => {
        const m = TEMP_NAME.exec(n);
        return m && m[1] === HOST_TAG ? Number(m[2]) : null;
      });
    }
    // Lock temporaries carry no host tag: only a same-host pid can leave one behind
    // (they exist for microseconds), and a pid that is alive here keeps it.
    sweep(ns.dir, (n) => {
      const m = LOCK_TEMP.exec(n);
      return m ? Number(m[1]) : null;
    });
  }
}

interface RecordIndex {
  records: StoreRecord[];
  lastSeq: number;
  lines: number;
  /** Byte offset just after the last validated record. */
  offset: number;
}

const emptyIndex = (): RecordIndex => ({ records: [], lastSeq: 0, lines: 0, offset: 0 });

function missingBlob(path: string) {
  return integrityError('STORE_BLOB_MISSING', `blob ${path} is missing: the store is damaged; restore it from a backup or re-ingest the evidence`);
}

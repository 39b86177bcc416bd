import { integrityError, tenantError, usageError } from '../errors.js';
import { sha256Hex } from '../crypto/sha256.js';
import type { SigningKey } from '../crypto/keys.js';
import { compareUtf8 } from '../bundle/layout.js';
import { eventLine, stubOf, type AuditEvent, type BundleAuditLine } from '../audit/event.js';
import type { Artifact, AuditPin, EvidencePredicate } from '../manifest/statement.js';
import type { Authorization } from '../authority/record.js';
import { recordDigest } from '../store/record.js';
import { isEmptySelection, type Selection } from '../store/selector.js';
import type { AuditContext, EvidenceStore, StoreRecord } from '../store/store.js';
import { requireTenantId } from '../util/tenant.js';
import { writeBundle, type ExportItem, type ExportOptions, type ExportResult } from './export.js';

export interface StoreExportOptions {
  store: EvidenceStore;
  /** The requesting tenant first; more than one only with `crossTenant`. */
  tenants: readonly string[];
  /** The explicit cross-tenant form and its reason. */
  crossTenant?: { reason: string } | undefined;
  /** Already narrowed by the caller (ABAC); applied to every tenant alike. */
  selection: Selection;
  keys: readonly SigningKey[];
  out: string;
  createdAt: string;
  force?: boolean | undefined;
  gzipLevel?: number | undefined;
  authorization?: Authorization | undefined;
  onProgress?: ExportOptions['onProgress'];
  /** Who exports and when, for the audit event. */
  ctx: AuditContext;
}

export const auditPath = (tenant: string): string => `audit/${tenant}.jsonl`;

/**
 * Export a selection of the store. Reads only through the store interface, one tenant at a
 * time; names, the audit runs and the manifest depend only on the records selected and on
 * the immutable part of the logs, so the same selection gives the same bytes. The export
 * event is appended to every involved tenant's log before the bundle appears.
 */
export async function exportFromStore(o: StoreExportOptions): Promise<ExportResult> {
  const tenants = [...new Set(o.tenants.map((t) => requireTenantId(t)))];
  const requesting = tenants[0]!;
  const cross = o.crossTenant !== undefined;
  if (tenants.length > 1 && !cross) {
    throw tenantError('CROSS_TENANT_REFUSED', `an export mixing tenants ${tenants.join(', ')} is refused: use the explicit form (--cross-tenant --reason TEXT)`);
  }
  if (cross && tenants.length < 2) {
    throw usageError('CROSS_TENANT_USAGE', '--cross-tenant needs at least two different --tenant values; a single-tenant export does not use it');
  }

  const items: ExportItem[] = [];
  const files = new Map<string, Buffer>();
  const pins: AuditPin[] = [];
  const digestsOf = new Map<string, string[]>();
  for (const t of [...tenants].sort(compareUtf8)) {
    const records = await o.store.list(t, o.selection);
    if (records.length === 0) continue;
    for (const r of records) {
      if (r.tenant !== t) throw tenantError('STORE_FOREIGN_RECORD', `the store returned a record of tenant ${r.tenant} for tenant ${t}: refusing`);
    }
    const names = bundleNames(records, cross ? `${t}/` : '');
    for (const r of records) {
      const store = o.store;
      items.push({
        artifact: artifactOf(r, names.get(r.id)!),
        source: { read: async (onChunk) => void (await store.readBlob(t, r.sha256, onChunk)) },
      });
    }
    const run = await auditRun(o.store, t, records);
    files.set(run.pin.path, run.bytes);
    pins.push(run.pin);
    digestsOf.set(t, [...new Set(records.map((r) => r.sha256))].sort());
  }
  if (items.length === 0) {
    const what = isEmptySelection(o.selection) ? 'has no evidence' : 'has no evidence matching the selection';
    throw usageError('NOTHING_SELECTED', `nothing to export: ${tenants.length > 1 ? `tenants ${tenants.join(', ')}` : `tenant ${requesting}`} ${what}`);
  }
  items.sort((a, b) => compareUtf8(a.artifact.name, b.artifact.name));
  for (let k = 1; k < items.length; k++) {
    if (items[k - 1]!.artifact.name === items[k]!.artifact.name) {
      throw usageError('NAME_CONFLICT', `two selected records end up with the name ${items[k]!.artifact.name}: narrow the selection`);
    }
  }

  const predicate: Pick<EvidencePredicate, 'selection' | 'audit' | 'crossTenant'> = { selection: o.selection, audit: pins };
  const involved = [...tenants].sort(compareUtf8);
  if (cross) predicate.crossTenant = { tenants: involved, reason: o.crossTenant!.reason };
  return writeBundle({
    tenant: requesting,
    keys: o.keys,
    out: o.out,
    createdAt: o.createdAt,
    scope: {},
    force: o.force,
    gzipLevel: o.gzipLevel,
    authorization: o.authorization,
    onProgress: o.onProgress,
    items,
    predicate,
    files,
    beforeCommit: async (manifestSha256) => {
      const selection = o.selection as unknown as Record<string, unknown>;
      await o.store.appendAudit(
        involved,
        (t) =>
          cross
            ? { type: 'cross-tenant-export', artifacts: digestsOf.get(t) ?? [], manifestSha256, selection, tenants: involved, requestingTenant: requesting, reason: o.crossTenant!.reason }
            : { type: 'export', artifacts: digestsOf.get(t) ?? [], manifestSha256, selection },
        o.ctx,
      );
    },
  });
}

/**
 * Names in the bundle are the records' names. Records sharing a name each get the first
 * 12 hex digits of their digest as a leading directory; if some of them also share the
 * content (same file ingested with different metadata), the whole group uses the first 12
 * hex digits of the record id instead. Deterministic: it depends on the selection only.
 */
export function bundleNames(records: readonly StoreRecord[], prefix: string): Map<string, string> {
  const groups = new Map<string, StoreRecord[]>();
  for (const r of records) {
    const g = groups.get(r.name);
    if (g) g.push(r);
    else groups.set(r.name, [r]);
  }
  const out = new Map<string, string>();
  for (const [name, group] of groups) {
    if (group.length === 1) {
      out.set(group[0]!.id, prefix + name);
      continue;
    }
    const sameContent = new Set(group.map((r) => r.sha256)).size < group.length;
    for (const r of group) out.set(r.id, `${prefix}${(sameContent ? r.id : r.sha256).slice(0, 12)}/${name}`);
  }
  return out;
}

function artifactOf(r: StoreRecord, name: string): Artifact {
  const a: Artifact = { name, sha256: r.sha256, size: r.size, mediaType: r.mediaType, kind: r.kind, tenant: r.tenant };
  if (Object.keys(r.labels).length) a.labels = r.labels;
  if (Object.keys(r.scope).length) a.scope = r.scope;
  return a;
}

/**
 * The run of the tenant's chain from the first to the last event that committed an
 * exported record. Events about the exported records stay whole; every other event
 * (other records, exports) becomes a stub that keeps the chain linked without disclosing
 * it. Each exported record must be exactly what its ingest event committed.
 */
async function auditRun(store: EvidenceStore, tenant: string, records: readonly StoreRecord[]): Promise<{ pin: AuditPin; bytes: Buffer }> {
  let first = Infinity;
  let last = 0;
  for (const r of records) {
    first = Math.min(first, r.seq);
    last = Math.max(last, r.seq);
  }
  const events = await store.readAudit(tenant, { fromSeq: first, toSeq: last });
  if (events.length !== last - first + 1) {
    throw integrityError('AUDIT_INCOMPLETE', `the audit log of tenant ${tenant} lacks events ${first} to ${last}: run "stella-evidence audit verify --tenant ${tenant}"`);
  }
  const ids = new Set(records.map((r) => r.id));
  for (const r of records) {
    const ev = events[r.seq - first]!;
    if (ev.type !== 'ingest' || ev.record !== r.id || ev.recordSha256 !== recordDigest(r)) {
      throw integrityError(
        'AUDIT_RECORD_CHANGED',
        `record ${r.name} of tenant ${tenant} is not what its ingest event seq ${r.seq} committed: run "stella-evidence audit verify --tenant ${tenant}"`,
      );
    }
  }
  const disclose = (e: AuditEvent) => (e.type === 'ingest' || e.type === 'ingest-duplicate') && e.record !== undefined && ids.has(e.record);
  const lines: BundleAuditLine[] = events.map((e) => (disclose(e) ? e : stubOf(e)));
  const bytes = Buffer.concat(lines.map(eventLine));
  const path = auditPath(tenant);
  return { pin: { path, sha256: sha256Hex(bytes), firstSeq: first, lastSeq: last, lastHash: events[events.length - 1]!.hash }, bytes };
}

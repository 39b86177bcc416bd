import type { Scope } from '../util/tenant.js';
import type { AuditEvent, AuditEventDraft } from '../audit/event.js';
import type { Selection } from './selector.js';
import type { Authorization } from '../authority/record.js';

/**
 * The one interface export, list and audit use to reach stored evidence. Every call takes
 * the tenant explicitly: an implementation must never return a record, blob or event of
 * any other tenant, whatever its inputs. The filesystem store is the embedded default; a
 * database with row-level security plus an object store can implement the same calls.
 */

/** What an ingest supplies; the store assigns id, seq and tenant. */
export interface RecordDraft {
  name: string;
  sha256: string;
  size: number;
  kind: string;
  mediaType: string;
  labels: Record<string, string>;
  scope: Scope;
}

/** A committed record: the draft plus what the store assigned. */
export interface StoreRecord extends RecordDraft {
  /** sha256 of the canonical identity (tenant, sha256, name, kind, labels, scope). */
  id: string;
  tenant: string;
  /** Sequence number of the audit event that committed this record. */
  seq: number;
  ingestedAt: string;
}

export interface AuditContext {
  actor: string;
  /** RFC 3339 UTC, whole seconds. */
  time: string;
  /** Recorded in every event the call writes. */
  authorization?: Authorization;
}

export interface PutOutcome {
  record: StoreRecord;
  /** false when an identical record already existed: nothing was added. */
  added: boolean;
}

export interface BlobResult<T> {
  sha256: string;
  size: number;
  result: T;
}

/** Pushes chunks of content; the store hashes what it receives. */
export type BlobFill<T> = (write: (chunk: Buffer) => Promise<void> | void) => Promise<T>;

export interface EvidenceStore {
  readonly location: string;
  /** Store content in the tenant's blob space (idempotent: same bytes, same blob). */
  putBlob<T>(tenant: string, fill: BlobFill<T>): Promise<BlobResult<T>>;
  /**
   * Commit records whose blobs are stored: each new record gets an `ingest` audit event,
   * each identical one an `ingest-duplicate` event and no new record.
   */
  put(tenant: string, drafts: readonly RecordDraft[], ctx: AuditContext): Promise<PutOutcome[]>;
  /** The record with this id, or null. */
  get(tenant: string, id: string): Promise<StoreRecord | null>;
  /** Committed records matching the selection, in commit order. */
  list(tenant: string, selection?: Selection): Promise<StoreRecord[]>;
  /** Stream a blob of this tenant, checking its digest; throws if it is missing or damaged. */
  readBlob(tenant: string, sha256: string, onChunk: (chunk: Buffer) => Promise<void> | void): Promise<number>;
  /**
   * Append one event to each tenant's log. Several tenants are locked in sorted order and
   * the event is built per tenant by `draft`, so a cross-tenant export lands in every log.
   */
  appendAudit(tenants: readonly string[], draft: (tenant: string) => AuditEventDraft, ctx: AuditContext): Promise<AuditEvent[]>;
  /** Committed events of the tenant's log with fromSeq <= seq <= toSeq (all by default). */
  readAudit(tenant: string, range?: { fromSeq?: number; toSeq?: number }): Promise<AuditEvent[]>;
}

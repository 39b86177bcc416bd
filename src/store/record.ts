import { integrityError, tenantError } from '../errors.js';
import { canonicalBytes, canonicalize } from '../json/canonical.js';
import { sha256Hex } from '../crypto/sha256.js';
import { schemaProblem } from '../manifest/schemas.js';
import { unsafeNameReason } from '../bundle/layout.js';
import type { RecordDraft, StoreRecord } from './store.js';

/**
 * A record's identity is its tenant, content digest, name, kind, labels and sub-scope:
 * ingesting the same file with the same metadata again finds the same id and adds nothing;
 * any difference is a new record. The tenant is part of the identity, so identical bytes
 * ingested by two tenants are two unrelated records.
 */
export function recordId(tenant: string, d: Pick<RecordDraft, 'sha256' | 'name' | 'kind' | 'labels' | 'scope'>): string {
  return sha256Hex(canonicalBytes({ tenant, sha256: d.sha256, name: d.name, kind: d.kind, labels: d.labels, scope: d.scope }));
}

export const recordLine = (r: StoreRecord): Buffer => Buffer.concat([canonicalBytes(r), Buffer.from('\n')]);
export const recordDigest = (r: StoreRecord): string => sha256Hex(canonicalBytes(r));

/**
 * Validate one line of a tenant's records.jsonl. A record that names another tenant is
 * refused as a tenant violation (exit 4) before anything else is believed; any other
 * damage (edited, reformatted, an id that no longer matches) is exit 1.
 */
export function parseRecordLine(text: string, tenant: string, where: string): StoreRecord {
  const damaged = (why: string) =>
    integrityError('STORE_RECORD_DAMAGED', `${where}: ${why}; the store is damaged: restore it from a backup or re-ingest the evidence`);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw damaged('not JSON');
  }
  if (doc !== null && typeof doc === 'object' && Object.hasOwn(doc, 'tenant') && (doc as { tenant: unknown }).tenant !== tenant) {
    throw tenantError(
      'STORE_FOREIGN_RECORD',
      `${where}: the record names tenant ${JSON.stringify((doc as { tenant: unknown }).tenant)} but lies in tenant ${tenant}'s namespace: refusing to use it (the store was altered)`,
    );
  }
  let canonical: string;
  try {
    canonical = canonicalize(doc);
  } catch {
    throw damaged('not representable as canonical JSON');
  }
  if (canonical !== text) throw damaged('not canonical JSON (the record was edited)');
  const problem = schemaProblem('store-record', doc);
  if (problem) throw damaged(`not a store record (${problem})`);
  const r = doc as StoreRecord;
  const why = unsafeNameReason(r.name);
  if (why) throw damaged(`the record's name ${JSON.stringify(r.name)} is unsafe (${why})`);
  if (recordId(tenant, r) !== r.id) throw damaged(`record ${r.id} does not match its own content (the record was edited)`);
  return r;
}

import { integrityError, tenantError } from '../errors.js';
import { isWellFormed } from '../json/strict-parse.js';
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
  return sha256Hex(
    `{"kind":${str(d.kind)},"labels":${members(d.labels)},"name":${str(d.name)},"scope":${members(d.scope)},"sha256":${str(d.sha256)},"tenant":${str(tenant)}}`,
  );
}

/**
 * The RFC 8785 form of a record, written out in its fixed member order: the same bytes
 * as the generic canonicalizer (a unit test holds them equal), without copying objects,
 * which matters when 100,000 records are read. Only for schema-valid records: every
 * member a string or a safe integer.
 */
export function canonicalRecord(r: StoreRecord): string {
  return (
    `{"id":${str(r.id)},"ingestedAt":${str(r.ingestedAt)},"kind":${str(r.kind)},"labels":${members(r.labels)},` +
    `"mediaType":${str(r.mediaType)},"name":${str(r.name)},"scope":${members(r.scope)},"seq":${r.seq},` +
    `"sha256":${str(r.sha256)},"size":${r.size},"tenant":${str(r.tenant)}}`
  );
}

const SURROGATE = /[\uD800-\uDFFF]/;

/** JCS refuses lone surrogates, which JSON.stringify would escape. */
function str(s: string): string {
  if (SURROGATE.test(s) && !isWellFormed(s)) throw new TypeError('JCS cannot encode a lone surrogate');
  return JSON.stringify(s);
}

function members(o: Readonly<Record<string, string | undefined>>): string {
  const keys = Object.keys(o).filter((k) => o[k] !== undefined).sort();
  return `{${keys.map((k) => `${str(k)}:${str(o[k]!)}`).join(',')}}`;
}

export const recordLine = (r: StoreRecord): Buffer => Buffer.from(canonicalRecord(r) + '\n', 'utf8');
export const recordDigest = (r: StoreRecord): string => sha256Hex(canonicalRecord(r));

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
  const problem = schemaProblem('store-record', doc);
  if (problem) throw damaged(`not a store record (${problem})`);
  const r = doc as StoreRecord;
  let canonical: string;
  try {
    canonical = canonicalRecord(r);
  } catch {
    throw damaged('not representable as canonical JSON');
  }
  // Also refuses duplicate members, which JSON.parse would silently resolve.
  if (canonical !== text) throw damaged('not canonical JSON (the record was edited)');
  const why = unsafeNameReason(r.name);
  if (why) throw damaged(`the record's name ${JSON.stringify(r.name)} is unsafe (${why})`);
  if (recordId(tenant, r) !== r.id) throw damaged(`record ${r.id} does not match its own content (the record was edited)`);
  return r;
}

import { hash } from 'node:crypto';
import { integrityError, tenantError } from '../errors.js';
import { isWellFormed } from '../json/strict-parse.js';
import { sha256Hex } from '../crypto/sha256.js';
import { schemaProblem } from '../manifest/schemas.js';
import { unsafeNameReason } from '../bundle/layout.js';
import { TENANT_PATTERN } from '../util/tenant.js';
import { KIND_PATTERN, LABEL_NAME } from './labels.js';
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

// The patterns of schemas/store-record.schema.json (a unit test holds them equal).
const HEX64 = /^[0-9a-f]{64}$/;
const SCOPE_VALUE = /^[A-Za-z0-9][A-Za-z0-9._:@/-]{0,127}$/;
const TIME = /^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$/;
const SCOPE_KEYS = new Set(['environment', 'project', 'workspace']);

/**
 * parseRecordLine's common case at a fraction of its cost (a tenant's index is read whole
 * by every listing and export): plain type and pattern checks instead of the generic
 * schema validator, one string comparison against the canonical form, one one-shot hash.
 * It returns a record only when parseRecordLine would return the same one; null means
 * "not sure", and the caller runs parseRecordLine, which refuses the line with its usual
 * message (or, for a rare valid form this skips, accepts it). Never a looser check.
 */
export function quickRecordLine(text: string, tenant: string): StoreRecord | null {
  // A \u escape is the only way a lone surrogate enters a parsed string, and
  // JSON.stringify would write it back unchanged where canonicalRecord refuses it.
  if (text.includes('\\u')) return null;
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof doc !== 'object' || doc === null) return null;
  const r = doc as Record<string, unknown>;
  // The namespace's tenant is already a valid tenant id (TENANT_PATTERN, as the schema).
  if (r.tenant !== tenant || !TENANT_PATTERN.test(tenant)) return null;
  const { id, seq, name, sha256, size, kind, mediaType, ingestedAt } = r;
  // (The id's pattern follows from the hash check below: a hex SHA-256 is nothing else.)
  if (typeof id !== 'string') return null;
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 1) return null;
  // Lengths in UTF-16 units are never below the schema's code-point counts.
  if (typeof name !== 'string' || name.length < 1 || name.length > 4096) return null;
  if (typeof sha256 !== 'string' || !HEX64.test(sha256)) return null;
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) return null;
  if (typeof kind !== 'string' || !KIND_PATTERN.test(kind)) return null;
  if (typeof mediaType !== 'string' || mediaType.length < 1 || mediaType.length > 255) return null;
  if (typeof ingestedAt !== 'string' || !TIME.test(ingestedAt)) return null;
  const labels = quickMembers(r.labels, (k, v) => LABEL_NAME.test(k) && v.length >= 1 && v.length <= 256);
  const scope = quickMembers(r.scope, (k, v) => SCOPE_KEYS.has(k) && SCOPE_VALUE.test(v));
  if (labels === null || scope === null) return null;
  // Pattern-checked strings need no escaping; the others are written as str() writes them.
  const n = JSON.stringify(name);
  const canonical =
    `{"id":"${id}","ingestedAt":"${ingestedAt}","kind":"${kind}","labels":${labels},` +
    `"mediaType":${JSON.stringify(mediaType)},"name":${n},"scope":${scope},"seq":${seq},` +
    `"sha256":"${sha256}","size":${size},"tenant":"${tenant}"}`;
  // Equal to the text, so the text has exactly these members (no other, none twice).
  if (canonical !== text) return null;
  if (unsafeNameReason(name) !== null) return null;
  const identity = `{"kind":"${kind}","labels":${labels},"name":${n},"scope":${scope},"sha256":"${sha256}","tenant":"${tenant}"}`;
  if (hash('sha256', identity, 'hex') !== id) return null;
  return doc as StoreRecord;
}

/**
 * members() of a parsed object whose keys come in strictly increasing order (then sorting
 * them would change nothing); null if it is no plain object, a member fails `ok`, or the
 * order differs (integer-like keys, which objects list first, go the full way).
 */
function quickMembers(o: unknown, ok: (k: string, v: string) => boolean): string | null {
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return null;
  const obj = o as Record<string, unknown>;
  let out = '{';
  let prev: string | undefined;
  for (const k of Object.keys(obj)) {
    const v = obj[k];
    if (typeof v !== 'string' || (prev !== undefined && !(prev < k)) || !ok(k, v)) return null;
    out += `${prev === undefined ? '' : ','}"${k}":${JSON.stringify(v)}`;
    prev = k;
  }
  return out + '}';
}

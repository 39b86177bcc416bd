import type { Category } from '../errors.js';
import { canonicalize } from '../json/canonical.js';
import { schemaProblem } from '../manifest/schemas.js';
import { eventHash, GENESIS_HASH, isStub, type AuditEvent, type BundleAuditLine } from './event.js';

export interface ChainProblem {
  category: Extract<Category, 'integrity' | 'tenant'>;
  code: string;
  /** 1-based line of the file, 0 when the problem is not tied to a line. */
  line: number;
  message: string;
}

export interface ParsedLog {
  lines: BundleAuditLine[];
  /** Bytes after the last newline: an append in progress or cut off by a crash. */
  tornTail: number;
}

/**
 * Parse JSON Lines of audit events. Each line must be the canonical JSON of a schema-valid
 * event (so duplicate keys or reformatting are caught as damage). A last line without its
 * newline was never committed; the caller decides whether that is acceptable.
 */
export function parseAuditLines(bytes: Buffer, where: string, allowStubs: boolean): ParsedLog | ChainProblem {
  const lines: BundleAuditLine[] = [];
  let start = 0;
  let lineNo = 0;
  while (start < bytes.length) {
    const nl = bytes.indexOf(0x0a, start);
    if (nl < 0) return { lines, tornTail: bytes.length - start };
    lineNo++;
    const text = bytes.toString('utf8', start, nl);
    start = nl + 1;
    const bad = (why: string): ChainProblem => ({ category: 'integrity', code: 'AUDIT_DAMAGED', line: lineNo, message: `${where} line ${lineNo} ${why}` });
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch {
      return bad('is not JSON');
    }
    let canonical: string;
    try {
      canonical = canonicalize(doc);
    } catch {
      return bad('is not representable as canonical JSON');
    }
    if (canonical !== text) return bad('is not canonical JSON (the file was edited)');
    const problem = schemaProblem('audit-event', doc);
    if (problem) return bad(`is not an audit event: ${problem}`);
    const ev = doc as BundleAuditLine;
    if (!allowStubs && isStub(ev)) return bad('is a stub; a store log holds full events only');
    lines.push(ev);
  }
  return { lines, tornTail: 0 };
}

/**
 * Check the links of a run of events: consecutive sequence numbers, each `prev` equal to
 * the previous `hash`, and each full event's `hash` recomputed. A stub's own hash cannot
 * be recomputed, but the next event pins it, and the last event is pinned from outside
 * (the signed manifest, or nothing for a store's own log). `expectedStart` fixes the
 * first event's seq and prev when the run is known to begin the log.
 */
export function checkLinks(
  lines: readonly BundleAuditLine[],
  where: string,
  expectedStart?: { seq: number; prev: string },
): ChainProblem | null {
  let prior: BundleAuditLine | undefined;
  for (let k = 0; k < lines.length; k++) {
    const e = lines[k]!;
    const at = (code: string, why: string): ChainProblem => ({
      category: 'integrity',
      code,
      line: k + 1,
      message: `${where}: broken link at seq ${e.seq} (line ${k + 1}): ${why}`,
    });
    if (prior === undefined) {
      if (expectedStart && e.seq !== expectedStart.seq) return at('AUDIT_SEQUENCE', `expected seq ${expectedStart.seq}`);
      if (expectedStart && e.prev !== expectedStart.prev) return at('AUDIT_LINK', `prev is ${e.prev}, expected ${expectedStart.prev}`);
    } else {
      if (e.seq !== prior.seq + 1) return at('AUDIT_SEQUENCE', `follows seq ${prior.seq}: events are missing, repeated or reordered`);
      if (e.prev !== prior.hash) return at('AUDIT_LINK', `prev ${e.prev} is not the hash ${prior.hash} of seq ${prior.seq}`);
    }
    if (!isStub(e) && eventHash(e as AuditEvent) !== e.hash) return at('AUDIT_HASH', 'the event does not hash to its recorded hash (it was altered)');
    prior = e;
  }
  return null;
}

/** Every line must belong to `tenant`; a foreign event is a tenant violation, not damage. */
export function checkTenant(lines: readonly BundleAuditLine[], tenant: string, where: string): ChainProblem | null {
  for (let k = 0; k < lines.length; k++) {
    const e = lines[k]!;
    if (e.tenant !== tenant) {
      return { category: 'tenant', code: 'AUDIT_FOREIGN_TENANT', line: k + 1, message: `${where}: event seq ${e.seq} (line ${k + 1}) belongs to tenant ${e.tenant}, not ${tenant}` };
    }
  }
  return null;
}

/** A store log starts at seq 1 from the genesis hash and holds full events only. */
export function verifyStoreLog(events: readonly AuditEvent[], tenant: string, where: string): ChainProblem | null {
  return checkLinks(events, where, { seq: 1, prev: GENESIS_HASH }) ?? checkTenant(events, tenant, where);
}

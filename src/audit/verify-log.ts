import { StellaError, ExitCode, type Category } from '../errors.js';
import type { EvidenceStore } from '../store/store.js';
import { recordDigest } from '../store/record.js';
import type { AuditEvent } from './event.js';

export interface LogProblem {
  category: Category;
  code: string;
  message: string;
}

export interface LogReport {
  tenant: string;
  verified: boolean;
  exitCode: number;
  events: number;
  records: number;
  head: { seq: number; hash: string } | null;
  problem: LogProblem | null;
}

/**
 * Check a tenant's audit log in the store from its genesis: every link and hash (the store
 * checks them as it reads), every event this tenant's, and the log and the record index in
 * agreement: each committed record has the ingest event that committed it, pinning the
 * record's exact bytes, and each ingest event's record exists. Reports the first problem.
 */
export async function verifyTenantLog(store: EvidenceStore, tenant: string): Promise<LogReport> {
  const report: LogReport = { tenant, verified: false, exitCode: ExitCode.ok, events: 0, records: 0, head: null, problem: null };
  const fail = (category: Category, code: string, message: string): LogReport => {
    report.problem = { category, code, message };
    report.exitCode = ExitCode[category];
    return report;
  };
  let events: AuditEvent[];
  try {
    events = await store.readAudit(tenant);
  } catch (e) {
    if (e instanceof StellaError && e.category !== 'usage') return fail(e.category, e.code, e.message);
    throw e;
  }
  report.events = events.length;
  const last = events[events.length - 1];
  report.head = last ? { seq: last.seq, hash: last.hash } : null;
  let records;
  try {
    records = await store.list(tenant);
  } catch (e) {
    if (e instanceof StellaError && e.category !== 'usage') return fail(e.category, e.code, e.message);
    throw e;
  }
  report.records = records.length;
  const ids = new Set<string>();
  for (const r of records) {
    ids.add(r.id);
    const ev = events[r.seq - 1];
    if (!ev || ev.type !== 'ingest' || ev.record !== r.id) {
      return fail('integrity', 'AUDIT_RECORD_UNLOGGED', `record ${r.id} (${r.name}) claims seq ${r.seq}, but that event did not ingest it: the record index or the log was altered`);
    }
    if (ev.recordSha256 !== recordDigest(r)) {
      return fail('integrity', 'AUDIT_RECORD_CHANGED', `record ${r.id} (${r.name}) differs from what its ingest event seq ${r.seq} committed: the record was edited`);
    }
  }
  for (const ev of events) {
    if (ev.type === 'ingest' && (ev.record === undefined || !ids.has(ev.record))) {
      return fail('integrity', 'AUDIT_RECORD_MISSING', `ingest event seq ${ev.seq} committed record ${ev.record ?? '(none)'}, which is missing from the record index`);
    }
  }
  report.verified = true;
  return report;
}

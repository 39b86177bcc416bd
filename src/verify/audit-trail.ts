import { checkLinks, checkTenant, parseAuditLines } from '../audit/chain.js';
import { isStub, type AuditEvent } from '../audit/event.js';
import type { Statement } from '../manifest/statement.js';
import { matcher } from '../store/selector.js';
import type { Category } from '../errors.js';

/** A run of a tenant's audit chain carried by a store export. */
export const AUDIT_ENTRY = /^audit\/[a-z0-9][a-z0-9._-]{0,62}\.jsonl$/;

export interface TrailProblem {
  category: Category;
  code: string;
  message: string;
}

export interface TrailVerdict {
  /** Damage: a file not as pinned, a broken link, an artifact no event ingested. */
  integrity: TrailProblem | null;
  /** An event of another tenant than its file's, or a file for a tenant not in the bundle. */
  tenant: TrailProblem | null;
  summary: string;
}

/** Does this bundle carry an audit trail at all (loose-file exports do not)? */
export const hasAuditTrail = (st: Statement | null, entryNames: Iterable<string>): boolean =>
  !!st?.predicate.audit || [...entryNames].some((n) => AUDIT_ENTRY.test(n));

/**
 * Check the audit runs a store export carries, against the signed manifest only: each
 * file exactly as pinned (digest, first and last sequence number, hash of the last
 * event), its chain linked from first to last event, every exported artifact ingested by
 * an event of the run, and every event belonging to the file's tenant, which must be a
 * tenant of the bundle. Nothing the files say about themselves is trusted on its own.
 */
export function checkAuditTrail(st: Statement, files: ReadonlyMap<string, Buffer>): TrailVerdict {
  const p = st.predicate;
  const pins = p.audit ?? [];
  const bundleTenants = new Set(p.crossTenant ? p.crossTenant.tenants : [p.tenant]);
  const verdict: TrailVerdict = { integrity: null, tenant: null, summary: '' };
  const damage = (code: string, message: string) => (verdict.integrity ??= { category: 'integrity', code, message });
  const foreign = (code: string, message: string) => (verdict.tenant ??= { category: 'tenant', code, message });

  const pinned = new Set<string>();
  const tenantOf = (path: string) => path.slice('audit/'.length, -'.jsonl'.length);
  for (const pin of pins) {
    if (pinned.has(pin.path)) damage('AUDIT_PIN_INVALID', `the manifest pins ${pin.path} twice: one file audit/<tenant>.jsonl per tenant is expected`);
    pinned.add(pin.path);
  }
  for (const name of files.keys()) if (!pinned.has(name)) damage('AUDIT_UNPINNED', `${name} is not pinned by the signed manifest`);
  // An artifact of a tenant foreign to the bundle is the tenant check's to refuse.
  const withArtifacts = new Set(p.artifacts.map((a) => a.tenant).filter((t) => bundleTenants.has(t)));
  if (pins.length) for (const t of withArtifacts) if (!pins.some((x) => tenantOf(x.path) === t)) damage('AUDIT_MISSING', `the manifest pins no audit trail for tenant ${t}, whose artifacts the bundle holds`);

  let events = 0;
  let stubs = 0;
  for (const pin of pins) {
    const tenant = tenantOf(pin.path);
    if (!bundleTenants.has(tenant)) foreign('AUDIT_FOREIGN_TENANT', `${pin.path} is the audit trail of tenant ${tenant}, which is not a tenant of this bundle`);
    const bytes = files.get(pin.path);
    if (!bytes) {
      damage('AUDIT_FILE_MISSING', `${pin.path}, pinned by the manifest, is missing`);
      continue;
    }
    const parsed = parseAuditLines(bytes, pin.path, true);
    if ('code' in parsed) {
      damage(parsed.code, parsed.message);
      continue;
    }
    if (parsed.tornTail) damage('AUDIT_DAMAGED', `${pin.path} does not end with a complete line`);
    const lines = parsed.lines;
    const first = lines[0];
    const last = lines[lines.length - 1];
    if (!first || !last) {
      damage('AUDIT_DAMAGED', `${pin.path} holds no events`);
      continue;
    }
    const broken = checkLinks(lines, pin.path, { seq: pin.firstSeq, prev: first.prev });
    if (broken) damage(broken.code, broken.message);
    if (last.seq !== pin.lastSeq || last.hash !== pin.lastHash) {
      damage('AUDIT_PIN_MISMATCH', `${pin.path} ends at seq ${last.seq} with hash ${last.hash}; the signed manifest pins seq ${pin.lastSeq} and ${pin.lastHash}`);
    }
    const wrong = checkTenant(lines, tenant, pin.path);
    if (wrong) foreign(wrong.code, wrong.message);
    const ingested = new Set<string>();
    for (const l of lines) {
      if (isStub(l)) {
        stubs++;
        continue;
      }
      events++;
      const e = l as AuditEvent;
      if (e.type === 'ingest') for (const d of e.artifacts) ingested.add(d);
    }
    for (const a of p.artifacts) {
      if (a.tenant === tenant && !ingested.has(a.sha256)) {
        damage('AUDIT_UNCOVERED', `artifact ${a.name} has no ingest event in ${pin.path}`);
        break;
      }
    }
  }
  verdict.summary = `${pins.length} audit trail(s): ${events} event(s) and ${stubs} stub(s), chains linked up to the pinned hashes, every artifact ingested`;
  return verdict;
}

/**
 * A store export records what was asked for; every artifact must answer it (kind,
 * sub-scope and label selectors; the time bounds are on ingest events, checked above).
 */
export function selectionProblem(st: Statement): TrailProblem | null {
  const sel = st.predicate.selection;
  if (!sel) return null;
  const match = matcher({ selectors: sel.selectors });
  for (const a of st.predicate.artifacts) {
    if (!match({ kind: a.kind, labels: a.labels ?? {}, scope: a.scope ?? {}, ingestedAt: '' })) {
      return { category: 'integrity', code: 'SELECTION_MISMATCH', message: `artifact ${a.name} does not match the selection the manifest records` };
    }
  }
  return null;
}

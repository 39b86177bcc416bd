import { verifyTenantLog } from '../audit/verify-log.js';
import type { AuditEvent } from '../audit/event.js';
import { out, printJson } from './io.js';
import { openStore } from './store.js';
import { authorizeFlags, type AuthorityFlags } from './auth.js';
import { SCOPE } from '../authority/scopes.js';

export interface AuditFlags extends AuthorityFlags {
  tenant?: string[];
  store?: string;
  json?: boolean;
}

export async function auditVerifyCommand(o: AuditFlags): Promise<number> {
  const tenant = (await authorizeFlags(o, [SCOPE.audit])).tenant;
  const store = openStore(o.store, false);
  const r = await verifyTenantLog(store, tenant);
  if (o.json) printJson({ store: store.location, ...r });
  else if (r.verified) {
    out(`audit log of tenant ${tenant} is intact: ${r.events} event(s), ${r.records} record(s) all logged`);
    if (r.head) out(`  head  seq ${r.head.seq}  ${r.head.hash}`);
  } else out(`audit log of tenant ${tenant} is NOT intact (exit ${r.exitCode})`);
  if (r.problem) process.stderr.write(`stella-evidence: audit verify failed: ${r.problem.message}\n`);
  return r.exitCode;
}

export async function auditListCommand(o: AuditFlags): Promise<void> {
  const tenant = (await authorizeFlags(o, [SCOPE.audit])).tenant;
  const store = openStore(o.store, false);
  const events = await store.readAudit(tenant);
  if (o.json) {
    printJson({ store: store.location, tenant, events });
    return;
  }
  const lines = events.map(describe);
  if (lines.length) process.stdout.write(lines.join('\n') + '\n');
  out(`${events.length} event(s) of tenant ${tenant}`);
}

function describe(e: AuditEvent): string {
  const what =
    e.type === 'ingest' || e.type === 'ingest-duplicate'
      ? `${e.artifacts[0]?.slice(0, 12) ?? ''} record ${e.record?.slice(0, 12) ?? ''}`
      : `${e.artifacts.length} artifact(s) manifest ${e.manifestSha256?.slice(0, 12) ?? ''}` +
        (e.tenants ? ` tenants ${e.tenants.join(',')} reason ${JSON.stringify(e.reason)}` : '');
  return `${String(e.seq).padStart(6)}  ${e.time}  ${e.type.padEnd(19)}  ${e.actor}  ${what}`;
}

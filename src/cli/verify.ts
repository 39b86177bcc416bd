import { loadTrustFile } from '../trust/trust-file.js';
import { requireTenantId } from '../util/tenant.js';
import { parseRfc3339 } from '../util/time.js';
import { verifyBundle } from '../verify/verifier.js';
import { decisiveFailure, type VerifyReport } from '../verify/report.js';
import { out, printJson } from './io.js';
import { limitsFromFlags } from './limits.js';
import { progressBar, wantProgress } from './progress.js';
import { describeAuthorization } from '../authority/record.js';

export const NEXT_STEP: Record<string, string> = {
  integrity: 'the bundle is damaged or was altered: obtain a fresh copy from the exporter',
  trust: 'check that the trust file holds valid keys of enough signers for this tenant (stella-evidence trust list)',
  tenant: 'this bundle is not for the tenant you expect: do not use its evidence',
};

export interface VerifyFlags {
  trust: string;
  tenant?: string;
  at?: string;
  allowCrossTenant?: boolean;
  json?: boolean;
  quiet?: boolean;
  maxArchiveBytes?: string;
  maxEntries?: string;
}

export async function verifyCommand(bundle: string, o: VerifyFlags): Promise<number> {
  const expected = o.tenant === undefined ? undefined : requireTenantId(o.tenant);
  const at = o.at === undefined ? undefined : parseRfc3339(o.at, '--at');
  const trust = loadTrustFile(o.trust);
  const bar = progressBar(wantProgress(o));
  let report: VerifyReport;
  try {
    report = await verifyBundle({
      bundle,
      trust,
      tenant: expected,
      at,
      allowCrossTenant: !!o.allowCrossTenant,
      limits: limitsFromFlags(o),
      onProgress: (p) => bar.update({ label: 'verify', bytes: p.bytes, totalBytes: p.totalBytes, files: p.entries }),
    });
  } finally {
    bar.done();
  }
  if (o.json) printJson(report);
  else printVerifyReport(report);
  reportFailure('verification failed', report);
  return report.exitCode;
}

/** The one line on stderr that names the decisive failure and what to do about it. */
export function reportFailure(what: string, r: VerifyReport): void {
  const f = decisiveFailure(r);
  if (f) process.stderr.write(`stella-evidence: ${what}: ${f.name}: ${f.message}; ${NEXT_STEP[f.category] ?? ''}\n`);
}

export function printVerifyReport(r: VerifyReport): void {
  for (const c of r.checks) out(`${c.status.toUpperCase().padEnd(4)}  ${c.name.padEnd(10)}  ${c.message}`);
  if (r.tenant !== null) out(`      authority   ${describeAuthorization(r.authorization)}`);
  for (const s of r.signers) {
    const id = s.keyid || '(no keyid)';
    out(s.status === 'valid' ? `      signed by   ${id}` : `      ignored     ${id}  [${s.status}] ${s.reason ?? ''}`);
  }
  if (r.verified) {
    out(
      `verified: ${r.bundle} is intact and signed for tenant ${r.tenant} (${r.artifacts} artifacts, created ${r.createdAt}` +
        `, ${r.signers.filter((s) => s.status === 'valid').length} of threshold ${r.threshold} valid signers at ${r.evaluatedAt})`,
    );
  } else out(`NOT VERIFIED: ${r.bundle} (exit ${r.exitCode})`);
}

import { loadTrustFile } from '../trust/trust-file.js';
import { requireTenantId } from '../util/tenant.js';
import { verifyBundle } from '../verify/verifier.js';
import { decisiveFailure, type VerifyReport } from '../verify/report.js';
import { out, printJson } from './io.js';

const NEXT_STEP: Record<string, string> = {
  integrity: 'the bundle is damaged or was altered: obtain a fresh copy from the exporter',
  trust: 'check that the trust file holds the signer\'s key for this tenant (stella-evidence trust add)',
  tenant: 'this bundle is not for the tenant you expect: do not use its evidence',
};

export async function verifyCommand(bundle: string, o: { trust: string; tenant?: string; json?: boolean }): Promise<number> {
  const expected = o.tenant === undefined ? undefined : requireTenantId(o.tenant);
  const trust = loadTrustFile(o.trust);
  const report = await verifyBundle({ bundle, trust, tenant: expected });
  if (o.json) printJson(report);
  else printHuman(report);
  const f = decisiveFailure(report);
  if (f) process.stderr.write(`stella-evidence: verification failed: ${f.name}: ${f.message}; ${NEXT_STEP[f.category] ?? ''}\n`);
  return report.exitCode;
}

function printHuman(r: VerifyReport): void {
  for (const c of r.checks) out(`${c.status.toUpperCase().padEnd(4)}  ${c.name.padEnd(10)}  ${c.message}`);
  for (const s of r.signers) out(`      signer      ${s.keyid || '(no keyid)'}: ${s.status}`);
  if (r.verified) out(`verified: ${r.bundle} is intact and signed for tenant ${r.tenant} (${r.artifacts} artifacts, created ${r.createdAt})`);
  else out(`NOT VERIFIED: ${r.bundle} (exit ${r.exitCode})`);
}

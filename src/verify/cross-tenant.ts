import type { DsseEnvelope } from '../crypto/dsse.js';
import type { Statement } from '../manifest/statement.js';
import type { TrustStore } from '../trust/trust-file.js';
import type { SignerResult } from './report.js';
import { evaluateSignatures, type SignatureCheck, type SignatureVerdict } from './signatures.js';

/** The tenants a bundle involves: all of a cross-tenant bundle's, else its one tenant. */
export const involvedTenants = (st: Statement): string[] => (st.predicate.crossTenant ? [...st.predicate.crossTenant.tenants] : [st.predicate.tenant]);

/**
 * A cross-tenant bundle needs, for every tenant involved, signatures that satisfy that
 * tenant's trust (its keys, threshold and key lifetimes): no tenant vouches for another's
 * evidence. The first failing tenant decides; signers are merged per signature, a
 * signature counting as valid if it is valid for any involved tenant.
 */
export function evaluateCrossTenant(
  envelope: DsseEnvelope,
  payload: Uint8Array,
  trust: TrustStore,
  tenants: readonly string[],
  at: string,
  verify?: SignatureCheck,
): SignatureVerdict {
  const verdicts = tenants.map((t) => evaluateSignatures(envelope, payload, trust, t, at, verify));
  const rank = (s: SignerResult) => (s.status === 'valid' ? 0 : s.status === 'duplicate' ? 1 : 2);
  const signers = verdicts[0]!.signers.map((_, k) => verdicts.map((v) => v.signers[k]!).sort((a, b) => rank(a) - rank(b))[0]!);
  const failed = verdicts.find((v) => !v.ok);
  const validKeyids = [...new Set(verdicts.flatMap((v) => v.validKeyids))].sort();
  const threshold = Math.max(...verdicts.map((v) => v.threshold));
  if (failed) {
    const t = tenants[verdicts.indexOf(failed)]!;
    return { ...failed, signers, validKeyids, threshold, message: `cross-tenant bundle, tenant ${t}: ${failed.message}` };
  }
  return { ...verdicts[0]!, signers, validKeyids, threshold, message: `cross-tenant bundle: ${tenants.map((t, k) => `${t}: ${verdicts[k]!.validKeyids.length} valid`).join(', ')} (each tenant's threshold met)` };
}

/**
 * The tenant rules of a cross-tenant bundle the reviewer accepted: the requesting tenant
 * is one of those listed, the reviewer's --tenant too, and every artifact belongs to a
 * listed tenant and is named under it (`tenant/...`).
 */
export function crossTenantProblem(st: Statement, expected: string | undefined): string | null {
  const ct = st.predicate.crossTenant!;
  const listed = new Set(ct.tenants);
  if (!listed.has(st.predicate.tenant)) return `the requesting tenant ${st.predicate.tenant} is not among the bundle's tenants ${ct.tenants.join(', ')}`;
  if (expected !== undefined && !listed.has(expected)) return `bundle involves tenants ${ct.tenants.join(', ')}, not ${expected}`;
  for (const a of st.predicate.artifacts) {
    if (!listed.has(a.tenant)) return `artifact ${a.name} belongs to tenant ${a.tenant}, which is not among the bundle's tenants ${ct.tenants.join(', ')}`;
    if (!a.name.startsWith(`${a.tenant}/`)) return `artifact ${a.name} of tenant ${a.tenant} is not named under ${a.tenant}/`;
  }
  return null;
}

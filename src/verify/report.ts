import { exitCodeFor, type Category } from '../errors.js';
import type { Authorization } from '../authority/record.js';

export type CheckStatus = 'pass' | 'fail' | 'skip';

/** One named check in the fixed order the verifier runs them. */
export interface CheckResult {
  name: string;
  status: CheckStatus;
  /** The category a failure counts in (decides the exit code). */
  category: Category;
  /** Stable machine-readable code: OK, SKIPPED, or a failure code. */
  code: string;
  message: string;
}

/**
 * One signature of the envelope. Only `valid` counts towards the threshold; every other
 * status says why the signature was ignored (the key is unknown for the tenant, the
 * signature is wrong, the key was not valid at the evaluation time, or it already counted).
 */
export interface SignerResult {
  keyid: string;
  status: 'valid' | 'unknown-key' | 'bad-signature' | 'expired' | 'not-yet-valid' | 'revoked' | 'duplicate';
  reason?: string;
}

export interface VerifyReport {
  bundle: string;
  verified: boolean;
  exitCode: number;
  /** The tenant the manifest names (null when it could not be read). */
  tenant: string | null;
  expectedTenant: string | null;
  createdAt: string | null;
  manifestSha256: string | null;
  artifacts: number | null;
  threshold: number | null;
  /** What the signed manifest records about who authorized the export (null: not readable or not recorded). */
  authorization: Authorization | null;
  /** The instant key lifetimes were evaluated at: --at, else the bundle's creation time. */
  evaluatedAt: string | null;
  signers: SignerResult[];
  checks: CheckResult[];
}

export function finishReport(r: Omit<VerifyReport, 'verified' | 'exitCode'>): VerifyReport {
  const failed: Category[] = r.checks.filter((c) => c.status === 'fail').map((c) => c.category);
  const exitCode = exitCodeFor(failed);
  return { ...r, verified: exitCode === 0, exitCode };
}

/** The first failing check in precedence order: what the one-line error names. */
export function decisiveFailure(r: VerifyReport): CheckResult | undefined {
  const failed = r.checks.filter((c) => c.status === 'fail');
  for (const cat of ['integrity', 'trust', 'tenant', 'usage'] as const) {
    const f = failed.find((c) => c.category === cat);
    if (f) return f;
  }
  return undefined;
}

import type { KeyState, TrustStore } from './trust-file.js';

/** `trust list`: every tenant's threshold and keys with their state at one instant. */
export interface TrustListing {
  trust: string;
  at: string;
  tenants: Array<{
    tenant: string;
    threshold: number;
    /** Distinct keys valid at `at`: when below the threshold, no bundle of the tenant can verify now. */
    validKeys: number;
    keys: Array<{
      keyid: string;
      state: KeyState;
      validFrom: string | null;
      validUntil: string | null;
      revokedFor: 'tenant' | 'all' | null;
      reason: string | null;
      comment: string | null;
    }>;
  }>;
  /** Keys revoked for every tenant. */
  revoked: Array<{ keyid: string; reason: string | null }>;
}

export function listTrust(store: TrustStore, path: string, at: string): TrustListing {
  return {
    trust: path,
    at,
    tenants: store.tenants().map((tenant) => {
      const keys = store.standingsAt(tenant, at).map((s) => ({
        keyid: s.key.keyid,
        state: s.state,
        validFrom: s.validFrom,
        validUntil: s.validUntil,
        revokedFor: s.revokedFor,
        reason: s.revokedReason,
        comment: s.key.comment ?? null,
      }));
      return { tenant, threshold: store.thresholdFor(tenant), validKeys: keys.filter((k) => k.state === 'valid').length, keys };
    }),
    revoked: store.globalRevocations().map((r) => ({ keyid: r.keyid, reason: r.reason ?? null })),
  };
}

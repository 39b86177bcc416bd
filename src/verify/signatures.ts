import { verifySignature, type DsseEnvelope } from '../crypto/dsse.js';
import type { PublicKey } from '../crypto/keys.js';
import type { KeyStanding, TrustStore } from '../trust/trust-file.js';
import type { SignerResult } from './report.js';

/** verifySignature, or a stand-in answering from results computed earlier (same inputs, same answer). */
export type SignatureCheck = (payloadType: string, payload: Uint8Array, sigB64: string, key: PublicKey) => boolean;

export interface SignatureVerdict {
  /** Passed: at least `threshold` distinct trusted keys, valid at `at`, signed. */
  ok: boolean;
  /** Failure code when not ok. */
  code: string;
  message: string;
  threshold: number;
  at: string;
  signers: SignerResult[];
  /** Distinct key ids that counted, sorted. */
  validKeyids: string[];
}

/**
 * Count the envelope's signatures against the keys the trust file holds for `tenant`,
 * with key lifetimes and revocations evaluated at `at`. A key counts once however often
 * it signs; keys are compared by key id (SPKI DER digest). The signature's own keyid is
 * an unsigned hint: when it names no trusted key, every trusted key is tried.
 */
export function evaluateSignatures(
  envelope: DsseEnvelope,
  payload: Uint8Array,
  trust: TrustStore,
  tenant: string,
  at: string,
  verify: SignatureCheck = verifySignature,
): SignatureVerdict {
  const standings = trust.standingsAt(tenant, at);
  const threshold = trust.thresholdFor(tenant);
  const counted = new Set<string>();
  const signers: SignerResult[] = [];
  for (const sig of envelope.signatures) {
    const candidates = standings.filter((s) => s.key.keyid === sig.keyid);
    const tryKeys = candidates.length ? candidates : standings;
    const good: KeyStanding | undefined = tryKeys.find((s) => verify(envelope.payloadType, payload, sig.sig, s.key));
    if (!good) {
      signers.push(
        candidates.length
          ? { keyid: sig.keyid, status: 'bad-signature', reason: 'bad signature: it does not verify with this trusted key' }
          : { keyid: sig.keyid, status: 'unknown-key', reason: `unknown key: no key trusted for tenant ${tenant} made this signature` },
      );
      continue;
    }
    const keyid = good.key.keyid;
    if (good.state !== 'valid') signers.push({ keyid, status: good.state, reason: good.why ?? good.state });
    else if (counted.has(keyid)) signers.push({ keyid, status: 'duplicate', reason: 'duplicate: this key already counted' });
    else {
      counted.add(keyid);
      signers.push({ keyid, status: 'valid' });
    }
  }
  const validKeyids = [...counted].sort();
  const base = { threshold, at, signers, validKeyids };
  if (standings.length === 0) {
    return {
      ...base,
      ok: false,
      code: 'NO_TRUSTED_KEYS',
      message: `the trust file holds no key for tenant ${tenant}: add one with "stella-evidence trust add --tenant ${tenant}"`,
    };
  }
  if (counted.size >= threshold) {
    return { ...base, ok: true, code: 'OK', message: `${counted.size} valid signature(s) by distinct keys trusted for tenant ${tenant} at ${at} (threshold ${threshold})` };
  }
  const notCounted = signers.filter((s) => s.status !== 'valid' && s.status !== 'duplicate');
  const code = notCounted.some((s) => s.status === 'bad-signature')
    ? 'BAD_SIGNATURE'
    : notCounted.some((s) => s.status === 'expired' || s.status === 'not-yet-valid' || s.status === 'revoked')
      ? 'KEY_NOT_VALID'
      : counted.size > 0
        ? 'THRESHOLD_NOT_MET'
        : 'NOT_TRUSTED';
  const parts = [`${counted.size} of ${threshold} required signature(s) by distinct keys trusted for tenant ${tenant} and valid at ${at}`];
  if (counted.size) parts.push(`counted: ${validKeyids.join(', ')}`);
  if (notCounted.length) parts.push(`not counted: ${notCounted.map((s) => `${s.keyid || '(no keyid)'} ${s.reason ?? s.status}`).join('; ')}`);
  const unsigned = standings.filter((s) => s.state === 'valid' && !counted.has(s.key.keyid)).map((s) => s.key.keyid);
  if (unsigned.length) parts.push(`valid trusted keys that did not sign: ${unsigned.join(', ')}`);
  else if (!notCounted.length && !counted.size) parts.push('no signature by a key trusted for this tenant');
  return { ...base, ok: false, code, message: parts.join('; ') };
}

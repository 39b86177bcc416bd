import { usageError } from '../errors.js';
import { IN_TOTO_PAYLOAD_TYPE } from '../crypto/dsse.js';
import { canonicalize } from '../json/canonical.js';
import { parseStrictJsonBytes } from '../json/strict-parse.js';
import type { TrustStore } from '../trust/trust-file.js';
import { decisiveFailure } from '../verify/report.js';
import { evaluateSignatures } from '../verify/signatures.js';
import { verifyBundleDetailed } from '../verify/verifier.js';
import type { DiffInput } from './diff.js';
import { loadDiffSide } from './load-side.js';

export interface SideVerification {
  trust: TrustStore;
  /** The tenant both sides must belong to; without it each side is checked for its own. */
  tenant?: string | undefined;
  at?: string | undefined;
}

/** A side as it claims to be: nothing checked, signers are the key ids the envelope names. */
export async function loadUnverifiedSide(path: string): Promise<DiffInput> {
  const s = await loadDiffSide(path);
  return { path, form: s.form, statement: s.statement, signers: s.form === 'manifest' ? null : s.signatureKeyids };
}

/**
 * A side that verifies, or an input error (exit 2) naming why it does not. A bundle is
 * verified fully, as `verify` would. An envelope carries no blobs, so what can be checked
 * is checked: its payload is a canonical manifest, its signatures meet the tenant's
 * threshold in the trust file, and the tenant is the expected one. A bare manifest.json
 * has no signature and is refused. The signers are the keys whose signatures counted.
 */
export async function loadVerifiedSide(path: string, v: SideVerification): Promise<DiffInput> {
  const refuse = (why: string) => usageError('DIFF_SIDE_UNVERIFIED', `${path} does not verify, refusing to diff it: ${why}`);
  const s = await loadDiffSide(path);
  if (s.form === 'manifest') {
    throw usageError(
      'DIFF_SIDE_UNVERIFIABLE',
      `${path} is a bare manifest.json: it carries no signature, so --trust cannot verify it; diff the bundles or their manifest.dsse.json instead`,
    );
  }
  if (s.form === 'bundle') {
    const r = await verifyBundleDetailed({ bundle: path, trust: v.trust, tenant: v.tenant, at: v.at });
    const f = decisiveFailure(r.report);
    if (f || !r.statement) throw refuse(f ? `${f.name}: ${f.message}` : 'no manifest');
    return { path, form: 'bundle', statement: r.statement, signers: validSigners(r.report.signers) };
  }
  const { envelope, payload } = s.envelope!;
  if (envelope.payloadType !== IN_TOTO_PAYLOAD_TYPE) throw refuse(`payloadType ${JSON.stringify(envelope.payloadType)} is not ${IN_TOTO_PAYLOAD_TYPE}`);
  if (canonicalize(parseStrictJsonBytes(payload)) !== payload.toString('utf8')) throw refuse('the payload is not canonical JSON (RFC 8785)');
  const p = s.statement.predicate;
  const verdict = evaluateSignatures(envelope, payload, v.trust, p.tenant, v.at ?? p.createdAt);
  if (!verdict.ok) throw refuse(`signatures: ${verdict.message}`);
  if (v.tenant !== undefined && v.tenant !== p.tenant) throw refuse(`tenant: it belongs to tenant ${p.tenant}, not ${v.tenant}`);
  const foreign = p.artifacts.find((a) => a.tenant !== p.tenant);
  if (foreign) throw refuse(`tenant: artifact ${foreign.name} belongs to tenant ${foreign.tenant}, not ${p.tenant}`);
  return { path, form: 'envelope', statement: s.statement, signers: verdict.validKeyids };
}

const validSigners = (signers: ReadonlyArray<{ keyid: string; status: string }>): string[] =>
  [...new Set(signers.filter((x) => x.status === 'valid').map((x) => x.keyid))].sort();

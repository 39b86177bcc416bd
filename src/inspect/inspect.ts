import { loadDiffSide } from '../diff/load-side.js';
import type { Artifact, Totals } from '../manifest/statement.js';

export const NOT_VERIFIED_NOTICE =
  'NOTHING WAS VERIFIED: this is what the bundle says about itself (digests, signatures, tenant and trust were not checked); run "stella-evidence verify" before relying on it';

export interface InspectReport {
  verified: false;
  notice: string;
  path: string;
  form: 'bundle' | 'manifest' | 'envelope';
  tenant: string;
  scope: Record<string, string>;
  createdAt: string;
  exporter: { name: string; version: string };
  manifestSha256: string;
  /** Key ids the envelope's signatures claim, in envelope order; not checked. */
  signers: Array<{ keyid: string }>;
  artifacts: Artifact[];
  totals: Totals;
}

/**
 * Read what a bundle (or a manifest.json or envelope) claims, without a trust file and
 * without checking anything beyond its shape. For a first look only: the report says so
 * in a field of its own, so no consumer can take it for a verification.
 */
export async function inspectBundle(path: string): Promise<InspectReport> {
  const side = await loadDiffSide(path);
  const p = side.statement.predicate;
  const scope: Record<string, string> = {};
  for (const k of Object.keys(p.scope).sort()) {
    const v = p.scope[k as keyof typeof p.scope];
    if (v !== undefined) scope[k] = v;
  }
  return {
    verified: false,
    notice: NOT_VERIFIED_NOTICE,
    path,
    form: side.form,
    tenant: p.tenant,
    scope,
    createdAt: p.createdAt,
    exporter: { name: p.exporter.name, version: p.exporter.version },
    manifestSha256: side.manifestSha256,
    signers: side.signatureKeyids.map((keyid) => ({ keyid })),
    artifacts: p.artifacts.map((a) => ({ name: a.name, sha256: a.sha256, size: a.size, mediaType: a.mediaType, kind: a.kind, tenant: a.tenant })),
    totals: { artifacts: p.totals.artifacts, blobs: p.totals.blobs, bytes: p.totals.bytes },
  };
}

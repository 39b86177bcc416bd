import { diffManifests, type DiffResult, type SideSummary } from '../diff/diff.js';
import { loadUnverifiedSide, loadVerifiedSide } from '../diff/verify-side.js';
import { loadTrustFile } from '../trust/trust-file.js';
import { requireTenantId } from '../util/tenant.js';
import { parseRfc3339 } from '../util/time.js';
import { usageError } from '../errors.js';
import { humanBytes, out, printJson } from './io.js';

export interface DiffFlags {
  json?: boolean;
  trust?: string;
  tenant?: string;
  at?: string;
}

export async function diffCommand(a: string, b: string, o: DiffFlags): Promise<number> {
  if (o.trust === undefined && (o.tenant !== undefined || o.at !== undefined)) {
    throw usageError('USAGE', '--tenant and --at apply only with --trust (they say what to verify the sides against)');
  }
  let d: DiffResult;
  if (o.trust === undefined) {
    const [sa, sb] = [await loadUnverifiedSide(a), await loadUnverifiedSide(b)];
    d = diffManifests(sa, sb, {
      verified: false,
      notice: 'NOT VERIFIED: the manifests were compared as they claim to be (pass --trust to verify both sides first)',
    });
  } else {
    const tenant = o.tenant === undefined ? undefined : requireTenantId(o.tenant);
    const at = o.at === undefined ? undefined : parseRfc3339(o.at, '--at');
    const trust = loadTrustFile(o.trust);
    const v = { trust, tenant, at };
    const [sa, sb] = [await loadVerifiedSide(a, v), await loadVerifiedSide(b, v)];
    d = diffManifests(sa, sb, {
      verified: true,
      notice:
        `verified: both sides verify against ${o.trust}` +
        (tenant ? ` for tenant ${tenant}` : ' for the tenant each names') +
        '; signers are the keys whose signatures counted',
    });
  }
  if (o.json) printJson({ a, b, ...d });
  else printReview(a, b, d);
  return d.different ? 1 : 0;
}

function printReview(a: string, b: string, d: DiffResult): void {
  out(`Evidence diff`);
  out(`  before  ${a} (${d.sides.a.form}, created ${d.sides.a.createdAt})`);
  out(`  after   ${b} (${d.sides.b.form}, created ${d.sides.b.createdAt})`);
  out(d.verified ? `  ${d.notice}` : `!! ${d.notice}`);
  if (d.tenant) out(`!! TENANT CHANGED: ${d.tenant.before} -> ${d.tenant.after}`);
  if (d.scope) out(`!! SCOPE CHANGED: ${scopeText(d.scope.before)} -> ${scopeText(d.scope.after)}`);
  const s = d.summary;
  out('');
  out(`Summary: ${s.added} added, ${s.removed} removed, ${s.changed} changed, ${s.renamed} renamed, ${s.metadata} metadata change(s)`);
  section(`Added (${d.added.length})`, d.added.map((x) => `+ ${x.name}  sha256:${x.sha256}  ${size(x.size)}`));
  section(`Removed (${d.removed.length})`, d.removed.map((x) => `- ${x.name}  sha256:${x.sha256}  ${size(x.size)}`));
  section(
    `Changed (${d.changed.length})`,
    d.changed.flatMap((x) => [
      `~ ${x.name}`,
      `    before  sha256:${x.before.sha256}  ${size(x.before.size)}`,
      `    after   sha256:${x.after.sha256}  ${size(x.after.size)}`,
    ]),
  );
  section(`Renamed (${d.renamed.length})`, d.renamed.map((x) => `> ${x.from} -> ${x.to}  sha256:${x.sha256}`));
  const byArtifact = new Map<string, string[]>();
  for (const m of d.metadata) byArtifact.set(m.name, [...(byArtifact.get(m.name) ?? []), `${m.field} ${m.before} -> ${m.after}`]);
  section(`Metadata changes (${d.metadata.length})`, [...byArtifact].map(([name, changes]) => `* ${name}: ${changes.join('; ')}`));
  out('');
  out('Bundle');
  out(`  tenant    ${d.tenant ? `${d.tenant.before} -> ${d.tenant.after}  (CHANGED)` : `${d.sides.a.tenant} (same)`}`);
  out(`  scope     ${d.scope ? `${scopeText(d.scope.before)} -> ${scopeText(d.scope.after)}  (CHANGED)` : 'same'}`);
  out(`  created   ${d.createdAt ? `${d.createdAt.before} -> ${d.createdAt.after}` : `${d.sides.a.createdAt} (same)`}`);
  out(`  exporter  ${d.exporter ? `${d.exporter.before} -> ${d.exporter.after}` : 'same'}`);
  const who = d.verified ? 'valid signers' : 'signers (claimed, not verified)';
  if (!d.signersCompared) out(`  signers   not compared: a bare manifest.json carries no signatures`);
  else {
    out(`  ${who}: before ${signerText(d.sides.a)}; after ${signerText(d.sides.b)}`);
    for (const k of d.signers?.removed ?? []) out(`    - signer ${k}`);
    for (const k of d.signers?.added ?? []) out(`    + signer ${k}`);
    if (!d.signers) out('    same signers');
  }
  out('');
  out(
    d.different
      ? 'Result: DIFFERENT (exit 1)'
      : `Result: same evidence: artifacts, tenant, scope and signers (exit 0)${d.createdAt || d.exporter ? '; only the creation time or exporter changed' : ''}`,
  );
}

function section(title: string, lines: string[]): void {
  if (lines.length === 0) return;
  out('');
  out(title);
  for (const l of lines) out(`  ${l}`);
}

const size = (n: number) => (n < 1024 ? `${n} B` : `${humanBytes(n)} (${n} B)`);

function scopeText(s: Record<string, string>): string {
  const parts = Object.entries(s).map(([k, v]) => `${k}=${v}`);
  return parts.length ? parts.join(',') : '(none)';
}

function signerText(s: SideSummary): string {
  if (s.signers === null) return 'n/a';
  return s.signers.length ? s.signers.join(', ') : '(none)';
}

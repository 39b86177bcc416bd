import { diffManifests, type DiffResult } from '../diff/diff.js';
import { loadDiffSide } from '../diff/load-side.js';
import { out, printJson } from './io.js';

export async function diffCommand(a: string, b: string, o: { json?: boolean }): Promise<number> {
  const [sa, sb] = [await loadDiffSide(a), await loadDiffSide(b)];
  const d = diffManifests(sa, sb);
  if (o.json) printJson({ a, b, ...d });
  else printHuman(a, b, d);
  return d.different ? 1 : 0;
}

function printHuman(a: string, b: string, d: DiffResult): void {
  out(`diff ${a} -> ${b} (manifests not verified; run "stella-evidence verify" on each first)`);
  if (d.tenant) out(`!! TENANT CHANGED: ${d.tenant.before} -> ${d.tenant.after}`);
  if (d.scope) out(`!! SCOPE CHANGED: ${JSON.stringify(d.scope.before)} -> ${JSON.stringify(d.scope.after)}`);
  const s = d.summary;
  out(`${s.added} added, ${s.removed} removed, ${s.changed} changed, ${s.renamed} renamed, ${s.metadata} metadata changes`);
  for (const x of d.added) out(`  + ${x.name}  sha256:${x.sha256}  ${x.size} B`);
  for (const x of d.removed) out(`  - ${x.name}  sha256:${x.sha256}  ${x.size} B`);
  for (const x of d.changed) out(`  ~ ${x.name}  sha256:${x.before.sha256} (${x.before.size} B) -> sha256:${x.after.sha256} (${x.after.size} B)`);
  for (const x of d.renamed) out(`  > ${x.from} -> ${x.to}  sha256:${x.sha256}`);
  for (const x of d.metadata) out(`  * ${x.name}: ${x.field} ${x.before} -> ${x.after}`);
  if (d.signers) {
    for (const k of d.signers.removed) out(`  signer removed: ${k}`);
    for (const k of d.signers.added) out(`  signer added:   ${k}`);
  }
  if (d.createdAt) out(`  created: ${d.createdAt.before} -> ${d.createdAt.after}`);
  if (d.exporter) out(`  exporter: ${d.exporter.before} -> ${d.exporter.after}`);
  out(d.different ? 'result: different' : 'result: same evidence (artifacts, tenant, scope and signers)');
}

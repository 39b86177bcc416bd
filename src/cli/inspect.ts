import { inspectBundle } from '../inspect/inspect.js';
import { humanBytes, out, printJson } from './io.js';

export async function inspectCommand(path: string, o: { json?: boolean }): Promise<void> {
  const r = await inspectBundle(path);
  if (o.json) {
    printJson(r);
    return;
  }
  out(`!! ${r.notice}`);
  out(`${r.form}     ${r.path}`);
  out(`tenant     ${r.tenant} (claimed)`);
  const scope = Object.entries(r.scope).map(([k, v]) => `${k}=${v}`);
  out(`scope      ${scope.length ? scope.join(', ') : '(none)'}`);
  out(`created    ${r.createdAt}`);
  out(`exporter   ${r.exporter.name} ${r.exporter.version}`);
  out(`manifest   sha256:${r.manifestSha256}`);
  if (r.form === 'manifest') out('signers    (a bare manifest.json carries no signatures)');
  else if (r.signers.length === 0) out('signers    (none)');
  for (const s of r.signers) out(`signer     ${s.keyid || '(no keyid)'} (claimed, not checked)`);
  out(`artifacts  ${r.totals.artifacts} (${r.totals.blobs} distinct blobs, ${humanBytes(r.totals.bytes)})`);
  for (const a of r.artifacts) out(`  ${a.name}  ${a.kind}  ${a.mediaType}  ${a.size} B  sha256:${a.sha256}`);
  out(`!! NOT VERIFIED: nothing above was checked; verify with "stella-evidence verify ${r.path} --trust TRUST.json"`);
}

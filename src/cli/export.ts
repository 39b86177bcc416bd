import { usageError } from '../errors.js';
import { parsePrivateKeyPem } from '../crypto/keys.js';
import { exportBundle, isGzipName } from '../export/export.js';
import { resolveCreatedAt } from '../util/time.js';
import { parseScopeArgs } from '../util/tenant.js';
import { narrowScope } from '../authority/abac.js';
import { authorize } from '../authority/context.js';
import { authorizationOf, describeAuthorization } from '../authority/record.js';
import { SCOPE } from '../authority/scopes.js';
import { humanBytes, out, passphraseFrom, printJson, readTextFile } from './io.js';
import { exportProgressBar } from './progress.js';

export interface ExportFlags {
  tenant?: string[];
  key?: string[];
  out: string;
  createdAt?: string;
  scope?: string[];
  force?: boolean;
  followSymlinks?: boolean;
  passphraseFile?: string;
  compressionLevel?: string;
  json?: boolean;
  quiet?: boolean;
  token?: string;
  config?: string;
  authorityJwks?: string;
}

export async function exportCommand(paths: string[], o: ExportFlags): Promise<void> {
  const tenants = o.tenant ?? [];
  if (tenants.length > 1) {
    throw usageError('TENANT_MULTIPLE', `--tenant given ${tenants.length} times (${tenants.join(', ')}): an export holds exactly one tenant`);
  }
  const scopeArgs = parseScopeArgs(o.scope ?? []);
  const auth = await authorize({
    token: o.token,
    config: o.config,
    authorityJwks: o.authorityJwks,
    tenants,
    scopes: [SCOPE.export],
    env: process.env,
  });
  const tenant = auth.tenant;
  if (!o.key?.length) throw usageError('KEY_REQUIRED', 'no signing key given: pass --key KEYFILE');
  // Loose files take the bundle's sub-scope, so an ABAC-bound token labels them with its value.
  const scope = narrowScope(auth.abac, scopeArgs);
  const authorization = authorizationOf(auth);
  const createdAt = resolveCreatedAt(o.createdAt, process.env);
  let gzipLevel: number | undefined;
  if (o.compressionLevel !== undefined) {
    if (!/^[0-9]$/.test(o.compressionLevel)) throw usageError('USAGE', '--compression-level must be 0 to 9');
    if (!isGzipName(o.out)) throw usageError('USAGE', '--compression-level applies only to .tar.gz or .tgz outputs');
    gzipLevel = Number(o.compressionLevel);
  }
  const passphrase = passphraseFrom(o.passphraseFile);
  const keys = o.key.map((f) => parsePrivateKeyPem(readTextFile(f, 'key file'), f, passphrase));
  const bar = exportProgressBar(o);
  const r = await exportBundle({
    tenant,
    keys,
    out: o.out,
    inputs: paths,
    createdAt,
    scope,
    force: !!o.force,
    followSymlinks: !!o.followSymlinks,
    gzipLevel,
    authorization,
    onProgress: bar.onProgress,
  }).finally(() => bar.done());
  if (o.json) printJson(r);
  else {
    out(`wrote ${r.out} (${humanBytes(r.bundleBytes)})`);
    out(`  tenant     ${r.tenant}`);
    out(`  created    ${r.createdAt}`);
    out(`  artifacts  ${r.artifacts} (${r.blobs} distinct blobs, ${humanBytes(r.bytes)})`);
    out(`  manifest   sha256:${r.manifestSha256}`);
    for (const s of r.signers) out(`  signed by  ${s}`);
    out(`  authority  ${describeAuthorization(authorization)}`);
  }
}

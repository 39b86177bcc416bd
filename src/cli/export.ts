import { StellaError, usageError } from '../errors.js';
import { parsePrivateKeyPem, type SigningKey } from '../crypto/keys.js';
import { exportBundle, isGzipName, type ExportOptions, type ExportResult } from '../export/export.js';
import type { parseSelection } from '../store/selector.js';
import { resolveCreatedAt } from '../util/time.js';
import { parseScopeArgs } from '../util/tenant.js';
import { narrowScope, narrowSelectors } from '../authority/abac.js';
import { authorize, type AuthContext } from '../authority/context.js';
import { authorizationOf, describeAuthorization, type Authorization } from '../authority/record.js';
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
  store?: string;
  select?: string[];
  since?: string;
  until?: string;
  crossTenant?: boolean;
  reason?: string;
  actor?: string;
}

/**
 * With PATH arguments, export those files; without, export a selection of the store.
 * Several tenants are refused (exit 4) unless the explicit cross-tenant form is used,
 * which only a store export can be: loose files carry no tenant of their own.
 */
export async function exportCommand(paths: string[], o: ExportFlags): Promise<void> {
  const fromStore = paths.length === 0;
  if (!fromStore) {
    const storeOnly = (['store', 'select', 'since', 'until', 'crossTenant', 'reason', 'actor'] as const).filter((k) => o[k] !== undefined);
    if (storeOnly.length) {
      const flag = storeOnly[0]!.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
      throw usageError('EXPORT_SOURCE', `--${flag} applies to exports from the store: give either PATHs or a store selection, not both`);
    }
  } else if (o.scope?.length) {
    throw usageError('EXPORT_SOURCE', '--scope labels loose files; to select stored evidence by sub-scope use --select environment=... (or project=, workspace=)');
  }
  if (o.crossTenant && (o.reason === undefined || o.reason.trim() === '')) {
    throw usageError('REASON_REQUIRED', 'a cross-tenant export needs --reason TEXT: it is recorded in the manifest and in every involved tenant\'s audit log');
  }
  if (o.reason !== undefined && !o.crossTenant) throw usageError('USAGE', '--reason applies only to --cross-tenant exports');
  if (o.reason !== undefined && (o.reason.length > 1024 || /[\u0000-\u001f\u007f]/.test(o.reason))) {
    throw usageError('USAGE', '--reason must be at most 1024 printable characters on one line');
  }
  const scopeArgs = parseScopeArgs(o.scope ?? []);
  // The store's modules load only for a store export: a file export starts without them.
  const selection = fromStore ? (await import('../store/selector.js')).parseSelection(o.select ?? [], o.since, o.until) : undefined;
  const auth = await authorize({
    token: o.token,
    config: o.config,
    authorityJwks: o.authorityJwks,
    tenants: o.tenant ?? [],
    actor: o.actor,
    scopes: [SCOPE.export],
    crossTenant: !!o.crossTenant,
    env: process.env,
  });
  if (!o.key?.length) throw usageError('KEY_REQUIRED', 'no signing key given: pass --key KEYFILE');
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
  let r: ExportResult;
  const bar = exportProgressBar(o);
  try {
    if (fromStore) {
      r = await storeExport(auth, o, keys, selection!, createdAt, gzipLevel, authorization, bar.onProgress);
    } else {
      // Loose files take the bundle's sub-scope, so an ABAC-bound token labels them with its value.
      const scope = narrowScope(auth.abac, scopeArgs);
      r = await exportBundle({
        tenant: auth.tenant,
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
      });
    }
  } finally {
    bar.done();
  }
  if (o.json) printJson(r);
  else {
    out(`wrote ${r.out} (${humanBytes(r.bundleBytes)})`);
    out(`  tenant     ${r.tenant}`);
    if (auth.tenants.length > 1) out(`  tenants    ${[...auth.tenants].sort().join(', ')} (cross-tenant: ${o.reason})`);
    out(`  created    ${r.createdAt}`);
    out(`  artifacts  ${r.artifacts} (${r.blobs} distinct blobs, ${humanBytes(r.bytes)})`);
    out(`  manifest   sha256:${r.manifestSha256}`);
    for (const s of r.signers) out(`  signed by  ${s}`);
    out(`  authority  ${describeAuthorization(authorization)}`);
  }
}

async function storeExport(
  auth: AuthContext,
  o: ExportFlags,
  keys: SigningKey[],
  asked: ReturnType<typeof parseSelection>,
  createdAt: string,
  gzipLevel: number | undefined,
  authorization: Authorization,
  onProgress: ExportOptions['onProgress'],
): Promise<ExportResult> {
  const [{ openStore }, { exportFromStore }] = await Promise.all([import('./store.js'), import('../export/store-export.js')]);
  // ABAC claims narrow the selection; the store then returns only what the token may see.
  const selection = { ...asked, selectors: narrowSelectors(auth.abac, asked.selectors) };
  let store;
  try {
    store = openStore(o.store, false);
  } catch (e) {
    if (e instanceof StellaError && e.code === 'STORE_MISSING') {
      throw usageError('STORE_MISSING', `no PATHs given, so the export reads the store, but ${e.message.replace(/^store /, 'the store ')}; to export files, name them`);
    }
    throw e;
  }
  return exportFromStore({
    store,
    tenants: auth.tenants,
    crossTenant: o.crossTenant ? { reason: o.reason! } : undefined,
    selection,
    keys,
    out: o.out,
    createdAt,
    force: !!o.force,
    gzipLevel,
    authorization,
    onProgress,
    ctx: { actor: auth.actor, time: resolveCreatedAt(undefined, process.env), authorization },
  });
}

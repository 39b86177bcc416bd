import { tenantError } from '../errors.js';
import { FsEvidenceStore } from '../store/fs-store.js';
import { parseKind, parseLabelArgs } from '../store/labels.js';
import { resolveStoreDir } from '../store/location.js';
import { parseSelection } from '../store/selector.js';
import type { StoreRecord } from '../store/store.js';
import { parseScopeArgs, requireTenantId } from '../util/tenant.js';
import { resolveCreatedAt } from '../util/time.js';
import { humanBytes, out, printJson } from './io.js';
import { authorizeFlags, type AuthorityFlags } from './auth.js';
import { narrowScope, narrowSelectors } from '../authority/abac.js';
import { authorizationOf } from '../authority/record.js';
import { SCOPE } from '../authority/scopes.js';

export function openStore(flag: string | undefined, create: boolean): FsEvidenceStore {
  return FsEvidenceStore.open(resolveStoreDir(flag, process.env), { create });
}

/** Commands that touch one tenant's data refuse two different tenants (exit 4). */
export function oneTenant(given: readonly string[] | undefined, what: string): string {
  const tenants = [...new Set((given ?? []).map((t) => requireTenantId(t)))];
  if (tenants.length > 1) {
    throw tenantError('TENANT_MIXED', `${what} for tenants ${tenants.join(', ')} refused: one command serves exactly one tenant`);
  }
  return requireTenantId(tenants[0]);
}

export interface StoreAddFlags extends AuthorityFlags {
  tenant?: string[];
  store?: string;
  kind?: string;
  label?: string[];
  scope?: string[];
  actor?: string;
  followSymlinks?: boolean;
  json?: boolean;
}

export async function storeAddCommand(paths: string[], o: StoreAddFlags): Promise<void> {
  const auth = await authorizeFlags(o, [SCOPE.ingest]);
  const tenant = auth.tenant;
  const kind = o.kind === undefined ? undefined : parseKind(o.kind);
  const labels = parseLabelArgs(o.label ?? []);
  // An ABAC-bound token records its value and refuses a --scope that contradicts it.
  const scope = narrowScope(auth.abac, parseScopeArgs(o.scope ?? []));
  const actor = auth.actor;
  const time = resolveCreatedAt(undefined, process.env);
  // Loaded here: `store list` has no use for the input walker and classifier.
  const { ingest, planIngest } = await import('../store/ingest.js');
  const files = planIngest(paths, !!o.followSymlinks);
  const store = openStore(o.store, true);
  const r = await ingest({ store, tenant, files, kind, labels, scope, ctx: { actor, time, authorization: authorizationOf(auth) }, storeRoot: store.location });
  if (o.json) {
    printJson({
      store: store.location,
      tenant,
      added: r.added,
      duplicates: r.duplicates,
      records: r.outcomes.map((x) => ({ added: x.added, record: x.record })),
    });
    return;
  }
  for (const x of r.outcomes) out(`${x.added ? 'added    ' : 'present  '}${x.record.sha256.slice(0, 12)}  ${x.record.kind.padEnd(15)}  ${x.record.name}`);
  out(`${r.added} record(s) added, ${r.duplicates} already present, tenant ${tenant}, store ${store.location}`);
}

export interface StoreListFlags extends AuthorityFlags {
  tenant?: string[];
  store?: string;
  select?: string[];
  since?: string;
  until?: string;
  json?: boolean;
}

export async function storeListCommand(o: StoreListFlags): Promise<void> {
  const auth = await authorizeFlags(o, [SCOPE.list]);
  const tenant = auth.tenant;
  const asked = parseSelection(o.select ?? [], o.since, o.until);
  // ABAC claims pin their sub-scope names, so the store itself returns only what the token may see.
  const selection = { ...asked, selectors: narrowSelectors(auth.abac, asked.selectors) };
  const store = openStore(o.store, false);
  const records = await store.list(tenant, selection);
  if (o.json) {
    printJson({ store: store.location, tenant, selection, records });
    return;
  }
  const lines: string[] = [];
  for (const r of records) lines.push(describe(r));
  if (lines.length) process.stdout.write(lines.join('\n') + '\n');
  out(`${records.length} record(s) of tenant ${tenant}`);
}

function describe(r: StoreRecord): string {
  const meta = [
    ...Object.entries(r.scope).map(([k, v]) => `${k}=${v}`),
    ...Object.entries(r.labels).map(([k, v]) => `label.${k}=${v}`),
  ].join(' ');
  return `${r.sha256.slice(0, 12)}  ${r.kind.padEnd(15)}  ${humanBytes(r.size).padStart(9)}  ${r.ingestedAt}  ${r.name}${meta ? '  ' + meta : ''}`;
}

import { usageError } from '../errors.js';
import { parsePublicKeyPem } from '../crypto/keys.js';
import { listTrust } from '../trust/list.js';
import { loadOrCreateTrustFile, loadTrustFile, saveTrustFile } from '../trust/trust-file.js';
import { requireTenantId } from '../util/tenant.js';
import { epochOf, formatUtc, parseRfc3339 } from '../util/time.js';
import { out, printJson, readTextFile, warn } from './io.js';

export interface TrustAddFlags {
  trust: string;
  tenant?: string;
  key: string;
  comment?: string;
  threshold?: string;
  validFrom?: string;
  validUntil?: string;
  json?: boolean;
}

export function trustAddCommand(o: TrustAddFlags): void {
  const tenant = requireTenantId(o.tenant);
  const threshold = o.threshold === undefined ? undefined : parseThreshold(o.threshold);
  const validFrom = o.validFrom === undefined ? undefined : parseRfc3339(o.validFrom, '--valid-from');
  const validUntil = o.validUntil === undefined ? undefined : parseRfc3339(o.validUntil, '--valid-until');
  if (validFrom && validUntil && epochOf(validFrom) > epochOf(validUntil)) {
    throw usageError('TIME_INVALID', `--valid-from ${validFrom} is after --valid-until ${validUntil}: the key would never be valid`);
  }
  const key = parsePublicKeyPem(readTextFile(o.key, 'public key'), o.key);
  const store = loadOrCreateTrustFile(o.trust);
  const r = store.add(tenant, key, { comment: o.comment, threshold, validFrom, validUntil });
  if (r.changed) saveTrustFile(o.trust, store);
  if (r.threshold > r.keys) {
    warn(`tenant ${tenant} needs ${r.threshold} distinct signers but the trust file holds only ${r.keys} key(s) for it: no bundle can verify until more are added`);
  }
  const revoked = store.standingsAt(tenant, null).find((s) => s.key.keyid === key.keyid && s.state === 'revoked');
  if (revoked) warn(`${key.keyid} is ${revoked.why}: its signatures will not count`);
  if (o.json) printJson({ added: r.added, keyid: key.keyid, tenant, trust: o.trust });
  else if (r.added) out(`trusted ${key.keyid} for tenant ${tenant} in ${o.trust} (threshold ${r.threshold})`);
  else if (r.changed) out(`${key.keyid} was already trusted for tenant ${tenant}; updated ${o.trust} (threshold ${r.threshold})`);
  else out(`${key.keyid} was already trusted for tenant ${tenant}; ${o.trust} unchanged`);
}

function parseThreshold(s: string): number {
  if (!/^[1-9][0-9]{0,3}$/.test(s) || Number(s) > 1000) {
    throw usageError('USAGE', `invalid --threshold ${JSON.stringify(s)}: give a whole number from 1 to 1000`);
  }
  return Number(s);
}

export function trustRevokeCommand(o: { trust: string; keyid: string; tenant?: string; reason?: string }): void {
  if (!/^[0-9a-f]{64}$/.test(o.keyid)) {
    throw usageError('USAGE', `invalid --keyid ${JSON.stringify(o.keyid)}: give the 64-hex key id shown by "stella-evidence trust list"`);
  }
  const tenant = o.tenant === undefined ? undefined : requireTenantId(o.tenant);
  const store = loadTrustFile(o.trust);
  const changed = store.revoke(o.keyid, tenant, o.reason);
  if (changed) saveTrustFile(o.trust, store);
  const scope = tenant === undefined ? 'every tenant' : `tenant ${tenant}`;
  if (changed) out(`revoked ${o.keyid} for ${scope} in ${o.trust}: its signatures no longer count, whatever the time`);
  else out(`${o.keyid} was already revoked for ${scope}; ${o.trust} unchanged`);
}

export function trustListCommand(o: { trust: string; at?: string; json?: boolean }): void {
  const at = o.at === undefined ? formatUtc(Math.floor(Date.now() / 1000)) : parseRfc3339(o.at, '--at');
  const listing = listTrust(loadTrustFile(o.trust), o.trust, at);
  if (o.json) {
    printJson(listing);
    return;
  }
  out(`${o.trust}: key states at ${at}`);
  if (listing.tenants.length === 0) out('  (no tenants)');
  for (const t of listing.tenants) {
    const short = t.validKeys < t.threshold ? `  !! only ${t.validKeys} valid key(s): no bundle can verify now` : '';
    out(`tenant ${t.tenant}  threshold ${t.threshold}  ${t.keys.length} key(s), ${t.validKeys} valid${short}`);
    for (const k of t.keys) {
      const life = k.validFrom || k.validUntil ? `  ${k.validFrom ?? '-∞'} .. ${k.validUntil ?? '∞'}` : '';
      const rev = k.state === 'revoked' ? `  (revoked for ${k.revokedFor === 'all' ? 'every tenant' : 'this tenant'}${k.reason ? `: ${k.reason}` : ''})` : '';
      out(`  ${k.state.padEnd(13)} ${k.keyid}${life}${rev}${k.comment ? `  # ${k.comment}` : ''}`);
    }
  }
  for (const r of listing.revoked) out(`revoked for every tenant: ${r.keyid}${r.reason ? ` (${r.reason})` : ''}`);
}

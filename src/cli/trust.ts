import { parsePublicKeyPem } from '../crypto/keys.js';
import { loadOrCreateTrustFile, saveTrustFile } from '../trust/trust-file.js';
import { requireTenantId } from '../util/tenant.js';
import { out, printJson, readTextFile } from './io.js';

export function trustAddCommand(o: { trust: string; tenant?: string; key: string; comment?: string; json?: boolean }): void {
  const tenant = requireTenantId(o.tenant);
  const key = parsePublicKeyPem(readTextFile(o.key, 'public key'), o.key);
  const store = loadOrCreateTrustFile(o.trust);
  const added = store.add(tenant, key, o.comment);
  if (added) saveTrustFile(o.trust, store);
  if (o.json) printJson({ added, keyid: key.keyid, tenant, trust: o.trust });
  else out(added ? `trusted ${key.keyid} for tenant ${tenant} in ${o.trust}` : `${key.keyid} was already trusted for tenant ${tenant}; ${o.trust} unchanged`);
}

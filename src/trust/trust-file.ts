import { readFileSync } from 'node:fs';
import { usageError } from '../errors.js';
import { publicKeyFromSpkiDer, type PublicKey } from '../crypto/keys.js';
import { decodeBase64Strict } from '../crypto/dsse.js';
import { JsonSyntaxError, parseStrictJsonBytes } from '../json/strict-parse.js';
import { schemaProblem } from '../manifest/schemas.js';
import { isTenantId } from '../util/tenant.js';
import { writeFileAtomic } from '../util/atomic-file.js';

/**
 * The reviewer's trust file: which keys vouch for which tenant. It is the only source of
 * trust; a key carried inside a bundle is never trusted for being there.
 */
export interface TrustedKeyEntry {
  keyid: string;
  /** base64 of the SPKI DER */
  publicKey: string;
  comment?: string;
}
export interface TenantTrust {
  threshold: number;
  keys: TrustedKeyEntry[];
}
export interface TrustFileData {
  version: 1;
  tenants: Record<string, TenantTrust>;
}

export interface TrustedKey extends PublicKey {
  comment?: string;
}

export class TrustStore {
  constructor(readonly data: TrustFileData) {}

  static empty(): TrustStore {
    return new TrustStore({ version: 1, tenants: {} });
  }

  /** Keys trusted for this tenant, deduplicated by key material (SPKI DER), never by PEM text. */
  keysFor(tenant: string): TrustedKey[] {
    const t = Object.hasOwn(this.data.tenants, tenant) ? this.data.tenants[tenant] : undefined;
    if (!t) return [];
    const byId = new Map<string, TrustedKey>();
    for (const e of t.keys) {
      const k = publicKeyFromSpkiDer(decodeBase64Strict(e.publicKey)!, 'trusted key');
      if (!byId.has(k.keyid)) byId.set(k.keyid, e.comment ? { ...k, comment: e.comment } : k);
    }
    return [...byId.values()];
  }

  thresholdFor(tenant: string): number {
    return Object.hasOwn(this.data.tenants, tenant) ? this.data.tenants[tenant]!.threshold : 1;
  }

  tenants(): string[] {
    return Object.keys(this.data.tenants).sort();
  }

  /** Returns false when the key was already trusted for the tenant. */
  add(tenant: string, key: PublicKey, comment?: string): boolean {
    const tenants = this.data.tenants;
    if (!Object.hasOwn(tenants, tenant)) {
      Object.defineProperty(tenants, tenant, { value: { threshold: 1, keys: [] }, enumerable: true, writable: true, configurable: true });
    }
    const t = tenants[tenant]!;
    if (t.keys.some((e) => e.keyid === key.keyid)) return false;
    const entry: TrustedKeyEntry = { keyid: key.keyid, publicKey: key.spki.toString('base64') };
    if (comment) entry.comment = comment;
    t.keys.push(entry);
    t.keys.sort((a, b) => (a.keyid < b.keyid ? -1 : a.keyid > b.keyid ? 1 : 0));
    return true;
  }

  serialize(): string {
    const tenants: Record<string, TenantTrust> = {};
    for (const name of this.tenants()) tenants[name] = this.data.tenants[name]!;
    return JSON.stringify({ version: 1, tenants }, null, 2) + '\n';
  }
}

/** Load and fully validate a trust file. Every problem is an input error (exit 2). */
export function loadTrustFile(path: string): TrustStore {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw usageError('TRUST_UNREADABLE', code === 'ENOENT' ? `trust file ${path} does not exist: create it with "stella-evidence trust add"` : `cannot read trust file ${path} (${code})`);
  }
  return parseTrustFile(bytes, path);
}

export function parseTrustFile(bytes: Uint8Array, path: string): TrustStore {
  const bad = (why: string) => usageError('TRUST_INVALID', `invalid trust file ${path}: ${why}`);
  let doc: unknown;
  try {
    doc = parseStrictJsonBytes(bytes);
  } catch (e) {
    throw bad(e instanceof JsonSyntaxError ? e.message : 'not JSON');
  }
  const problem = schemaProblem('trust', doc);
  if (problem) throw bad(problem);
  const data = doc as TrustFileData;
  for (const [tenant, t] of Object.entries(data.tenants)) {
    if (!isTenantId(tenant)) throw bad(`tenant ${JSON.stringify(tenant)} is not a lowercase slug`);
    for (const e of t.keys) {
      const der = decodeBase64Strict(e.publicKey);
      if (!der) throw bad(`key ${e.keyid} of tenant ${tenant} is not base64`);
      let k: PublicKey;
      try {
        k = publicKeyFromSpkiDer(der, 'key');
      } catch {
        throw bad(`key ${e.keyid} of tenant ${tenant} is not an Ed25519 public key`);
      }
      if (k.keyid !== e.keyid) throw bad(`keyid ${e.keyid} of tenant ${tenant} does not match its key (expected ${k.keyid})`);
    }
  }
  return new TrustStore(data);
}

export function loadOrCreateTrustFile(path: string): TrustStore {
  try {
    readFileSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return TrustStore.empty();
  }
  return loadTrustFile(path);
}

export function saveTrustFile(path: string, store: TrustStore): void {
  writeFileAtomic(path, store.serialize(), { overwrite: true, mode: 0o644 });
}

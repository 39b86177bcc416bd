import { readFileSync } from 'node:fs';
import { usageError } from '../errors.js';
import { publicKeyFromSpkiDer, type PublicKey } from '../crypto/keys.js';
import { decodeBase64Strict } from '../crypto/dsse.js';
import { JsonSyntaxError, parseStrictJsonBytes } from '../json/strict-parse.js';
import { schemaProblem } from '../manifest/schemas.js';
import { isTenantId } from '../util/tenant.js';
import { epochOf, parseRfc3339 } from '../util/time.js';
import { writeFileAtomic } from '../util/atomic-file.js';

/**
 * The reviewer's trust file: which keys vouch for which tenant, from when until when, and
 * which are revoked. It is the only source of trust; a key carried inside a bundle is
 * never trusted for being there.
 */
export interface Revocation {
  reason?: string;
}
export interface TrustedKeyEntry {
  keyid: string;
  /** base64 of the SPKI DER */
  publicKey: string;
  comment?: string;
  /** RFC 3339 UTC, whole seconds; the key counts from this instant on (inclusive). */
  validFrom?: string;
  /** RFC 3339 UTC, whole seconds; the key counts up to this instant (inclusive). */
  validUntil?: string;
  /** Revoked for this tenant only. */
  revoked?: Revocation;
}
export interface TenantTrust {
  threshold: number;
  keys: TrustedKeyEntry[];
}
export interface GlobalRevocation extends Revocation {
  keyid: string;
}
export interface TrustFileData {
  version: 1;
  tenants: Record<string, TenantTrust>;
  /** Keys revoked for every tenant, including tenants they are trusted for later. */
  revoked?: GlobalRevocation[];
}

export interface TrustedKey extends PublicKey {
  comment?: string;
}

export type KeyState = 'valid' | 'not-yet-valid' | 'expired' | 'revoked';

/** A key's standing for one tenant at one instant, merged over all its entries. */
export interface KeyStanding {
  key: TrustedKey;
  state: KeyState;
  validFrom: string | null;
  validUntil: string | null;
  /** Set when revoked: 'tenant' (only for this tenant) or 'all' (every tenant). */
  revokedFor: 'tenant' | 'all' | null;
  revokedReason: string | null;
  /** Why the key does not count, in words; null when valid. */
  why: string | null;
}

export interface AddOptions {
  comment?: string | undefined;
  validFrom?: string | undefined;
  validUntil?: string | undefined;
  threshold?: number | undefined;
}
export interface AddResult {
  /** The key was not trusted for the tenant before. */
  added: boolean;
  /** Anything in the file changed (key, lifetime, comment or threshold). */
  changed: boolean;
  threshold: number;
  /** Distinct keys trusted for the tenant (whatever their state). */
  keys: number;
}

const byKeyid = (a: { keyid: string }, b: { keyid: string }) => (a.keyid < b.keyid ? -1 : a.keyid > b.keyid ? 1 : 0);

export class TrustStore {
  constructor(readonly data: TrustFileData) {}

  static empty(): TrustStore {
    return new TrustStore({ version: 1, tenants: {} });
  }

  private tenant(tenant: string): TenantTrust | undefined {
    return Object.hasOwn(this.data.tenants, tenant) ? this.data.tenants[tenant] : undefined;
  }

  /** Keys trusted for this tenant, deduplicated by key material (SPKI DER), never by PEM text. */
  keysFor(tenant: string): TrustedKey[] {
    return this.standingsAt(tenant, null).map((s) => s.key);
  }

  /**
   * Each distinct key of the tenant with its state at `at` (RFC 3339 UTC; null: ignore
   * lifetimes). Entries for the same key material are merged the strict way: a revocation
   * in any entry wins, and the key counts only inside every entry's window.
   */
  standingsAt(tenant: string, at: string | null): KeyStanding[] {
    const t = this.tenant(tenant);
    if (!t) return [];
    const global = new Map((this.data.revoked ?? []).map((r) => [r.keyid, r]));
    const merged = new Map<string, { key: TrustedKey; from: string | null; until: string | null; revoked: Revocation | null }>();
    for (const e of t.keys) {
      const k = publicKeyFromSpkiDer(decodeBase64Strict(e.publicKey)!, 'trusted key');
      let m = merged.get(k.keyid);
      if (!m) {
        m = { key: e.comment ? { ...k, comment: e.comment } : k, from: null, until: null, revoked: null };
        merged.set(k.keyid, m);
      }
      if (e.validFrom !== undefined && (m.from === null || epochOf(e.validFrom) > epochOf(m.from))) m.from = e.validFrom;
      if (e.validUntil !== undefined && (m.until === null || epochOf(e.validUntil) < epochOf(m.until))) m.until = e.validUntil;
      if (e.revoked && !m.revoked) m.revoked = e.revoked;
    }
    const out: KeyStanding[] = [];
    for (const [keyid, m] of merged) {
      const g = global.get(keyid);
      const base = { key: m.key, validFrom: m.from, validUntil: m.until, revokedFor: null, revokedReason: null, why: null };
      if (g || m.revoked) {
        const reason = (g ?? m.revoked)!.reason ?? null;
        out.push({
          ...base,
          state: 'revoked',
          revokedFor: g ? 'all' : 'tenant',
          revokedReason: reason,
          why: `revoked${g ? ' for every tenant' : ` for tenant ${tenant}`}${reason ? ` (${reason})` : ''}`,
        });
      } else if (at !== null && m.from !== null && epochOf(at) < epochOf(m.from)) {
        out.push({ ...base, state: 'not-yet-valid', why: `not valid before ${m.from}` });
      } else if (at !== null && m.until !== null && epochOf(at) > epochOf(m.until)) {
        out.push({ ...base, state: 'expired', why: `expired at ${m.until}` });
      } else out.push({ ...base, state: 'valid' });
    }
    return out.sort((a, b) => byKeyid(a.key, b.key));
  }

  thresholdFor(tenant: string): number {
    return this.tenant(tenant)?.threshold ?? 1;
  }

  tenants(): string[] {
    return Object.keys(this.data.tenants).sort();
  }

  globalRevocations(): GlobalRevocation[] {
    return [...(this.data.revoked ?? [])].sort(byKeyid);
  }

  /**
   * Trust a key for a tenant, or update the lifetime, comment or threshold of one already
   * trusted. A new tenant starts at threshold 1; without `threshold` it is left as it is.
   * A revocation is never undone here: revocation wins.
   */
  add(tenant: string, key: PublicKey, opts: AddOptions | string = {}): AddResult {
    const o: AddOptions = typeof opts === 'string' ? { comment: opts } : opts;
    const tenants = this.data.tenants;
    let changed = false;
    if (!Object.hasOwn(tenants, tenant)) {
      Object.defineProperty(tenants, tenant, { value: { threshold: 1, keys: [] }, enumerable: true, writable: true, configurable: true });
      changed = true;
    }
    const t = tenants[tenant]!;
    if (o.threshold !== undefined && t.threshold !== o.threshold) {
      t.threshold = o.threshold;
      changed = true;
    }
    const existing = t.keys.filter((e) => e.keyid === key.keyid);
    const added = existing.length === 0;
    if (added) {
      const entry: TrustedKeyEntry = { keyid: key.keyid, publicKey: key.spki.toString('base64') };
      if (o.comment) entry.comment = o.comment;
      if (o.validFrom !== undefined) entry.validFrom = o.validFrom;
      if (o.validUntil !== undefined) entry.validUntil = o.validUntil;
      t.keys.push(entry);
      t.keys.sort(byKeyid);
      changed = true;
    } else {
      for (const e of existing) {
        for (const field of ['comment', 'validFrom', 'validUntil'] as const) {
          const v = o[field];
          if (v !== undefined && v !== '' && e[field] !== v) {
            e[field] = v;
            changed = true;
          }
        }
      }
    }
    return { added, changed, threshold: t.threshold, keys: this.keysFor(tenant).length };
  }

  /**
   * Revoke a key for one tenant or, without a tenant, for every tenant (now and later).
   * Returns false when it was revoked that way already. An unknown key id is an input error.
   */
  revoke(keyid: string, tenant: string | undefined, reason: string | undefined): boolean {
    const rev: Revocation = reason ? { reason } : {};
    if (tenant !== undefined) {
      const t = this.tenant(tenant);
      const entries = t?.keys.filter((e) => e.keyid === keyid) ?? [];
      if (entries.length === 0) {
        throw usageError('KEY_UNKNOWN', `key ${keyid} is not in the trust file for tenant ${tenant}: see "stella-evidence trust list"`);
      }
      if (entries.every((e) => e.revoked)) return false;
      for (const e of entries) e.revoked ??= { ...rev };
      return true;
    }
    const known = Object.values(this.data.tenants).some((t) => t.keys.some((e) => e.keyid === keyid));
    const list = (this.data.revoked ??= []);
    if (list.some((r) => r.keyid === keyid)) return false;
    if (!known) throw usageError('KEY_UNKNOWN', `key ${keyid} is not in the trust file: see "stella-evidence trust list"`);
    list.push({ keyid, ...rev });
    list.sort(byKeyid);
    return true;
  }

  serialize(): string {
    const tenants: Record<string, TenantTrust> = {};
    for (const name of this.tenants()) tenants[name] = this.data.tenants[name]!;
    const doc: TrustFileData = { version: 1, tenants };
    if (this.data.revoked?.length) doc.revoked = this.globalRevocations();
    return JSON.stringify(doc, null, 2) + '\n';
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
  const time = (s: string, what: string) => {
    try {
      if (parseRfc3339(s, what) !== s) throw new Error();
    } catch {
      throw bad(`${what} ${JSON.stringify(s)} is not an RFC 3339 UTC time in whole seconds`);
    }
  };
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
      if (e.validFrom !== undefined) time(e.validFrom, `validFrom of key ${e.keyid} (tenant ${tenant})`);
      if (e.validUntil !== undefined) time(e.validUntil, `validUntil of key ${e.keyid} (tenant ${tenant})`);
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

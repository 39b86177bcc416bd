import { constants, fstatSync, lstatSync, mkdirSync, openSync, closeSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { integrityError, tenantError, usageError } from '../errors.js';
import { SHA256_HEX } from '../crypto/sha256.js';
import { requireTenantId } from '../util/tenant.js';

/**
 * Every path the filesystem store touches for a tenant is derived here, only from the
 * store's real root, a validated tenant slug and hex digests. Nothing below the root may
 * be a symbolic link or a hard-linked file: either could make one tenant's read return
 * another tenant's bytes, so finding one refuses the operation (exit 4) instead of
 * following it. The checks catch planted links; the store directory must still not be
 * writable by anyone who should not hold every tenant's evidence.
 */
export const O_NOFOLLOW = constants.O_NOFOLLOW ?? 0;

export class TenantNamespace {
  readonly tenant: string;
  readonly dir: string;
  private checkedDirs = new Set<string>();

  constructor(readonly root: string, tenant: string) {
    this.tenant = requireTenantId(tenant);
    this.dir = join(root, 'tenants', this.tenant);
  }

  get records(): string {
    return join(this.dir, 'records.jsonl');
  }
  get audit(): string {
    return join(this.dir, 'audit.jsonl');
  }
  get lock(): string {
    return join(this.dir, 'lock');
  }
  get tmp(): string {
    return join(this.dir, 'tmp');
  }

  blobDir(hex: string): string {
    return join(this.dir, 'blobs', 'sha256', checkHex(hex).slice(0, 2));
  }
  blobPath(hex: string): string {
    return join(this.blobDir(hex), hex);
  }

  /** Does the tenant have a namespace at all? (No namespace: no evidence, not an error.) */
  exists(): boolean {
    this.checkDir(join(this.root, 'tenants'), false);
    return this.checkDir(this.dir, false);
  }

  /** Check (and with create, make) the directories from the root down to `dir`. */
  ensureDir(dir: string, create: boolean): boolean {
    if (!dir.startsWith(this.dir)) throw new Error(`internal: ${dir} is outside ${this.dir}`);
    const parts = dir.slice(this.dir.length).split('/').filter(Boolean);
    let p = this.dir;
    if (!this.checkDir(join(this.root, 'tenants'), create) || !this.checkDir(p, create)) return false;
    for (const part of parts) {
      p = join(p, part);
      if (!this.checkDir(p, create)) return false;
    }
    return true;
  }

  /** Returns false when absent (and not created); refuses links and non-directories. */
  private checkDir(p: string, create: boolean): boolean {
    if (this.checkedDirs.has(p)) return true;
    let st: Stats;
    try {
      st = lstatSync(p);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw storeIo(e, p);
      if (!create) return false;
      try {
        mkdirSync(p, { mode: 0o755 });
      } catch (e2) {
        if ((e2 as NodeJS.ErrnoException).code !== 'EEXIST') throw storeIo(e2, p);
      }
      st = lstatSync(p);
    }
    if (st.isSymbolicLink()) throw outside(p, this.tenant, 'is a symbolic link');
    if (!st.isDirectory()) throw integrityError('STORE_DAMAGED', `store path ${p} should be a directory: the store is damaged; restore it from a backup`);
    this.checkedDirs.add(p);
    return true;
  }

  /**
   * Open a file of this namespace without following links. Returns null when it does not
   * exist (and `flags` does not create it).
   */
  openFile(p: string, flags: number, mode = 0o644): number | null {
    let fd: number;
    try {
      fd = openSync(p, flags | O_NOFOLLOW, mode);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return null;
      if (code === 'ELOOP' || code === 'EMLINK') throw outside(p, this.tenant, 'is a symbolic link');
      throw storeIo(e, p);
    }
    try {
      const st = fstatSync(fd);
      if (!st.isFile()) throw integrityError('STORE_DAMAGED', `store path ${p} is not a regular file: the store is damaged`);
      if (st.nlink > 1) throw outside(p, this.tenant, `has ${st.nlink} hard links`);
    } catch (e) {
      closeSync(fd);
      throw e;
    }
    return fd;
  }
}

export function checkHex(hex: string): string {
  if (!SHA256_HEX.test(hex)) throw usageError('DIGEST_INVALID', `invalid sha256 digest ${JSON.stringify(hex)}: give 64 lowercase hex digits`);
  return hex;
}

export function outside(p: string, tenant: string, what: string) {
  return tenantError(
    'STORE_OUTSIDE_NAMESPACE',
    `refusing ${p}: it ${what}, which could reach outside tenant ${tenant}'s namespace; remove it (the store never creates links)`,
  );
}

export function storeIo(e: unknown, p: string) {
  const code = (e as NodeJS.ErrnoException).code ?? 'error';
  if (code === 'EACCES' || code === 'EPERM') return usageError('STORE_ACCESS', `no permission to use ${p} (${code})`);
  if (code === 'ENOSPC') return usageError('STORE_FULL', `no space left writing ${p}: free some space and run the command again`);
  return integrityError('STORE_IO', `cannot use store path ${p} (${code})`);
}

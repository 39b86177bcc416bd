import { randomBytes } from 'node:crypto';
import { closeSync, constants, fsyncSync, linkSync, lstatSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { usageError } from '../errors.js';
import { O_NOFOLLOW, outside, storeIo } from './fs-namespace.js';

/**
 * A per-tenant lock file serialises appends to the audit chain and the record index.
 * The lock is created complete (written beside it, then hard-linked into place, which
 * fails if it exists), so it never exists without its holder's pid and host. A lock whose
 * holder is a dead process on this host is stale: it is broken under a second, short
 * "breaker" lock so that two waiters cannot both break it and then share the tenant.
 * A lock held from another host cannot be judged; after the timeout the operator is told
 * which file to remove.
 */
export interface LockInfo {
  pid: number;
  host: string;
  since: string;
}

const BREAKER_STALE_MS = 10_000;

export interface LockOptions {
  timeoutMs?: number;
  /** Called when a stale lock was broken: the dead holder may have left work half done. */
  onStaleBroken?: (info: LockInfo | null) => void;
}

export async function acquireLock(path: string, tenant: string, opts: LockOptions = {}): Promise<() => void> {
  const fromEnv = Number(process.env.STELLA_EVIDENCE_LOCK_TIMEOUT_MS);
  // A malformed value must not turn into "wait forever".
  const timeoutMs = opts.timeoutMs ?? (Number.isFinite(fromEnv) && fromEnv >= 0 ? fromEnv : 120_000);
  const deadline = Date.now() + timeoutMs;
  const mine = Buffer.from(JSON.stringify({ pid: process.pid, host: hostname(), since: new Date().toISOString() }) + '\n');
  for (let attempt = 0; ; attempt++) {
    if (tryCreate(path, mine, tenant)) {
      return () => release(path, mine);
    }
    const held = readLock(path, tenant);
    if (held === 'gone') continue;
    if (isStale(held)) {
      if (breakStale(path, held, tenant)) opts.onStaleBroken?.(held.info);
      continue;
    }
    if (Date.now() > deadline) {
      const who = held.info ? `process ${held.info.pid} on ${held.info.host} since ${held.info.since}` : 'an unknown process';
      throw usageError(
        'STORE_LOCKED',
        `tenant ${tenant} is locked by ${who}: if no stella-evidence process is running there, remove ${path} and retry`,
      );
    }
    await new Promise((r) => setTimeout(r, Math.min(200, 5 + attempt * 5) + Math.random() * 20));
  }
}

function tryCreate(path: string, content: Buffer, tenant: string): boolean {
  const temp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}`;
  const fd = openSync(temp, 'wx', 0o644);
  try {
    writeSync(fd, content);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(temp, path);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') {
      if (lstatSync(path, { throwIfNoEntry: false })?.isSymbolicLink()) throw outside(path, tenant, 'is a symbolic link');
      return false;
    }
    throw storeIo(e, path);
  } finally {
    unlinkSync(temp);
  }
}

interface Held {
  raw: Buffer;
  info: LockInfo | null;
  mtimeMs: number;
}

function readLock(path: string, tenant: string): Held | 'gone' {
  try {
    const st = lstatSync(path);
    if (st.isSymbolicLink()) throw outside(path, tenant, 'is a symbolic link');
    const raw = readNoFollow(path);
    let info: LockInfo | null = null;
    try {
      const j = JSON.parse(raw.toString('utf8')) as LockInfo;
      if (Number.isSafeInteger(j.pid) && typeof j.host === 'string' && typeof j.since === 'string') info = j;
    } catch {
      /* unreadable lock: judged by age */
    }
    return { raw, info, mtimeMs: st.mtimeMs };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 'gone';
    throw e;
  }
}

function isStale(h: Held): boolean {
  if (!h.info) return Date.now() - h.mtimeMs > BREAKER_STALE_MS;
  if (h.info.host !== hostname()) return false;
  if (h.info.pid === process.pid) return false;
  return !processAlive(h.info.pid);
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Returns true when this process removed the stale lock. */
function breakStale(path: string, seen: Held, tenant: string): boolean {
  const breaker = `${path}.break`;
  const content = Buffer.from(JSON.stringify({ pid: process.pid, host: hostname(), since: new Date().toISOString() }) + '\n');
  if (!tryCreate(breaker, content, tenant)) {
    const b = readLock(breaker, tenant);
    if (b !== 'gone' && Date.now() - b.mtimeMs > BREAKER_STALE_MS) release(breaker, b.raw);
    return false;
  }
  try {
    const now = readLock(path, tenant);
    if (now === 'gone' || !now.raw.equals(seen.raw)) return false;
    unlinkSync(path);
    return true;
  } finally {
    release(breaker, content);
  }
}

/** Remove the lock only if it is still ours (never someone else's after a break). */
function release(path: string, content: Buffer): void {
  try {
    const raw = readNoFollow(path);
    if (raw.equals(content)) unlinkSync(path);
  } catch {
    /* already gone */
  }
}

/** The lock file's bytes, never through a symbolic link. */
function readNoFollow(path: string): Buffer {
  const fd = openSync(path, constants.O_RDONLY | O_NOFOLLOW);
  try {
    return readFileSync(fd);
  } finally {
    closeSync(fd);
  }
}

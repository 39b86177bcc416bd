import { createHash, randomBytes, type Hash } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  constants,
  fsyncSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  renameSync,
  rmSync,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { integrityError, StellaError, usageError } from '../errors.js';
import { writeAll } from '../util/write-all.js';
import { BLOB_PREFIX } from '../bundle/layout.js';
import { readArchive, type ArchiveLimits } from '../bundle/read-archive.js';
import { TarFormatError, type EntrySink } from '../bundle/tar-reader.js';
import type { TrustStore } from '../trust/trust-file.js';
import { fsyncDir, trackTemporary, untrackTemporary } from '../util/atomic-file.js';
import type { VerifyReport } from '../verify/report.js';
import { DEFAULT_VERIFY_LIMITS, verifyBundleDetailed, type VerifyLimits } from '../verify/verifier.js';
import { planExtraction, type ExtractionPlan } from './plan.js';

export interface ExtractOptions {
  bundle: string;
  trust: TrustStore;
  tenant?: string | undefined;
  at?: string | undefined;
  /** Accept a cross-tenant bundle, as `verify --allow-cross-tenant` does. */
  allowCrossTenant?: boolean | undefined;
  /** Target directory: must not exist, or be empty. */
  to: string;
  limits?: Partial<VerifyLimits>;
  /** Called as each pass reads the bundle: first `verify`, then `extract`. */
  onProgress?: ((p: ExtractProgress) => void) | undefined;
}

/**
 * One reading of either pass. Bytes are of the bundle file (compressed bytes for gzip),
 * since reading it is what takes the time in both passes. `verify` counts the archive's
 * entries, whose number is not known before the end; `extract` counts the files written
 * of all it will write.
 */
export interface ExtractProgress {
  phase: 'verify' | 'extract';
  bytes: number;
  totalBytes: number;
  files: number;
  totalFiles?: number | undefined;
}

export interface ExtractResult {
  report: VerifyReport;
  /** Null when verification failed: then nothing was written. */
  extracted: { to: string; files: number; dirs: number; bytes: number } | null;
}

// O_NOFOLLOW and O_EXCL: never write through a link, never into a file that exists.
const CREATE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/**
 * Verify a bundle exactly as `verify` does, then write each artifact under its logical
 * name into `to`. The files are written into a private staging directory beside `to`
 * (same file system) while every blob is hashed again, and the staging directory is
 * renamed to `to` only when all of them match: the result appears whole or not at all,
 * and a bundle swapped after verification is refused. Only regular files and directories
 * are created, with O_NOFOLLOW and O_EXCL, in a directory only we can write to.
 */
export async function extractBundle(opts: ExtractOptions): Promise<ExtractResult> {
  const target = resolve(opts.to);
  checkTarget(opts.to, target);
  const v = await verifyBundleDetailed({
    bundle: opts.bundle,
    trust: opts.trust,
    tenant: opts.tenant,
    at: opts.at,
    allowCrossTenant: opts.allowCrossTenant,
    limits: opts.limits,
    onProgress: opts.onProgress && ((p) => opts.onProgress!({ phase: 'verify', bytes: p.bytes, totalBytes: p.totalBytes, files: p.entries })),
  });
  if (!v.report.verified || !v.statement) return { report: v.report, extracted: null };
  const plan = planExtraction(v.statement.predicate.artifacts);

  const staging = join(dirname(target), `.${basename(target)}.extract-${process.pid}-${randomBytes(6).toString('hex')}`);
  try {
    mkdirSync(staging, { mode: 0o700 });
  } catch (e) {
    throw usageError('TARGET_UNUSABLE', `cannot create a directory beside ${opts.to} (${(e as NodeJS.ErrnoException).code ?? 'error'}): nothing was extracted`);
  }
  trackTemporary(staging);
  try {
    for (const d of plan.dirs) fsStep(() => mkdirSync(join(staging, d), { mode: 0o755 }), d, opts.to);
    const bytes = await writeFiles(opts.bundle, staging, plan, opts.to, { ...DEFAULT_VERIFY_LIMITS, ...opts.limits }, opts.onProgress);
    chmodSync(staging, 0o755);
    try {
      renameSync(staging, target);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'ENOTDIR' || code === 'EISDIR') {
        throw usageError('TARGET_NOT_EMPTY', `${opts.to} appeared or filled up during extraction: nothing was extracted`);
      }
      throw usageError('TARGET_UNUSABLE', `cannot move the extracted files to ${opts.to} (${code ?? 'error'}): nothing was extracted`);
    }
    untrackTemporary(staging);
    fsyncDir(dirname(target));
    return { report: v.report, extracted: { to: opts.to, files: fileCount(plan), dirs: plan.dirs.length, bytes } };
  } catch (e) {
    rmSync(staging, { recursive: true, force: true });
    untrackTemporary(staging);
    throw e;
  }
}

/** The target must be absent or an empty directory (not a link to one). */
function checkTarget(given: string, target: string): void {
  let st;
  try {
    st = lstatSync(target);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw usageError('TARGET_UNUSABLE', `cannot use ${given} (${(e as NodeJS.ErrnoException).code})`);
    let parent;
    try {
      parent = lstatSync(dirname(target));
    } catch {
      throw usageError('TARGET_UNUSABLE', `the parent directory of ${given} does not exist: create it first`);
    }
    if (!parent.isDirectory()) throw usageError('TARGET_UNUSABLE', `the parent of ${given} is not a directory`);
    return;
  }
  if (st.isSymbolicLink()) throw usageError('TARGET_UNUSABLE', `${given} is a symbolic link: give a new or empty directory`);
  if (!st.isDirectory()) throw usageError('TARGET_UNUSABLE', `${given} exists and is not a directory: give a new or empty directory`);
  if (readdirSync(target).length) throw usageError('TARGET_NOT_EMPTY', `${given} is not empty: give a new or empty directory`);
}

/** Second pass: stream each needed blob into every file that holds its content, hashing it again. */
async function writeFiles(
  bundle: string,
  staging: string,
  plan: ExtractionPlan,
  shownTo: string,
  limits: ArchiveLimits,
  onProgress: ExtractOptions['onProgress'],
): Promise<number> {
  const done = new Set<string>();
  const open = new Set<number>();
  let bytes = 0;
  let files = 0;
  const totalFiles = fileCount(plan);
  const changed = (why: string) =>
    integrityError('BUNDLE_CHANGED', `${bundle} changed after it was verified (${why}): nothing was extracted; verify and extract again`);
  try {
    await readArchive(bundle, (h): EntrySink => {
      const name = h.name.startsWith('./') ? h.name.slice(2) : h.name;
      const hex = name.startsWith(BLOB_PREFIX) ? name.slice(BLOB_PREFIX.length) : null;
      const targets = hex === null ? undefined : plan.byBlob.get(hex);
      if (!targets) return { update() {}, end() {} };
      if (done.has(hex!)) throw changed(`${name} appears twice`);
      const fds = targets.map((a) => {
        const fd = fsStep(() => openSync(join(staging, a.name), CREATE_FLAGS, 0o644), a.name, shownTo);
        open.add(fd);
        return fd;
      });
      const hash: Hash = createHash('sha256');
      let size = 0;
      return {
        update(chunk) {
          hash.update(chunk);
          size += chunk.length;
          if (size > targets[0]!.size) throw changed(`${name} is larger than the manifest says`);
          for (let k = 0; k < fds.length; k++) writeChunk(fds[k]!, chunk, targets[k]!.name, shownTo);
        },
        end() {
          for (let k = 0; k < fds.length; k++) {
            fsStep(() => fsyncSync(fds[k]!), targets[k]!.name, shownTo);
            closeSync(fds[k]!);
            open.delete(fds[k]!);
          }
          if (hash.digest('hex') !== hex || size !== targets[0]!.size) throw changed(`${name} no longer matches its digest`);
          done.add(hex!);
          bytes += size * targets.length;
          files += targets.length;
        },
      };
    }, limits, onProgress && ((p) => onProgress({ phase: 'extract', bytes: p.bytes, totalBytes: p.totalBytes, files, totalFiles })));
  } catch (e) {
    for (const fd of open) closeSync(fd);
    if (e instanceof TarFormatError) throw changed(e.message);
    throw e;
  }
  for (const hex of plan.byBlob.keys()) if (!done.has(hex)) throw changed(`${BLOB_PREFIX}${hex} is missing`);
  return bytes;
}

function fileCount(plan: ExtractionPlan): number {
  let n = 0;
  for (const l of plan.byBlob.values()) n += l.length;
  return n;
}

function writeChunk(fd: number, chunk: Buffer, name: string, shownTo: string): void {
  fsStep(() => writeAll(fd, chunk), name, shownTo);
}

/** File system failures while writing (no space, name too long) are input errors, exit 2. */
function fsStep<T>(f: () => T, name: string, shownTo: string): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof StellaError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (!code) throw e;
    throw usageError('EXTRACT_FAILED', `cannot write ${name} into ${shownTo} (${code}): nothing was extracted`);
  }
}

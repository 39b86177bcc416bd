import { closeSync, fstatSync, readlinkSync, readSync, realpathSync } from 'node:fs';
import { sep } from 'node:path';
import { StellaError, tenantError, usageError } from '../errors.js';
import { classify, CLASSIFY_MAX_BYTES } from '../evidence/classify.js';
import { collectInputs, type InputFile } from '../export/collect.js';
import { openInput } from '../export/read-file.js';
import type { Scope } from '../util/tenant.js';
import type { AuditContext, EvidenceStore, PutOutcome, RecordDraft } from './store.js';

export interface IngestOptions {
  store: EvidenceStore;
  tenant: string;
  /** From planIngest: walked and named before the store is opened or created. */
  files: readonly InputFile[];
  /** Overrides the kind recognised from the content. */
  kind?: string | undefined;
  labels: Record<string, string>;
  scope: Scope;
  ctx: AuditContext;
  /** The store's directory when it is on this file system: inputs inside it are refused. */
  storeRoot?: string | undefined;
  /** Files committed together; a long ingest commits as it goes, so a crash loses little. */
  batchSize?: number;
}

export interface IngestResult {
  tenant: string;
  added: number;
  duplicates: number;
  outcomes: PutOutcome[];
}

/**
 * Ingest files for one tenant: walk the inputs exactly as `export` does (same names), read
 * each file once while storing it (the digest comes from the bytes stored, not a second
 * read), recognise its format by content, and commit the records in batches.
 */
export function planIngest(paths: readonly string[], followSymlinks: boolean): InputFile[] {
  return collectInputs(paths, { followSymlinks });
}

export async function ingest(o: IngestOptions): Promise<IngestResult> {
  const files = o.files;
  const root = o.storeRoot !== undefined ? storeRealPath(o.storeRoot) : null;
  if (o.storeRoot !== undefined && root !== null) refuseInputsInsideStore(files.map((f) => f.path), root, o.storeRoot);
  const batchSize = o.batchSize ?? 256;
  const outcomes: PutOutcome[] = [];
  let batch: RecordDraft[] = [];
  for (const f of files) {
    let stored;
    try {
      stored = await o.store.putBlob(o.tenant, (write) => copyFile(f.path, f.viaLink ?? false, o.storeRoot, root, CLASSIFY_MAX_BYTES, write));
    } catch (e) {
      if (e instanceof StellaError) throw e;
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ELOOP') throw usageError('INPUT_CHANGED', `input ${f.path} changed while it was being stored: store it again once it is stable`);
      if (code) throw usageError('INPUT_UNREADABLE', `cannot read input ${f.path} (${code})`);
      throw e;
    }
    const c = classify(f.name, stored.result.content);
    batch.push({
      name: f.name,
      sha256: stored.sha256,
      size: stored.size,
      kind: o.kind ?? c.kind,
      mediaType: c.mediaType,
      labels: o.labels,
      scope: o.scope,
    });
    if (batch.length >= batchSize) {
      outcomes.push(...(await o.store.put(o.tenant, batch, o.ctx)));
      batch = [];
    }
  }
  if (batch.length) outcomes.push(...(await o.store.put(o.tenant, batch, o.ctx)));
  const added = outcomes.filter((x) => x.added).length;
  return { tenant: o.tenant, added, duplicates: outcomes.length - added, outcomes };
}

/**
 * Push a file's bytes to `write` in one pass; small files' content is also returned whole
 * for the classifier (the store hashes what it receives, so nothing is read twice).
 */
async function copyFile(
  path: string,
  viaLink: boolean,
  storeRoot: string | undefined,
  root: string | null,
  keepUpTo: number,
  write: (chunk: Buffer) => Promise<void> | void,
): Promise<{ content: Buffer | null }> {
  const fd = openInput(path, viaLink);
  try {
    refuseOpenedInsideStore(path, fd, storeRoot, root);
    // Listed as a regular file: a FIFO, device or link put in its place is refused.
    if (!fstatSync(fd).isFile()) throw usageError('INPUT_CHANGED', `input ${path} changed while it was being stored: store it again once it is stable`);
    const kept: Buffer[] = [];
    let size = 0;
    for (;;) {
      const buf = Buffer.allocUnsafe(READ_CHUNK);
      const n = readSync(fd, buf, 0, READ_CHUNK, null);
      if (n === 0) break;
      const chunk = buf.subarray(0, n);
      size += n;
      if (size <= keepUpTo) kept.push(chunk);
      await write(chunk);
    }
    return { content: size <= keepUpTo ? Buffer.concat(kept) : null };
  } finally {
    closeSync(fd);
  }
}

const READ_CHUNK = 1 << 20;

/**
 * Reading files out of the store by path would copy another tenant's blobs (or the logs)
 * into this tenant around every check, so an input inside the store is refused.
 */
/** `root` is the store's real path (none yet: nothing can be inside it, see storeRealPath). */
function refuseInputsInsideStore(paths: readonly string[], root: string, storeRoot: string): void {
  // The file itself, not only its directory: a followed link may point into the store.
  for (const p of paths) refuseIfInside(p, realpathSync.native(p), root, storeRoot);
}

function storeRealPath(storeRoot: string): string | null {
  try {
    return realpathSync(storeRoot);
  } catch {
    return null;
  }
}

function refuseIfInside(shown: string, real: string, root: string, storeRoot: string): void {
  if (real === root || real.startsWith(root + sep)) {
    throw tenantError('INPUT_INSIDE_STORE', `input ${shown} lies inside the store ${storeRoot}: evidence is ingested from outside the store, never copied between namespaces`);
  }
}

/**
 * The same refusal for the file actually opened: a directory of the input's path swapped
 * for a link into the store after the check above would otherwise be read through.
 * Where the system does not say (no /proc), the check above stands alone.
 */
function refuseOpenedInsideStore(shown: string, fd: number, storeRoot: string | undefined, root: string | null): void {
  if (storeRoot === undefined || root === null) return;
  let real: string;
  try {
    real = readlinkSync(`/proc/self/fd/${fd}`);
  } catch {
    return;
  }
  refuseIfInside(shown, real, root, storeRoot);
}

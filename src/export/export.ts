import { existsSync, fstatSync } from 'node:fs';
import { StellaError, usageError } from '../errors.js';
import { AtomicFile } from '../util/atomic-file.js';
import { requireTenantId, type Scope } from '../util/tenant.js';
import { TOOL_NAME, TOOL_VERSION } from '../version.js';
import { canonicalBytes } from '../json/canonical.js';
import { sha256Hex } from '../crypto/sha256.js';
import { spkiPem, type SigningKey } from '../crypto/keys.js';
import { IN_TOTO_PAYLOAD_TYPE, signEnvelope } from '../crypto/dsse.js';
import { formatChecksums, type ChecksumLine } from '../bundle/checksums.js';
import { blobPath, CHECKSUMS, compareUtf8, ENVELOPE, keyPath, MANIFEST, VERIFY_DOC } from '../bundle/layout.js';
import { TarWriter } from '../bundle/tar-writer.js';
import { VERIFY_MD } from '../bundle/verify-doc.js';
import { classify, CLASSIFY_MAX_BYTES } from '../evidence/classify.js';
import {
  computeTotals,
  PREDICATE_TYPE,
  STATEMENT_TYPE,
  type Artifact,
  type Statement,
} from '../manifest/statement.js';
import type { Authorization } from '../authority/record.js';
import { collectInputs, type InputFile } from './collect.js';
import { readHashed } from './read-file.js';

export interface ExportOptions {
  tenant: string;
  keys: readonly SigningKey[];
  out: string;
  inputs: readonly string[];
  createdAt: string;
  scope?: Scope;
  force?: boolean;
  followSymlinks?: boolean;
  /** undefined: decide by the output name (.tar.gz/.tgz compresses). */
  gzipLevel?: number | undefined;
  /** Recorded in the signed predicate; omitted, the manifest says nothing about authorization. */
  authorization?: Authorization | undefined;
}

export interface ExportResult {
  out: string;
  tenant: string;
  createdAt: string;
  manifestSha256: string;
  bundleBytes: number;
  artifacts: number;
  blobs: number;
  bytes: number;
  signers: string[];
}

export const isGzipName = (p: string): boolean => /\.(tar\.gz|tgz)$/i.test(p);

/**
 * Export a tenant's files as a signed bundle. Two passes over the inputs: the first
 * hashes (blob names and the manifest must be known before the first tar entry), the
 * second streams into the archive and hashes again, so an input that changed in
 * between fails the export instead of producing a bundle that contradicts its manifest.
 */
export async function exportBundle(opts: ExportOptions): Promise<ExportResult> {
  const tenant = requireTenantId(opts.tenant);
  if (opts.keys.length === 0) throw usageError('KEY_REQUIRED', 'no signing key given: pass --key KEYFILE');
  if (!opts.force && existsSync(opts.out)) {
    throw usageError('OUTPUT_EXISTS', `output ${opts.out} already exists: choose another path or pass --force`);
  }
  const files = collectInputs(opts.inputs, { followSymlinks: opts.followSymlinks ?? false });

  const artifacts: Artifact[] = [];
  const sourceOf = new Map<string, InputFile>();
  for (const f of files) {
    const r = await hashInput(f);
    const c = classify(f.name, r.content);
    artifacts.push({ name: f.name, sha256: r.sha256, size: r.size, mediaType: c.mediaType, kind: c.kind, tenant });
    if (!sourceOf.has(r.sha256)) sourceOf.set(r.sha256, { ...f, size: r.size });
  }

  const signerKeys = dedupeKeys(opts.keys);
  const extras = new Map<string, Buffer>([[VERIFY_DOC, Buffer.from(VERIFY_MD, 'utf8')]]);
  for (const k of signerKeys) extras.set(keyPath(k.keyid), Buffer.from(spkiPem(k), 'utf8'));

  const checksumLines: ChecksumLine[] = [...sourceOf.keys()].map((hex) => ({ path: blobPath(hex), sha256: hex }));
  for (const [path, data] of extras) checksumLines.push({ path, sha256: sha256Hex(data) });
  const checksums = formatChecksums(checksumLines);

  const statement: Statement = {
    _type: STATEMENT_TYPE,
    subject: [{ name: CHECKSUMS, digest: { sha256: sha256Hex(checksums) } }],
    predicateType: PREDICATE_TYPE,
    predicate: {
      tenant,
      scope: opts.scope ?? {},
      createdAt: opts.createdAt,
      exporter: { name: TOOL_NAME, version: TOOL_VERSION },
      artifacts,
      totals: computeTotals(artifacts),
      ...(opts.authorization ? { authorization: opts.authorization } : {}),
    },
  };
  const manifest = canonicalBytes(statement);
  const envelope = canonicalBytes(signEnvelope(IN_TOTO_PAYLOAD_TYPE, manifest, signerKeys));

  const gzipLevel = opts.gzipLevel ?? (isGzipName(opts.out) ? 6 : undefined);
  const file = new AtomicFile(opts.out, 0o644, opts.force ?? false);
  const writer = new TarWriter({ fd: file.fd, gzipLevel, mtime: new Date(Date.parse(opts.createdAt)) });
  try {
    await writer.addBuffer(MANIFEST, manifest);
    await writer.addBuffer(ENVELOPE, envelope);
    await writer.addBuffer(CHECKSUMS, checksums);
    const rest: Array<[string, () => Promise<void>]> = [];
    for (const [path, data] of extras) rest.push([path, () => writer.addBuffer(path, data)]);
    for (const [hex, src] of sourceOf) rest.push([blobPath(hex), () => writeBlob(writer, hex, src)]);
    rest.sort((a, b) => compareUtf8(a[0], b[0]));
    for (const [, write] of rest) await write();
    await writer.finish();
    const bundleBytes = fstatSync(file.fd).size;
    file.commit();
    const totals = statement.predicate.totals;
    return {
      out: opts.out,
      tenant,
      createdAt: opts.createdAt,
      manifestSha256: sha256Hex(manifest),
      bundleBytes,
      artifacts: totals.artifacts,
      blobs: totals.blobs,
      bytes: totals.bytes,
      signers: signerKeys.map((k) => k.keyid),
    };
  } catch (e) {
    writer.destroy(e instanceof Error ? e : new Error(String(e)));
    file.abort();
    throw e;
  }
}

async function hashInput(f: InputFile) {
  try {
    return await readHashed(f.path, { keepUpTo: CLASSIFY_MAX_BYTES });
  } catch (e) {
    throw usageError('INPUT_UNREADABLE', `cannot read input ${f.path} (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

async function writeBlob(writer: TarWriter, hex: string, src: InputFile): Promise<void> {
  const changed = () =>
    usageError('INPUT_CHANGED', `input ${src.path} changed while it was being exported: export again once it is stable`);
  await writer.addStream(blobPath(hex), src.size, async (write) => {
    let r;
    try {
      r = await readHashed(src.path, { limit: src.size, onChunk: write });
    } catch (e) {
      if (e instanceof StellaError) throw e;
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw changed();
      if (code) throw usageError('INPUT_UNREADABLE', `cannot read input ${src.path} (${code})`);
      throw e;
    }
    if (r.size !== src.size || r.sha256 !== hex) throw changed();
  });
}

function dedupeKeys(keys: readonly SigningKey[]): SigningKey[] {
  const seen = new Map<string, SigningKey>();
  for (const k of keys) if (!seen.has(k.keyid)) seen.set(k.keyid, k);
  return [...seen.values()];
}

import { createReadStream, existsSync, openSync, readSync, closeSync, statSync, createWriteStream } from 'node:fs';
import { resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import { integrityError, usageError } from '../errors.js';
import { signEnvelope, verifySignature } from '../crypto/dsse.js';
import type { SigningKey } from '../crypto/keys.js';
import { sha256Hex } from '../crypto/sha256.js';
import { canonicalBytes } from '../json/canonical.js';
import { parseStrictJsonBytes } from '../json/strict-parse.js';
import { ENVELOPE } from '../bundle/layout.js';
import { TarEntryReplacer } from '../bundle/tar-rewrite.js';
import { TarFormatError } from '../bundle/tar-reader.js';
import { AtomicFile } from '../util/atomic-file.js';
import { decisiveFailure } from '../verify/report.js';
import { DEFAULT_VERIFY_LIMITS, verifyBundleDetailed, type VerifiedBundle } from '../verify/verifier.js';

export interface CosignOptions {
  bundle: string;
  key: SigningKey;
  /** Where to write the co-signed bundle; default: replace `bundle` in place. */
  out?: string | undefined;
  force?: boolean;
}

export interface CosignResult {
  bundle: string;
  out: string;
  tenant: string;
  manifestSha256: string;
  keyid: string;
  /** Signatures in the envelope now, this one included. */
  signatures: number;
  /** The key had signed before: the new signature is appended but counts once. */
  alreadySigned: boolean;
  gzip: boolean;
}

/**
 * Append one signature to a bundle's envelope. The bundle must pass the integrity checks
 * (not trust: a co-signer need not trust the first signer, and the reviewer decides what
 * counts). Nothing but the envelope entry changes: every other entry is copied byte for
 * byte, headers included, so a bundle re-packed by another tar keeps its headers. The
 * co-signer's public key is not added to keys/; reviewers get it from their trust file.
 *
 * Three passes: verify the input, rewrite it, verify the output and compare it with the
 * input entry by entry. A bundle swapped between passes, or any rewriting fault, fails
 * before the output replaces anything.
 */
export async function cosignBundle(opts: CosignOptions): Promise<CosignResult> {
  const target = opts.out ?? opts.bundle;
  const inPlace = resolve(target) === resolve(opts.bundle);
  if (!inPlace && !opts.force && existsSync(target)) {
    throw usageError('OUTPUT_EXISTS', `output ${target} already exists: choose another path or pass --force`);
  }

  const before = await verifyBundleDetailed({ bundle: opts.bundle, trust: null });
  const failure = decisiveFailure(before.report);
  if (failure || !before.statement || !before.envelope || !before.payload) {
    throw integrityError(
      failure?.code ?? 'INTEGRITY',
      `${opts.bundle} fails its integrity checks, refusing to sign it: ${failure?.name}: ${failure?.message}`,
    );
  }
  const env = before.envelope;
  if (env.signatures.length + 1 > DEFAULT_VERIFY_LIMITS.maxSignatures) {
    throw usageError('TOO_MANY_SIGNATURES', `${opts.bundle} already has ${env.signatures.length} signatures, the most a bundle may carry`);
  }
  const alreadySigned = env.signatures.some((s) => verifySignature(env.payloadType, before.payload!, s.sig, opts.key));
  const newEnvelope = appendSignature(before, opts.key);

  const mode = inPlace ? statSync(opts.bundle).mode & 0o777 : 0o644;
  const file = new AtomicFile(target, mode, inPlace || !!opts.force);
  try {
    await rewrite(opts.bundle, file.fd, before.gzip, newEnvelope);
    await checkResult(file.tempPath, before, newEnvelope, opts.bundle);
    file.commit();
  } catch (e) {
    file.abort();
    const zlib = typeof (e as NodeJS.ErrnoException).code === 'string' && (e as NodeJS.ErrnoException).code!.startsWith('Z_');
    if (e instanceof TarFormatError || zlib) {
      throw integrityError('BUNDLE_CHANGED', `${opts.bundle} changed while it was being signed (${(e as Error).message}): nothing was written; sign again`);
    }
    throw e;
  }
  return {
    bundle: opts.bundle,
    out: target,
    tenant: before.statement.predicate.tenant,
    manifestSha256: sha256Hex(before.payload),
    keyid: opts.key.keyid,
    signatures: env.signatures.length + 1,
    alreadySigned,
    gzip: before.gzip,
  };
}

/**
 * The envelope with one more signature, serialised canonically. The payload string and
 * the earlier signatures are kept exactly as they were (taken from the original bytes,
 * so a signature without a keyid stays without one).
 */
function appendSignature(v: VerifiedBundle, key: SigningKey): Buffer {
  const original = parseStrictJsonBytes(v.metadata.get(ENVELOPE)!) as { payload: string; payloadType: string; signatures: unknown[] };
  const sig = signEnvelope(original.payloadType, v.payload!, [key]).signatures[0]!;
  return canonicalBytes({ payload: original.payload, payloadType: original.payloadType, signatures: [...original.signatures, sig] });
}

async function rewrite(bundle: string, fd: number, gzip: boolean, envelope: Buffer): Promise<void> {
  if (sniffGzip(bundle) !== gzip) throw new TarFormatError('its compression changed', 0);
  const replacer = new TarEntryReplacer(ENVELOPE, envelope);
  const transform = async function* (source: AsyncIterable<Buffer>) {
    for await (const chunk of source) yield* replacer.write(chunk);
    replacer.end();
  };
  const sink = createWriteStream('', { fd, autoClose: false });
  if (gzip) await pipeline(createReadStream(bundle), createGunzip(), transform, createGzip({ level: gzipLevelOf(bundle) }), sink);
  else await pipeline(createReadStream(bundle), transform, sink);
  if (replacer.replaced !== 1) throw new TarFormatError(`${ENVELOPE} found ${replacer.replaced} times`, 0);
}

/** The output must verify, and hold exactly the input's entries, the envelope excepted. */
async function checkResult(path: string, before: VerifiedBundle, envelope: Buffer, bundle: string): Promise<void> {
  const after = await verifyBundleDetailed({ bundle: path, trust: null });
  const changed = (why: string) => integrityError('BUNDLE_CHANGED', `${bundle} changed while it was being signed (${why}): nothing was written; sign again`);
  const f = decisiveFailure(after.report);
  if (f) throw changed(`the re-signed bundle fails ${f.name}: ${f.message}`);
  if (after.entries.size !== before.entries.size) throw changed('a different number of entries');
  for (const [name, seen] of before.entries) {
    const now = after.entries.get(name);
    const want = name === ENVELOPE ? { sha256: sha256Hex(envelope), size: envelope.length } : seen;
    if (!now || now.sha256 !== want.sha256 || now.size !== want.size) throw changed(`entry ${name} differs`);
  }
}

function sniffGzip(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.alloc(2);
    return readSync(fd, b, 0, 2, 0) === 2 && b[0] === 0x1f && b[1] === 0x8b;
  } finally {
    closeSync(fd);
  }
}

/**
 * The gzip header's XFL byte records whether the compressor used its best (2) or
 * fastest (4) setting; anything else we treat as the exporter's default level.
 */
function gzipLevelOf(path: string): number {
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.alloc(10);
    readSync(fd, b, 0, 10, 0);
    return b[8] === 2 ? 9 : b[8] === 4 ? 1 : 6;
  } finally {
    closeSync(fd);
  }
}

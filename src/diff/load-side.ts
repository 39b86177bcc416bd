import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { usageError } from '../errors.js';
import { sha256Hex } from '../crypto/sha256.js';
import { decodeBase64Strict, toEnvelope, type DsseEnvelope } from '../crypto/dsse.js';
import { JsonSyntaxError, parseStrictJsonBytes } from '../json/strict-parse.js';
import { schemaProblem } from '../manifest/schemas.js';
import type { Statement } from '../manifest/statement.js';
import { ENVELOPE, MANIFEST } from '../bundle/layout.js';
import { readArchive, StopReading } from '../bundle/read-archive.js';
import { TarFormatError } from '../bundle/tar-reader.js';

export interface DiffSide {
  path: string;
  form: 'bundle' | 'manifest' | 'envelope';
  statement: Statement;
  /** Key ids of the envelope's signatures (unverified), empty for a bare manifest. */
  signatureKeyids: string[];
  /** SHA-256 of the manifest bytes (the envelope's payload for an envelope). */
  manifestSha256: string;
  /** The envelope with its decoded payload; null for a bare manifest. */
  envelope: { envelope: DsseEnvelope; payload: Buffer } | null;
}

const METADATA_LIMIT = 96 * 1024 * 1024;

/**
 * Read one side of a diff: a bundle (plain or gzip tar), a manifest.json or an envelope,
 * told apart by content. Only the metadata is read; a bundle stops streaming as soon as
 * both files are in hand (they come first in bundles we write). Any problem is exit 2.
 */
export async function loadDiffSide(path: string): Promise<DiffSide> {
  const prefix = readPrefix(path, 64);
  const first = prefix.find((c) => c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09);
  if (first === 0x7b) {
    if (statSync(path).size > METADATA_LIMIT) throw usageError('DIFF_INPUT', `${path} is too large for a manifest or envelope`);
    return fromJson(path, readFileSync(path));
  }
  return fromBundle(path);
}

function readPrefix(path: string, n: number): Buffer {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw usageError('DIFF_INPUT', code === 'ENOENT' ? `${path} does not exist` : `cannot read ${path} (${code})`);
  }
  try {
    const b = Buffer.alloc(n);
    return b.subarray(0, readSync(fd, b, 0, n, 0));
  } catch (e) {
    throw usageError('DIFF_INPUT', `cannot read ${path} (${(e as NodeJS.ErrnoException).code})`);
  } finally {
    closeSync(fd);
  }
}

function fromJson(path: string, bytes: Buffer): DiffSide {
  const doc = parse(path, bytes);
  if (typeof doc === 'object' && doc !== null && 'payloadType' in doc) {
    const env = envelopeOf(path, doc);
    const payload = payloadOf(path, env);
    return {
      path,
      form: 'envelope',
      statement: statementOf(path, parse(path, payload)),
      signatureKeyids: env.signatures.map((s) => s.keyid),
      manifestSha256: sha256Hex(payload),
      envelope: { envelope: env, payload },
    };
  }
  return { path, form: 'manifest', statement: statementOf(path, doc), signatureKeyids: [], manifestSha256: sha256Hex(bytes), envelope: null };
}

async function fromBundle(path: string): Promise<DiffSide> {
  const found = new Map<string, Buffer>();
  try {
    await readArchive(path, (h) => {
      const name = h.name.startsWith('./') ? h.name.slice(2) : h.name;
      const want = name === MANIFEST || name === ENVELOPE;
      if (want && h.size > METADATA_LIMIT) throw new TarFormatError(`${name} is too large`, h.offset);
      const parts: Buffer[] = [];
      return {
        update(c) {
          if (want) parts.push(Buffer.from(c));
        },
        end() {
          if (!want) return;
          if (found.has(name)) throw new TarFormatError(`duplicate entry ${name}`, h.offset);
          found.set(name, Buffer.concat(parts));
          if (found.size === 2) throw new StopReading();
        },
      };
    });
  } catch (e) {
    if (e instanceof TarFormatError) throw usageError('DIFF_INPUT', `${path} is not a readable bundle: ${e.message}`);
    throw e;
  }
  const manifest = found.get(MANIFEST);
  if (!manifest) throw usageError('DIFF_INPUT', `${path} has no ${MANIFEST}`);
  const envBytes = found.get(ENVELOPE);
  const env = envBytes ? envelopeOf(path, parse(path, envBytes)) : null;
  return {
    path,
    form: 'bundle',
    statement: statementOf(path, parse(path, manifest)),
    signatureKeyids: env ? env.signatures.map((s) => s.keyid) : [],
    manifestSha256: sha256Hex(manifest),
    envelope: env ? { envelope: env, payload: payloadOf(path, env) } : null,
  };
}

function parse(path: string, bytes: Buffer): unknown {
  try {
    return parseStrictJsonBytes(bytes);
  } catch (e) {
    throw usageError('DIFF_INPUT', `${path}: not valid JSON (${e instanceof JsonSyntaxError ? e.message : 'parse error'})`);
  }
}

function envelopeOf(path: string, doc: unknown): DsseEnvelope {
  const env = toEnvelope(doc as never);
  if (typeof env === 'string') throw usageError('DIFF_INPUT', `${path}: not a DSSE envelope (${env})`);
  return env;
}

function payloadOf(path: string, env: DsseEnvelope): Buffer {
  const p = decodeBase64Strict(env.payload);
  if (!p) throw usageError('DIFF_INPUT', `${path}: envelope payload is not base64`);
  return p;
}

function statementOf(path: string, doc: unknown): Statement {
  const problem = schemaProblem('manifest', doc);
  if (problem) throw usageError('DIFF_INPUT', `${path}: not a stella-evidence manifest (${problem})`);
  return doc as Statement;
}

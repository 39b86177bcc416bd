/**
 * Helpers for the reviewer, approval and auditor tests: craft bundles whose manifest is
 * validly signed but says whatever the test needs (hostile artifact names, several
 * signatures), and read archives entry by entry or block by block.
 */
import { createPublicKey } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { canonicalBytes } from '../../src/json/canonical.js';
import { formatChecksums } from '../../src/bundle/checksums.js';
import { IN_TOTO_PAYLOAD_TYPE, pae, signEnvelope, type DsseEnvelope } from '../../src/crypto/dsse.js';
import { parsePrivateKeyPem, spkiPem, type SigningKey } from '../../src/crypto/keys.js';
import { sign } from '../../src/crypto/ed25519.js';
import { sha256Hex } from '../../src/crypto/sha256.js';
import { computeTotals, PREDICATE_TYPE, STATEMENT_TYPE, type Artifact, type Statement } from '../../src/manifest/statement.js';

export const loadKey = (file: string): SigningKey => parsePrivateKeyPem(readFileSync(file, 'utf8'), file);

/** SPKI DER of a PEM public key, as a trust file stores it (base64), via node:crypto. */
export const spkiBase64 = (pemFile: string): string =>
  createPublicKey(readFileSync(pemFile, 'utf8')).export({ type: 'spki', format: 'der' }).toString('base64');

export interface CraftArtifact {
  name: string;
  content: string | Buffer;
  tenant?: string;
}

export interface CraftOptions {
  tenant?: string;
  createdAt?: string;
  artifacts: readonly CraftArtifact[];
  /** Signing keys, in envelope order; the same key may appear twice. */
  signers: readonly SigningKey[];
  /** Extra tar entries appended after the real ones (for hostile archive names). */
  extraEntries?: ReadonlyArray<{ name: string; data: Buffer }>;
  gzip?: boolean;
}

/**
 * A bundle in our format, built from the library's own pieces but without the exporter's
 * input checks, so the signed manifest can hold names the exporter would never write.
 */
export async function craftBundle(out: string, o: CraftOptions): Promise<Statement> {
  const tenant = o.tenant ?? 'acme';
  const blobs = new Map<string, Buffer>();
  const artifacts: Artifact[] = o.artifacts.map((a) => {
    const data = Buffer.isBuffer(a.content) ? a.content : Buffer.from(a.content, 'utf8');
    const hex = sha256Hex(data);
    blobs.set(hex, data);
    return { name: a.name, sha256: hex, size: data.length, mediaType: 'text/plain', kind: 'other', tenant: a.tenant ?? tenant };
  });
  const files = new Map<string, Buffer>();
  for (const [hex, data] of blobs) files.set(`blobs/sha256/${hex}`, data);
  const uniqueSigners = [...new Map(o.signers.map((k) => [k.keyid, k])).values()];
  for (const k of uniqueSigners) files.set(`keys/${k.keyid}.pub`, Buffer.from(spkiPem(k)));
  const checksums = formatChecksums([...files].map(([path, data]) => ({ path, sha256: sha256Hex(data) })));
  const statement: Statement = {
    _type: STATEMENT_TYPE,
    subject: [{ name: 'checksums.sha256', digest: { sha256: sha256Hex(checksums) } }],
    predicateType: PREDICATE_TYPE,
    predicate: {
      tenant,
      scope: {},
      createdAt: o.createdAt ?? '2026-11-01T00:00:00Z',
      exporter: { name: 'stella-evidence', version: '0.1.0' },
      artifacts,
      totals: computeTotals(artifacts),
    },
  };
  const manifest = canonicalBytes(statement);
  const envelope = canonicalBytes(signEnvelope(IN_TOTO_PAYLOAD_TYPE, manifest, o.signers));
  const entries: Array<{ name: string; data: Buffer }> = [
    { name: 'manifest.json', data: manifest },
    { name: 'manifest.dsse.json', data: envelope },
    { name: 'checksums.sha256', data: checksums },
    ...[...files].sort((a, b) => Buffer.compare(Buffer.from(a[0]), Buffer.from(b[0]))).map(([name, data]) => ({ name, data })),
    ...(o.extraEntries ?? []),
  ];
  writeFileSync(out, await packTar(entries, o.gzip ?? false));
  return statement;
}

export async function packTar(entries: ReadonlyArray<{ name: string; data: Buffer }>, gzip = false): Promise<Buffer> {
  const pack = tar.pack();
  const parts: Buffer[] = [];
  const done = new Promise<void>((resolve, reject) => {
    pack.on('data', (c) => parts.push(c as Buffer));
    pack.on('end', resolve);
    pack.on('error', reject);
  });
  for (const e of entries) {
    await new Promise<void>((resolve, reject) =>
      pack.entry({ name: e.name, size: e.data.length, mode: 0o644, mtime: new Date(0), type: 'file' }, e.data, (err) => (err ? reject(err) : resolve())),
    );
  }
  pack.finalize();
  await done;
  const raw = Buffer.concat(parts);
  return gzip ? gzipSync(raw) : raw;
}

export interface ReadEntry {
  name: string;
  data: Buffer;
  header: { mode: number; uid: number; gid: number; uname: string; gname: string; mtime: number; type: string };
}

export const isGzip = (b: Buffer): boolean => b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;

export async function readEntries(file: string): Promise<ReadEntry[]> {
  const bytes = readFileSync(file);
  const ex = tar.extract();
  const out: ReadEntry[] = [];
  const done = new Promise<void>((resolve, reject) => {
    ex.on('entry', (h, stream, next) => {
      const parts: Buffer[] = [];
      stream.on('data', (c) => parts.push(c as Buffer));
      stream.on('end', () => {
        out.push({
          name: h.name,
          data: Buffer.concat(parts),
          header: {
            mode: h.mode ?? 0,
            uid: h.uid ?? 0,
            gid: h.gid ?? 0,
            uname: h.uname ?? '',
            gname: h.gname ?? '',
            mtime: h.mtime?.getTime() ?? 0,
            type: h.type ?? 'file',
          },
        });
        next();
      });
      stream.on('error', reject);
    });
    ex.on('finish', resolve);
    ex.on('error', reject);
  });
  ex.end(isGzip(bytes) ? gunzipSync(bytes) : bytes);
  await done;
  return out;
}

export async function entryData(file: string, name: string): Promise<Buffer> {
  const e = (await readEntries(file)).find((x) => x.name === name || x.name === `./${name}`);
  if (!e) throw new Error(`${file} has no entry ${name}`);
  return e.data;
}

/**
 * The raw 512-byte header blocks of a (plain or gzip) tar, by entry name, with the raw
 * pax or long-name records before them: what must stay byte-identical when only another
 * entry is rewritten. Written from the ustar layout, independently of src/.
 */
export function rawHeaders(file: string): Map<string, Buffer> {
  const bytes = readFileSync(file);
  const b = isGzip(bytes) ? gunzipSync(bytes) : bytes;
  const out = new Map<string, Buffer>();
  let off = 0;
  let pending: Buffer[] = [];
  let longName: string | null = null;
  while (off + 512 <= b.length) {
    const h = b.subarray(off, off + 512);
    if (h.every((x) => x === 0)) break;
    const size = parseInt(h.subarray(124, 136).toString('latin1').replace(/[\0 ]+$/, '') || '0', 8);
    const blocks = Math.ceil(size / 512) * 512;
    const type = String.fromCharCode(h[156]!);
    const whole = b.subarray(off, off + 512 + blocks);
    if (type === 'x' || type === 'L') {
      pending.push(Buffer.from(whole));
      if (type === 'L') longName = b.subarray(off + 512, off + 512 + size).toString('utf8').replace(/\0+$/, '');
      off += 512 + blocks;
      continue;
    }
    const cstr = (s: Buffer) => s.subarray(0, s.indexOf(0) < 0 ? s.length : s.indexOf(0)).toString('utf8');
    const prefix = cstr(h.subarray(345, 500));
    const name = longName ?? (prefix ? `${prefix}/${cstr(h.subarray(0, 100))}` : cstr(h.subarray(0, 100)));
    out.set(name.replace(/^\.\//, ''), Buffer.concat([...pending, Buffer.from(h)]));
    pending = [];
    longName = null;
    off += 512 + blocks;
  }
  return out;
}

/** A DSSE signature made outside the CLI, with whatever keyid the test wants it to claim. */
export function rawSignature(payload: Buffer, key: SigningKey, keyid: string | undefined): { keyid?: string; sig: string } {
  const sig = Buffer.from(sign(pae(IN_TOTO_PAYLOAD_TYPE, payload), key.seed, key.raw)).toString('base64');
  return keyid === undefined ? { sig } : { keyid, sig };
}

export function envelopeOf(bytes: Buffer): DsseEnvelope {
  return JSON.parse(bytes.toString('utf8')) as DsseEnvelope;
}

/**
 * Read and rewrite bundles entry by entry (tar-stream), to build tampered variants the
 * exporter would never write. Everything is in memory: test bundles are small.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { sha256Hex } from './keys.js';

export interface TarEntry {
  name: string;
  data: Buffer;
  type: string;
  mode: number;
}

export const isGzip = (b: Uint8Array): boolean => b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;

export async function readTar(bytes: Buffer): Promise<TarEntry[]> {
  const raw = isGzip(bytes) ? gunzipSync(bytes) : bytes;
  const ex = tar.extract();
  const entries: TarEntry[] = [];
  const done = new Promise<void>((resolve, reject) => {
    ex.on('entry', (h, stream, next) => {
      const parts: Buffer[] = [];
      stream.on('data', (c) => parts.push(c as Buffer));
      stream.on('end', () => {
        entries.push({ name: h.name, data: Buffer.concat(parts), type: h.type ?? 'file', mode: h.mode ?? 0o644 });
        next();
      });
      stream.on('error', reject);
    });
    ex.on('finish', resolve);
    ex.on('error', reject);
  });
  ex.end(raw);
  await done;
  return entries;
}

export async function writeTar(entries: readonly TarEntry[], gzip = false): Promise<Buffer> {
  const pack = tar.pack();
  const parts: Buffer[] = [];
  const done = new Promise<void>((resolve, reject) => {
    pack.on('data', (c) => parts.push(c as Buffer));
    pack.on('end', resolve);
    pack.on('error', reject);
  });
  for (const e of entries) {
    await new Promise<void>((resolve, reject) =>
      pack.entry(
        { name: e.name, size: e.data.length, mode: e.mode, mtime: new Date(0), type: e.type as 'file' },
        e.data,
        (err) => (err ? reject(err) : resolve()),
      ),
    );
  }
  pack.finalize();
  await done;
  const out = Buffer.concat(parts);
  return gzip ? gzipSync(out) : out;
}

export const readBundle = (path: string): Promise<TarEntry[]> => readTar(readFileSync(path));

/** Apply `edit` to the entries of `src` and write the result to `dst` (same compression). */
export async function rewriteBundle(src: string, dst: string, edit: (entries: TarEntry[]) => TarEntry[] | void): Promise<string> {
  const bytes = readFileSync(src);
  const entries = await readTar(bytes);
  const edited = edit(entries) ?? entries;
  writeFileSync(dst, await writeTar(edited, isGzip(bytes)));
  return dst;
}

export function entry(entries: readonly TarEntry[], name: string): TarEntry {
  const e = entries.find((x) => x.name === name);
  if (!e) throw new Error(`no entry ${name} in bundle (has ${entries.map((x) => x.name).join(', ')})`);
  return e;
}

export const fileEntry = (name: string, data: Buffer | string): TarEntry => ({
  name,
  data: Buffer.isBuffer(data) ? data : Buffer.from(data),
  type: 'file',
  mode: 0o644,
});

export const blobEntries = (entries: readonly TarEntry[]): TarEntry[] => entries.filter((e) => e.name.startsWith('blobs/sha256/'));

export interface Manifest {
  _type: string;
  subject: Array<{ name: string; digest: { sha256: string } }>;
  predicateType: string;
  predicate: {
    tenant: string;
    scope: Record<string, string>;
    createdAt: string;
    exporter: { name: string; version: string };
    artifacts: Array<{ name: string; sha256: string; size: number; mediaType: string; kind: string; tenant: string }>;
    totals: Record<string, number>;
  };
}

export async function readManifest(bundle: string): Promise<Manifest> {
  return JSON.parse(entry(await readBundle(bundle), 'manifest.json').data.toString('utf8')) as Manifest;
}

export const blobName = (data: Buffer | string): string => `blobs/sha256/${sha256Hex(data)}`;

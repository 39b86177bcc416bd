/**
 * The cross-checks of the listing and the artifacts against the entries take shortcuts
 * for large bundles (walking the archive and checksums.sha256 side by side; counting
 * instead of building sets). Whatever order the archive has, the failure reported must
 * be the first one in the order of checksums.sha256 and of the manifest, with the same
 * code and message: these bundles put the entries in and out of the listing's order.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadTrustFile, type TrustStore } from '../../src/trust/trust-file.js';
import { verifyBundle } from '../../src/verify/verifier.js';
import type { CheckResult } from '../../src/verify/report.js';
import { KEYS, mustExport } from '../helpers/cli.js';
import { canonicalJson } from '../helpers/forge.js';
import { signEnvelope, writeTrustFile } from '../helpers/keys.js';
import { blobEntries, blobName, entry, fileEntry, rewriteBundle, type Manifest, type TarEntry } from '../helpers/tar.js';
import { removeTempDirs, tempDir } from '../helpers/tmp.js';

afterAll(removeTempDirs);

const sha256 = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

let root: string;
let bundle: string;
let trust: TrustStore;
let n = 0;
const scratch = () => join(root, `case-${++n}.tar`);

beforeAll(() => {
  root = tempDir('bundle-checks-');
  const input = join(root, 'in');
  mkdirSync(input);
  for (let k = 0; k < 12; k++) writeFileSync(join(input, `file-${k}.txt`), `content of file ${k}\n`);
  bundle = join(root, 'bundle.tar');
  mustExport({ out: bundle, inputs: [input] });
  trust = loadTrustFile(writeTrustFile(join(root, 'trust.json'), { acme: [KEYS.acme.pub] }));
});

/** The one failing check (every case here fails exactly one integrity cross-check first). */
async function firstFailure(path: string): Promise<CheckResult> {
  const r = await verifyBundle({ bundle: path, trust, tenant: 'acme', threads: 0 });
  const failed = r.checks.filter((c) => c.status === 'fail');
  expect(failed.length).toBeGreaterThan(0);
  return failed[0]!;
}

/** Change the content of blobs `which` (indexes in listing order) without changing sizes. */
function changeBlobs(entries: TarEntry[], which: number[]): string[] {
  const blobs = blobEntries(entries);
  return which.map((k) => {
    const b = blobs[k]!;
    b.data = Buffer.from(b.data.toString('utf8').toUpperCase());
    return b.name;
  });
}

/** The blobs in reverse order, everything else where it was. */
function reverseBlobs(entries: TarEntry[]): TarEntry[] {
  const reversed = blobEntries(entries).reverse();
  let k = 0;
  return entries.map((e) => (e.name.startsWith('blobs/sha256/') ? reversed[k++]! : e));
}

/**
 * Apply `change` to the entries and the statement, list the entries anew in
 * checksums.sha256 (sorted, as the exporter writes it), pin that and re-sign: a bundle
 * whose signature and listing are fine, so only the cross-checks can object.
 */
function relist(src: string, dst: string, change: (entries: TarEntry[], m: Manifest) => TarEntry[]): Promise<string> {
  return rewriteBundle(src, dst, (entries) => {
    const m = JSON.parse(entry(entries, 'manifest.json').data.toString('utf8')) as Manifest;
    const changed = change(entries, m);
    const listing = Buffer.from(
      changed
        .filter((e) => !METADATA.includes(e.name))
        .map((e) => `${sha256(e.data)}  ${e.name}\n`)
        .sort((a, b) => (a.slice(66) < b.slice(66) ? -1 : 1))
        .join(''),
    );
    m.subject[0]!.digest.sha256 = sha256(listing);
    const payload = Buffer.from(canonicalJson(m));
    const envelope = Buffer.from(canonicalJson(signEnvelope(payload, [KEYS.acme.key])));
    const replaced: Record<string, Buffer> = { 'manifest.json': payload, 'manifest.dsse.json': envelope, 'checksums.sha256': listing };
    return changed.map((e) => (replaced[e.name] ? fileEntry(e.name, replaced[e.name]!) : e));
  });
}
const METADATA = ['manifest.json', 'manifest.dsse.json', 'checksums.sha256'];

/** The artifact names a bundle's manifest lists, in order. */
async function readNames(path: string): Promise<{ artifacts: string[] }> {
  let names: string[] = [];
  await rewriteBundle(path, scratch(), (es) => {
    const m = JSON.parse(entry(es, 'manifest.json').data.toString('utf8')) as Manifest;
    names = m.predicate.artifacts.map((a) => a.name);
    return es;
  });
  return { artifacts: names };
}

describe('listing against entries', () => {
  it('two changed blobs: the first in listing order is named, in listing order or not', async () => {
    let names: string[] = [];
    const ordered = await rewriteBundle(bundle, scratch(), (es) => {
      names = changeBlobs(es, [3, 8]);
    });
    const shuffled = await rewriteBundle(bundle, scratch(), (es) => {
      changeBlobs(es, [3, 8]);
      return reverseBlobs(es);
    });
    const a = await firstFailure(ordered);
    const b = await firstFailure(shuffled);
    expect(a).toMatchObject({ name: 'checksums', code: 'DIGEST_MISMATCH' });
    expect(a.message.startsWith(`${names[0]} has sha256 `)).toBe(true);
    expect(b).toEqual(a);
  });

  it('a file nothing lists, between the blobs or at the end', async () => {
    const extra = fileEntry('notes.txt', 'hello\n');
    const middle = await rewriteBundle(bundle, scratch(), (es) => {
      const at = es.indexOf(blobEntries(es)[5]!);
      return [...es.slice(0, at), extra, ...es.slice(at)];
    });
    const end = await rewriteBundle(bundle, scratch(), (es) => [...es, extra]);
    for (const path of [middle, end]) {
      expect(await firstFailure(path)).toMatchObject({
        name: 'checksums',
        code: 'FILE_UNLISTED',
        message: 'notes.txt is in the bundle but not listed in checksums.sha256',
      });
    }
  });

  it('a listed file outside the bundle format, whatever the archive order', async () => {
    const add = (reverse: boolean) => (es: TarEntry[]) => {
      const withNotes = [...es, fileEntry('notes.txt', 'hello\n')];
      return reverse ? reverseBlobs(withNotes) : withNotes;
    };
    for (const reverse of [false, true]) {
      const path = await relist(bundle, scratch(), add(reverse));
      expect(await firstFailure(path)).toMatchObject({ name: 'checksums', code: 'FILE_UNEXPECTED', message: 'notes.txt is not part of the bundle format' });
    }
  });

  it('a missing blob is named by its listing line', async () => {
    let gone = '';
    const path = await rewriteBundle(bundle, scratch(), (es) => {
      const b = blobEntries(es)[6]!;
      gone = b.name;
      return reverseBlobs(es.filter((e) => e !== b));
    });
    expect(await firstFailure(path)).toMatchObject({ code: 'FILE_MISSING', message: `${gone} is listed in checksums.sha256 but missing from the bundle` });
  });
});

describe('artifacts against blobs', () => {
  it('a listed blob no artifact references', async () => {
    const smuggled = 'smuggled evidence\n';
    for (const reverse of [false, true]) {
      const path = await relist(bundle, scratch(), (es) => {
        const all = [...es, fileEntry(blobName(smuggled), smuggled)];
        return reverse ? reverseBlobs(all) : all;
      });
      expect(await firstFailure(path)).toMatchObject({
        name: 'artifacts',
        code: 'BLOB_UNREFERENCED',
        message: `${blobName(smuggled)} belongs to no artifact in the manifest`,
      });
    }
  });

  it('two artifacts sharing one blob while another blob is left over', async () => {
    // As many artifacts as blobs, but not one blob each: counting artifacts is not enough.
    let orphan = '';
    const path = await relist(bundle, scratch(), (es, m) => {
      const [a, b] = m.predicate.artifacts;
      orphan = `blobs/sha256/${b!.sha256}`;
      b!.sha256 = a!.sha256;
      b!.size = a!.size;
      m.predicate.totals = { ...m.predicate.totals, blobs: m.predicate.totals.blobs! - 1, bytes: m.predicate.artifacts.reduce((s, x) => s + x.size, 0) };
      return es;
    });
    expect(await firstFailure(path)).toMatchObject({ name: 'artifacts', code: 'BLOB_UNREFERENCED', message: `${orphan} belongs to no artifact in the manifest` });
  });

  it('the first problem in artifact order is named, whether it is a name (worked out ahead) or a blob', async () => {
    const missing = 'f'.repeat(64);
    // A missing blob at artifact 1, a repeated name at artifact 3: the blob is named.
    const blobFirst = await relist(bundle, scratch(), (es, m) => {
      const as = m.predicate.artifacts;
      as[1]!.sha256 = missing;
      as[3]!.name = as[0]!.name;
      return es;
    });
    const names = (await readNames(blobFirst)).artifacts;
    expect(await firstFailure(blobFirst)).toMatchObject({
      name: 'artifacts',
      code: 'BLOB_MISSING',
      message: `artifact ${names[1]}: blob blobs/sha256/${missing} is missing`,
    });
    // A repeated name at artifact 1, a missing blob at artifact 3: the name is named.
    const nameFirst = await relist(bundle, scratch(), (es, m) => {
      const as = m.predicate.artifacts;
      as[1]!.name = as[0]!.name;
      as[3]!.sha256 = missing;
      return es;
    });
    expect(await firstFailure(nameFirst)).toMatchObject({ name: 'artifacts', code: 'ARTIFACT_DUPLICATE', message: `artifact ${names[0]} is listed twice` });
    // An unsafe name at artifact 2, after a missing blob at artifact 1, and before one at 3.
    const unsafe = await relist(bundle, scratch(), (es, m) => {
      const as = m.predicate.artifacts;
      as[2]!.name = '../escape.txt';
      as[3]!.sha256 = missing;
      return es;
    });
    expect(await firstFailure(unsafe)).toMatchObject({ name: 'artifacts', code: 'ARTIFACT_NAME', message: 'artifact name "../escape.txt" is unsafe (".." path segment)' });
  });

  it('the same bundles verify when nothing is wrong (the cases above fail for their stated reason)', async () => {
    const reordered = await rewriteBundle(bundle, scratch(), (es) => reverseBlobs(es));
    const relisted = await relist(bundle, scratch(), (es) => es);
    for (const path of [bundle, reordered, relisted]) {
      const r = await verifyBundle({ bundle: path, trust, tenant: 'acme', threads: 0 });
      expect(r.checks.filter((c) => c.status !== 'pass')).toEqual([]);
    }
  });
});

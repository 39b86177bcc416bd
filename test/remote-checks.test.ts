/**
 * With a large manifest, the compiled verifier runs the checks after the read on a worker
 * thread (src/verify/remote-checks.ts), fed while the blobs are hashed. The worker exists
 * only under dist/, so the compiled module is imported here and its report compared with
 * the same module's on one thread (threads: 0), for a genuine bundle and for every kind of
 * damage: the report, codes and messages included, must be identical.
 */
import { mkdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VerifyOptions } from '../src/verify/verifier.js';
import type { VerifyReport } from '../src/verify/report.js';
import { REPO, KEYS, mustExport } from './helpers/cli.js';
import { writeTrustFile } from './helpers/keys.js';
import { forgeBundle } from './helpers/forge.js';
import { blobEntries, fileEntry, rewriteBundle } from './helpers/tar.js';
import { removeTempDirs, tempDir } from './helpers/tmp.js';

afterAll(removeTempDirs);

type Compiled = typeof import('../src/verify/verifier.js');
type CompiledRemote = typeof import('../src/verify/remote-checks.js');
type CompiledTrust = typeof import('../src/trust/trust-file.js');

/** Enough artifacts for a manifest over the 1 MiB at which checks go to a worker. */
const FILES = 7000;

describe('checks on a worker thread report exactly what the checks on one thread do', { timeout: 60_000 }, () => {
  let root: string;
  let bundle: string;
  let verifier: Compiled;
  let remote: CompiledRemote;
  let trust: ReturnType<CompiledTrust['loadTrustFile']>;
  let loadTrust: CompiledTrust['loadTrustFile'];

  beforeAll(async () => {
    root = tempDir('remote-checks-');
    const input = join(root, 'in');
    for (let d = 0; d < 10; d++) {
      mkdirSync(join(input, `d${d}`), { recursive: true });
      for (let f = 0; f < FILES / 10; f++) writeFileSync(join(input, `d${d}`, `f${f}.txt`), `evidence ${d}/${f}\n`);
    }
    bundle = join(root, 'bundle.tar');
    mustExport({ out: bundle, inputs: [input] });
    verifier = (await import(join(REPO, 'dist', 'verify', 'verifier.js'))) as Compiled;
    remote = (await import(join(REPO, 'dist', 'verify', 'remote-checks.js'))) as CompiledRemote;
    const trustMod = (await import(join(REPO, 'dist', 'trust', 'trust-file.js'))) as CompiledTrust;
    loadTrust = trustMod.loadTrustFile;
    trust = loadTrust(writeTrustFile(join(root, 'trust.json'), { acme: [KEYS.acme.pub] }));
  }, 120_000);

  /**
   * The report on workers and on one thread; they must agree, and the workers must have
   * run: one for the checks, one for the envelope (over 1 MiB here too).
   */
  async function both(path: string, extra: Partial<VerifyOptions> = {}): Promise<VerifyReport> {
    const opts = { bundle: path, trust, tenant: 'acme', ...extra } as VerifyOptions;
    const before = remote.RemoteChecks.started;
    const onWorker = await verifier.verifyBundle({ ...opts, threads: 2 });
    expect(remote.RemoteChecks.started).toBe(before + 2);
    const inline = await verifier.verifyBundle({ ...opts, threads: 0 });
    expect(remote.RemoteChecks.started).toBe(before + 2);
    expect(onWorker).toEqual(inline);
    return onWorker;
  }

  const variant = (name: string) => join(root, name);

  it('a genuine bundle verifies', async () => {
    const r = await both(bundle);
    expect(r.verified).toBe(true);
    expect(r.artifacts).toBe(FILES);
  });

  it('integrity only, without a trust file', async () => {
    const r = await both(bundle, { trust: null, tenant: undefined });
    expect(r.exitCode).toBe(0);
    expect(r.checks.find((c) => c.name === 'signatures')?.status).toBe('skip');
  });

  it('another tenant expected', async () => {
    const r = await both(bundle, { tenant: 'globex' });
    expect(r.exitCode).toBe(4);
  });

  it('signed by a key the reviewer does not trust', async () => {
    const path = await forgeBundle(bundle, variant('untrusted.tar'), { signers: [KEYS.globex.key] });
    const r = await both(path);
    expect(r.exitCode).toBe(3);
  });

  it('signatures checked ahead against keys of any tenant: only the verdict for the bundle tenant counts', async () => {
    const both2 = loadTrust(writeTrustFile(join(root, 'trust-two.json'), { acme: [KEYS.acme.pub], globex: [KEYS.globex.pub] }));
    // Signed by globex's key, which the reviewer trusts, but for globex only.
    const byGlobex = await forgeBundle(bundle, variant('by-globex.tar'), { signers: [KEYS.globex.key] });
    const r = await both(byGlobex, { trust: both2 });
    expect(r.exitCode).toBe(3);
    expect(r.signers).toEqual([expect.objectContaining({ keyid: KEYS.globex.keyid, status: 'unknown-key' })]);
    // Signed by globex's key under acme's key id: the hint names a trusted key that did not sign.
    const misnamed = await rewriteBundle(byGlobex, variant('misnamed.tar'), (entries) =>
      entries.map((e) => (e.name === 'manifest.dsse.json' ? fileEntry(e.name, Buffer.from(e.data.toString('latin1').replace(KEYS.globex.keyid, KEYS.acme.keyid), 'latin1')) : e)),
    );
    const m = await both(misnamed, { trust: both2 });
    expect(m.exitCode).toBe(3);
    // Signed by both: acme's counts.
    const twice = await forgeBundle(bundle, variant('by-both.tar'), { signers: [KEYS.globex.key, KEYS.acme.key] });
    expect((await both(twice, { trust: both2 })).verified).toBe(true);
  });

  it('manifest.json differs from the signed payload', async () => {
    const path = await rewriteBundle(bundle, variant('payload.tar'), (entries) =>
      entries.map((e) => (e.name === 'manifest.json' ? fileEntry(e.name, Buffer.concat([e.data, Buffer.from(' ')])) : e)),
    );
    const r = await both(path);
    expect(r.checks.find((c) => c.status === 'fail')?.code).toBe('PAYLOAD_MISMATCH');
  });

  it('an envelope whose payload is not base64 (read apart, the statement then from manifest.json)', async () => {
    const path = await rewriteBundle(bundle, variant('badb64.tar'), (entries) =>
      entries.map((e) => (e.name === 'manifest.dsse.json' ? fileEntry(e.name, Buffer.from(e.data.toString('latin1').replace('"payload":"ey', '"payload":"!y'), 'latin1')) : e)),
    );
    const r = await both(path);
    expect(r.checks.find((c) => c.name === 'envelope')).toMatchObject({ status: 'fail', code: 'ENVELOPE_INVALID' });
    expect(r.checks.find((c) => c.name === 'schema')?.status).toBe('pass');
  });

  it('a changed blob', async () => {
    const path = await rewriteBundle(bundle, variant('blob.tar'), (entries) => {
      const b = blobEntries(entries)[FILES / 2]!;
      b.data = Buffer.from(b.data.toString('utf8').toUpperCase());
    });
    const r = await both(path);
    expect(r.checks.find((c) => c.status === 'fail')?.code).toBe('DIGEST_MISMATCH');
  });

  it('a missing blob and an unlisted file', async () => {
    const missing = await rewriteBundle(bundle, variant('missing.tar'), (entries) => entries.filter((e) => e !== blobEntries(entries)[10]));
    expect((await both(missing)).checks.find((c) => c.status === 'fail')?.code).toBe('FILE_MISSING');
    const extra = await rewriteBundle(bundle, variant('extra.tar'), (entries) => [...entries, fileEntry('notes.txt', 'hello\n')]);
    expect((await both(extra)).checks.find((c) => c.status === 'fail')?.code).toBe('FILE_UNLISTED');
  });

  it('the metadata last in the archive, the envelope before the manifest', async () => {
    const path = await rewriteBundle(bundle, variant('order.tar'), (entries) => {
      const meta = ['manifest.dsse.json', 'checksums.sha256', 'manifest.json'].map((n) => entries.find((e) => e.name === n)!);
      return [...entries.filter((e) => !meta.includes(e)), ...meta];
    });
    const r = await both(path);
    expect(r.verified).toBe(true);
  });

  it('a duplicate manifest after the blobs is a malformed archive, not a verdict', async () => {
    const path = await rewriteBundle(bundle, variant('dup.tar'), (entries) => [...entries, entries.find((e) => e.name === 'manifest.json')!]);
    const opts = { bundle: path, trust, tenant: 'acme' } as VerifyOptions;
    const onWorker = await verifier.verifyBundle({ ...opts, threads: 2 });
    expect(onWorker).toEqual(await verifier.verifyBundle({ ...opts, threads: 0 }));
    expect(onWorker.checks[0]).toMatchObject({ name: 'archive', code: 'ARCHIVE_MALFORMED' });
  });

  it('a bundle cut short after the metadata', async () => {
    const path = variant('cut.tar');
    writeFileSync(path, readFileSync(bundle));
    truncateSync(path, Math.floor(readFileSync(bundle).length * 0.8));
    const opts = { bundle: path, trust, tenant: 'acme' } as VerifyOptions;
    const onWorker = await verifier.verifyBundle({ ...opts, threads: 2 });
    expect(onWorker).toEqual(await verifier.verifyBundle({ ...opts, threads: 0 }));
    expect(onWorker.checks[0]!.message).toMatch(/truncated/);
  });
});

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVIDENCE, expectCleanFailure, KEYS, runCli } from './helpers/cli.js';
import { forgeBundle } from './helpers/forge.js';
import { writeTrustFile } from './helpers/keys.js';
import { entry, readBundle } from './helpers/tar.js';
import { listDir, removeTempDirs, tempDir } from './helpers/tmp.js';
import { inStore, listEvents, listRecords, mustInStore } from './helpers/store.js';

afterAll(removeTempDirs);

const CREATED = '2026-11-01T00:00:00Z';
interface Pred {
  tenant: string;
  crossTenant?: { tenants: string[]; reason: string };
  artifacts: Array<{ name: string; sha256: string; tenant: string; kind: string }>;
  audit: Array<{ path: string }>;
}
const predicateOf = async (b: string): Promise<Pred> => (JSON.parse(entry(await readBundle(b), 'manifest.json').data.toString('utf8')) as { predicate: Pred }).predicate;

let store = '';
let trustBoth = '';
let trustAcme = '';
let trustOneKeyForBoth = '';
const crossArgs = (out: string, tenants: string[], extra: string[] = [], keys = [KEYS.acme.key, KEYS.globex.key]) => [
  'export', '--cross-tenant', ...tenants.flatMap((t) => ['--tenant', t]), '--reason', 'incident 42: shared ledger breach',
  ...keys.flatMap((k) => ['--key', k]), '--created-at', CREATED, '--out', out, ...extra,
];
const verify = (b: string, trust: string, extra: string[] = []) => runCli(['verify', b, '--trust', trust, ...extra]);

beforeAll(() => {
  const d = tempDir();
  store = join(d, 'store');
  mustInStore(store, ['store', 'add', '--tenant', 'acme', join(EVIDENCE, 'acme')]);
  mustInStore(store, ['store', 'add', '--tenant', 'globex', join(EVIDENCE, 'globex')]);
  mustInStore(store, ['store', 'add', '--tenant', 'initech', join(EVIDENCE, 'globex', 'logs')]);
  trustBoth = writeTrustFile(join(d, 'both.json'), { acme: [KEYS.acme.pub], globex: [KEYS.globex.pub] });
  trustAcme = writeTrustFile(join(d, 'acme.json'), { acme: [KEYS.acme.pub] });
  trustOneKeyForBoth = writeTrustFile(join(d, 'one-key.json'), { acme: [KEYS.acme.pub], globex: [KEYS.acme.pub] });
});

describe('mixing tenants is refused unless explicit', () => {
  it('two --tenant without --cross-tenant: exit 4 naming both, no output, no audit event anywhere', () => {
    const d = tempDir();
    const before = { acme: listEvents(store, 'acme').length, globex: listEvents(store, 'globex').length };
    const r = inStore(store, ['export', '--tenant', 'acme', '--tenant', 'globex', '--key', KEYS.acme.key, '--out', join(d, 'x.tar')]);
    expectCleanFailure(r, 4, /acme, globex/);
    expect(r.stdout).toBe('');
    expect(listDir(d)).toEqual([]);
    expect({ acme: listEvents(store, 'acme').length, globex: listEvents(store, 'globex').length }).toEqual(before);
  });

  it('the explicit form needs a reason and two tenants, and comes from the store', () => {
    const d = tempDir();
    const out = join(d, 'x.tar');
    expectCleanFailure(inStore(store, ['export', '--cross-tenant', '--tenant', 'acme', '--tenant', 'globex', '--key', KEYS.acme.key, '--out', out]), 2, /--reason/);
    expectCleanFailure(inStore(store, crossArgs(out, ['acme'])), 2, /at least two/);
    expectCleanFailure(inStore(store, crossArgs(out, ['acme', 'acme'])), 2, /at least two/);
    expectCleanFailure(runCli(crossArgs(out, ['acme', 'globex'], [join(EVIDENCE, 'acme')])), 2, /--cross-tenant applies to exports from the store/);
    expectCleanFailure(inStore(store, crossArgs(out, ['acme', '../globex'])), 2, /invalid tenant id/);
    expect(listDir(d)).toEqual([]);
  });
});

describe('an explicit cross-tenant export', () => {
  let bundle = '';
  let manifestSha = '';
  beforeAll(() => {
    bundle = join(tempDir(), 'joint.tar');
    const r = inStore(store, crossArgs(bundle, ['acme', 'globex'], ['--json']));
    expect(r.status, r.stderr).toBe(0);
    manifestSha = (JSON.parse(r.stdout) as { manifestSha256: string }).manifestSha256;
  });

  it('marks the bundle, keeps the requesting tenant, each artifact its tenant, names under the tenant', async () => {
    const p = await predicateOf(bundle);
    expect(p.tenant).toBe('acme');
    expect(p.crossTenant).toEqual({ tenants: ['acme', 'globex'], reason: 'incident 42: shared ledger breach' });
    const acme = listRecords(store, 'acme');
    const globex = listRecords(store, 'globex');
    expect(p.artifacts).toHaveLength(acme.length + globex.length);
    for (const a of p.artifacts) expect(a.name.startsWith(`${a.tenant}/`), a.name).toBe(true);
    expect(p.artifacts.filter((a) => a.tenant === 'globex').map((a) => a.name.slice('globex/'.length)).sort()).toEqual(globex.map((r) => r.name).sort());
    expect(p.artifacts.some((a) => a.tenant === 'initech')).toBe(false);
    expect(p.audit.map((x) => x.path)).toEqual(['audit/acme.jsonl', 'audit/globex.jsonl']);
  });

  it("logs the export, with the tenants and the reason, in every involved tenant's log (and nowhere else)", async () => {
    const p = await predicateOf(bundle);
    for (const t of ['acme', 'globex']) {
      const ev = listEvents(store, t).at(-1)!;
      expect(ev).toMatchObject({
        type: 'cross-tenant-export',
        tenant: t,
        tenants: ['acme', 'globex'],
        requestingTenant: 'acme',
        reason: 'incident 42: shared ledger breach',
        manifestSha256: manifestSha,
      });
      // Each log names its own tenant's artifacts only.
      expect(ev.artifacts).toEqual([...new Set(p.artifacts.filter((a) => a.tenant === t).map((a) => a.sha256))].sort());
    }
    expect(listEvents(store, 'initech').some((e) => e.type !== 'ingest')).toBe(false);
    expect(inStore(store, ['audit', 'verify', '--tenant', 'globex']).status).toBe(0);
  });

  it('verify refuses it (exit 4) without --allow-cross-tenant, before any signature is evaluated', () => {
    for (const trust of [trustBoth, trustAcme]) {
      const r = runCli(['verify', bundle, '--trust', trust, '--json']);
      expect(r.status).toBe(4);
      const checks = (JSON.parse(r.stdout) as { checks: Array<{ name: string; status: string }> }).checks;
      expect(checks.find((c) => c.name === 'cross-tenant')?.status).toBe('fail');
      expect(checks.find((c) => c.name === 'signatures')?.status).toBe('skip');
    }
    expectCleanFailure(verify(bundle, trustBoth), 4, /cross-tenant bundle for tenants acme, globex.*--allow-cross-tenant/);
  });

  it('with --allow-cross-tenant it verifies when every tenant has a trusted signature', () => {
    const r = verify(bundle, trustBoth, ['--allow-cross-tenant']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/PASS +cross-tenant/);
    expect(verify(bundle, trustBoth, ['--allow-cross-tenant', '--tenant', 'globex']).status).toBe(0);
    expect(verify(bundle, trustBoth, ['--allow-cross-tenant', '--tenant', 'acme']).status).toBe(0);
  });

  it('extract, like verify, refuses it without --allow-cross-tenant and writes it under tenant-prefixed names with it', () => {
    const to = join(tempDir(), 'out');
    expectCleanFailure(runCli(['extract', bundle, '--trust', trustBoth, '--to', to]), 4, /cross-tenant/);
    expect(() => listDir(to)).toThrow();
    const r = runCli(['extract', bundle, '--trust', trustBoth, '--to', to, '--allow-cross-tenant']);
    expect(r.status, r.stderr).toBe(0);
    expect(listDir(to).sort()).toEqual(['acme', 'globex']);
  });

  it('--tenant must be one of the tenants involved (exit 4)', () => {
    expectCleanFailure(verify(bundle, trustBoth, ['--allow-cross-tenant', '--tenant', 'initech']), 4, /initech/);
  });

  it('a tenant without a trusted valid signature fails the signatures (exit 3)', async () => {
    expectCleanFailure(verify(bundle, trustAcme, ['--allow-cross-tenant']), 3, /globex/);
    const acmeOnly = join(tempDir(), 'acme-signed.tar');
    const r = inStore(store, crossArgs(acmeOnly, ['acme', 'globex'], [], [KEYS.acme.key]));
    expect(r.status, r.stderr).toBe(0);
    expectCleanFailure(verify(acmeOnly, trustBoth, ['--allow-cross-tenant']), 3, /globex/);
    // One key the reviewer trusts for both tenants is enough.
    expect(verify(acmeOnly, trustOneKeyForBoth, ['--allow-cross-tenant']).status).toBe(0);
  });

  it('the first --tenant is the requesting tenant; the same request gives the same bytes', async () => {
    const d = tempDir();
    expect(inStore(store, crossArgs(join(d, 'g.tar'), ['globex', 'acme'])).status).toBe(0);
    const p = await predicateOf(join(d, 'g.tar'));
    expect(p.tenant).toBe('globex');
    expect(p.crossTenant!.tenants).toEqual(['acme', 'globex']);
    expect(listEvents(store, 'acme').at(-1)).toMatchObject({ requestingTenant: 'globex' });
    expect(inStore(store, crossArgs(join(d, 'a1.tar'), ['acme', 'globex'], ['--select', 'kind=sbom'])).status).toBe(0);
    expect(inStore(store, crossArgs(join(d, 'a2.tar'), ['acme', 'globex'], ['--select', 'kind=sbom'])).status).toBe(0);
    expect(readFileSync(join(d, 'a1.tar')).equals(readFileSync(join(d, 'a2.tar')))).toBe(true);
    const sel = await predicateOf(join(d, 'a1.tar'));
    expect(new Set(sel.artifacts.map((a) => a.tenant))).toEqual(new Set(['acme', 'globex']));
    expect(sel.artifacts.every((a) => a.kind === 'sbom')).toBe(true);
  });

  it('a signed bundle that lists an artifact of a tenant not involved, or one not named under its tenant: exit 4', async () => {
    const d = tempDir();
    const keys = [KEYS.acme.key, KEYS.globex.key];
    const smuggled = await forgeBundle(bundle, join(d, 'smuggled.tar'), {
      signers: keys,
      edit: (m) => {
        (m.predicate.artifacts[0] as { tenant: string }).tenant = 'initech';
      },
    });
    const r1 = verify(smuggled, trustBoth, ['--allow-cross-tenant']);
    expect(r1.status).toBe(4);
    expect(r1.stderr).toMatch(/initech/);
    const renamed = await forgeBundle(bundle, join(d, 'renamed.tar'), {
      signers: keys,
      edit: (m) => {
        const a = m.predicate.artifacts.find((x) => x.tenant === 'globex')!;
        a.name = 'acme/' + a.name.slice('globex/'.length);
      },
    });
    expectCleanFailure(verify(renamed, trustBoth, ['--allow-cross-tenant']), 4, /not named under globex/);
    // Dropping the cross-tenant mark does not help: foreign artifacts in a one-tenant bundle.
    const unmarked = await forgeBundle(bundle, join(d, 'unmarked.tar'), {
      signers: keys,
      edit: (m) => {
        delete (m.predicate as { crossTenant?: unknown }).crossTenant;
      },
    });
    expectCleanFailure(verify(unmarked, trustBoth, ['--allow-cross-tenant']), 4, /another tenant/);
  });
});

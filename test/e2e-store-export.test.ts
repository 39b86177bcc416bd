import { spawnSync } from './helpers/spawn.js';
import { existsSync, mkdirSync, readFileSync, symlinkSync, unlinkSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVIDENCE, expectCleanFailure, HAS_GNU_TAR, HAS_OPENSSL, hasTool, KEYS, mustRun, runCli } from './helpers/cli.js';
import { writeTrustFile } from './helpers/keys.js';
import { entry, readBundle } from './helpers/tar.js';
import { copyTree, listDir, removeTempDirs, tempDir } from './helpers/tmp.js';
import { blobFile, expectStoreSchema, inStore, listEvents, listRecords, mustInStore, tenantDir, type RecordJson } from './helpers/store.js';

afterAll(removeTempDirs);

const ACME = join(EVIDENCE, 'acme');
const NEXT = join(EVIDENCE, 'acme-next');
const CREATED = '2026-11-01T00:00:00Z';

interface Artifact {
  name: string;
  sha256: string;
  size: number;
  kind: string;
  tenant: string;
  labels?: Record<string, string>;
  scope?: Record<string, string>;
}
interface Pred {
  tenant: string;
  artifacts: Artifact[];
  selection?: { selectors: Record<string, string[]>; since?: string; until?: string };
  audit?: Array<{ path: string; sha256: string; firstSeq: number; lastSeq: number; lastHash: string }>;
  crossTenant?: unknown;
}
const predicateOf = async (bundle: string): Promise<Pred> =>
  (JSON.parse(entry(await readBundle(bundle), 'manifest.json').data.toString('utf8')) as { predicate: Pred }).predicate;

let store = '';
let trust = '';
const exportArgs = (out: string, extra: string[] = [], tenant = 'acme') => [
  'export', '--tenant', tenant, '--key', KEYS.acme.key, '--created-at', CREATED, '--out', out, ...extra,
];
const mustExport = (out: string, extra: string[] = []) => mustInStore(store, exportArgs(out, extra));
const verify = (bundle: string, extra: string[] = []) => runCli(['verify', bundle, '--trust', trust, ...extra]);

beforeAll(() => {
  const d = tempDir();
  store = join(d, 'store');
  trust = writeTrustFile(join(d, 'trust.json'), { acme: [KEYS.acme.pub], globex: [KEYS.globex.pub] });
  const at = (t: number) => ({ env: { SOURCE_DATE_EPOCH: String(t) } });
  mustInStore(store, ['store', 'add', '--tenant', 'acme', '--scope', 'environment=prod', '--label', 'team=payments', ACME], at(1792800000));
  mustInStore(store, ['store', 'add', '--tenant', 'acme', '--scope', 'environment=prod', NEXT], at(1793404800));
  mustInStore(store, ['store', 'add', '--tenant', 'globex', join(EVIDENCE, 'globex')], at(1793404800));
});

describe('export from the store: selection, manifest, verification', () => {
  it('exports the selected artifacts of one tenant, records the selection, and verifies', async () => {
    const out = join(tempDir(), 'sboms.tar');
    const r = mustExport(out, ['--select', 'kind=sbom', '--select', 'team=payments', '--json']);
    const doc = JSON.parse(r.stdout) as { manifestSha256: string; artifacts: number };
    expectStoreSchema('export-result', doc);
    const p = await predicateOf(out);
    expect(p.tenant).toBe('acme');
    expect(p.selection).toEqual({ selectors: { kind: ['sbom'], 'label.team': ['payments'] } });
    expect(p.artifacts.map((a) => a.name).sort()).toEqual(['sbom/copy-of-payments-api.cdx.json', 'sbom/payments-api.cdx.json', 'sbom/payments-api.spdx.json']);
    for (const a of p.artifacts) {
      expect(a).toMatchObject({ kind: 'sbom', tenant: 'acme', labels: { team: 'payments' }, scope: { environment: 'prod' } });
    }
    expect(p.crossTenant).toBeUndefined();
    expect(p.audit).toHaveLength(1);
    const v = verify(out, ['--tenant', 'acme', '--json']);
    expect(v.status, v.stderr).toBe(0);
    const checks = (JSON.parse(v.stdout) as { checks: Array<{ name: string; status: string }> }).checks;
    for (const name of ['selection', 'audit', 'audit-tenant', 'signatures', 'tenant']) {
      expect(checks.find((c) => c.name === name)?.status, name).toBe('pass');
    }
    // The export itself is in the audit log, with the bundle's manifest digest and artifacts.
    const ev = listEvents(store, 'acme').at(-1)!;
    expect(ev).toMatchObject({ type: 'export', manifestSha256: doc.manifestSha256, actor: 'test-operator' });
    expect(ev.artifacts).toEqual([...new Set(p.artifacts.map((a) => a.sha256))].sort());
  });

  it('the same selection twice gives the same bytes, whatever happened in between', () => {
    const d = tempDir();
    mustExport(join(d, 'one.tar'), ['--select', 'kind=vex']);
    // Unrelated evidence and another export in between: later events change nothing.
    mustInStore(store, ['store', 'add', '--tenant', 'acme', '--label', 'later=yes', join(ACME, 'logs')]);
    mustExport(join(d, 'other.tar'), ['--select', 'kind=log']);
    mustExport(join(d, 'two.tar'), ['--select', 'kind=vex']);
    expect(readFileSync(join(d, 'two.tar')).equals(readFileSync(join(d, 'one.tar')))).toBe(true);
    // Gzip output too, and through verify.
    mustExport(join(d, 'one.tar.gz'), ['--select', 'kind=vex']);
    mustExport(join(d, 'two.tar.gz'), ['--select', 'kind=vex']);
    expect(readFileSync(join(d, 'two.tar.gz')).equals(readFileSync(join(d, 'one.tar.gz')))).toBe(true);
    expect(verify(join(d, 'two.tar.gz')).status).toBe(0);
  });

  it('names are the records\' names; clashing names get the digest (or, for identical content, the record id) as a leading directory', async () => {
    const out = join(tempDir(), 'all-sboms.tar');
    mustExport(out, ['--select', 'kind=sbom']);
    const names = (await predicateOf(out)).artifacts.map((a) => a.name);
    const recs = listRecords(store, 'acme', ['kind=sbom']);
    const byName = new Map<string, RecordJson[]>();
    for (const r of recs) byName.set(r.name, [...(byName.get(r.name) ?? []), r]);
    const expected: string[] = [];
    for (const [name, group] of byName) {
      if (group.length === 1) expected.push(name);
      else {
        const shared = new Set(group.map((r) => r.sha256)).size < group.length;
        for (const r of group) expected.push(`${(shared ? r.id : r.sha256).slice(0, 12)}/${name}`);
      }
    }
    expect([...names].sort()).toEqual(expected.sort());
    // acme and acme-next hold two different payments-api.cdx.json: digest prefixes.
    const cdx = recs.filter((r) => r.name === 'sbom/payments-api.cdx.json');
    expect(new Set(cdx.map((r) => r.sha256)).size).toBe(2);
    for (const r of cdx) expect(names).toContain(`${r.sha256.slice(0, 12)}/sbom/payments-api.cdx.json`);
    // The identical spdx file was ingested twice with different labels: record-id prefixes.
    const spdx = recs.filter((r) => r.name === 'sbom/payments-api.spdx.json');
    expect(new Set(spdx.map((r) => r.sha256)).size).toBe(1);
    for (const r of spdx) expect(names).toContain(`${r.id.slice(0, 12)}/sbom/payments-api.spdx.json`);
    // A name only one record has is kept as is.
    expect(names).toContain('sbom/copy-of-payments-api.cdx.json');
    expect(verify(out).status).toBe(0);
  });

  it('--since and --until select on the ingest time and are recorded', async () => {
    const out = join(tempDir(), 'late.tar');
    mustExport(out, ['--since', '2026-10-30T00:00:00Z', '--until', '2026-10-31T00:00:00Z']);
    const p = await predicateOf(out);
    expect(p.selection).toEqual({ selectors: {}, since: '2026-10-30T00:00:00Z', until: '2026-10-31T00:00:00Z' });
    const expected = listRecords(store, 'acme').filter((r) => r.ingestedAt === '2026-10-31T00:00:00Z');
    expect(p.artifacts).toHaveLength(expected.length);
    expect(expected.length).toBeGreaterThan(0);
    expect(verify(out).status).toBe(0);
  });

  it('never includes another tenant: a globex export holds globex evidence only', async () => {
    const out = join(tempDir(), 'globex.tar');
    mustInStore(store, ['export', '--tenant', 'globex', '--key', KEYS.globex.key, '--created-at', CREATED, '--out', out]);
    const p = await predicateOf(out);
    expect(p.artifacts.every((a) => a.tenant === 'globex')).toBe(true);
    expect(p.artifacts).toHaveLength(listRecords(store, 'globex').length);
    expect(p.audit!.map((x) => x.path)).toEqual(['audit/globex.jsonl']);
    expect(verify(out, ['--tenant', 'globex']).status).toBe(0);
    expectCleanFailure(verify(out, ['--tenant', 'acme']), 4, /not acme/);
  });

  // The reviewer's standard-tools path must accept store exports too (audit/ files included).
  // verify.sh checks signatures with `openssl pkeyutl -rawin`, which arrived in OpenSSL 3.
  const HAS_POSIX_TOOLS =
    HAS_OPENSSL && /^OpenSSL [3-9]/.test(spawnSync('openssl', ['version'], { encoding: 'utf8' }).stdout ?? '') && HAS_GNU_TAR && hasTool('sha256sum') && hasTool('base64');
  it.skipIf(!HAS_POSIX_TOOLS)('the bundled verify.sh passes a store export', () => {
    const d = tempDir();
    const out = join(d, 'vex.tar');
    mustExport(out, ['--select', 'kind=vex']);
    const x = join(d, 'x');
    mkdirSync(x);
    expect(spawnSync('tar', ['-xf', out, '-C', x]).status).toBe(0);
    expect(existsSync(join(x, 'audit', 'acme.jsonl'))).toBe(true);
    const r = spawnSync('sh', ['verify.sh', '-t', 'acme', KEYS.acme.pub], { cwd: x, encoding: 'utf8' });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).not.toMatch(/^(FAIL|SKIP)/m);
  });

  it('a loose-file export is unchanged: no selection, audit or cross-tenant fields', async () => {
    const out = join(tempDir(), 'loose.tar');
    mustRun(exportArgs(out, [ACME]));
    const p = await predicateOf(out);
    expect(Object.keys(p).sort()).toEqual(['artifacts', 'authorization', 'createdAt', 'exporter', 'scope', 'tenant', 'totals']);
    for (const a of p.artifacts) expect(Object.keys(a).sort()).toEqual(['kind', 'mediaType', 'name', 'sha256', 'size', 'tenant']);
    expect((await readBundle(out)).some((e) => e.name.startsWith('audit/'))).toBe(false);
  });
});

describe('store export refusals', () => {
  it('nothing selected: exit 2, no output, no audit event', () => {
    const d = tempDir();
    const before = listEvents(store, 'acme').length;
    expectCleanFailure(inStore(store, exportArgs(join(d, 'x.tar'), ['--select', 'kind=nothing'])), 2, /nothing to export/);
    expectCleanFailure(inStore(store, exportArgs(join(d, 'x.tar'), [], 'nobody')), 2, /nothing to export/);
    expect(listDir(d)).toEqual([]);
    expect(listEvents(store, 'acme')).toHaveLength(before);
  });

  it('PATHs and store flags together, --scope with the store, --reason without --cross-tenant: exit 2', () => {
    const d = tempDir();
    expectCleanFailure(runCli(exportArgs(join(d, 'x.tar'), ['--select', 'kind=sbom', ACME])), 2, /--select applies to exports from the store/);
    expectCleanFailure(inStore(store, exportArgs(join(d, 'x.tar'), [ACME])), 2, /--store applies to exports from the store/);
    expectCleanFailure(inStore(store, exportArgs(join(d, 'x.tar'), ['--scope', 'environment=prod'])), 2, /--scope/);
    expectCleanFailure(inStore(store, exportArgs(join(d, 'x.tar'), ['--reason', 'because'])), 2, /--reason/);
    expectCleanFailure(inStore(store, exportArgs(join(d, 'x.tar'), ['--select', 'bad'])), 2, /--select/);
    // Forgetting the PATHs with no store around says both things.
    expectCleanFailure(runCli(exportArgs(join(d, 'x.tar'), ['--store', join(d, 'no-store')])), 2, /no PATHs given.*does not exist/);
    expect(listDir(d)).toEqual([]);
  });

  it('a damaged blob fails the export (exit 1) and leaves no bundle and no export event', () => {
    const s = copyTree(store, join(tempDir(), 'store'));
    const [rec] = listRecords(s, 'acme', ['kind=policy-decision']);
    const p = blobFile(s, 'acme', rec!.sha256);
    chmodSync(p, 0o644);
    writeFileSync(p, readFileSync(p).toString('utf8').replace('"', "'"));
    const before = listEvents(s, 'acme').length;
    const d = tempDir();
    expectCleanFailure(inStore(s, exportArgs(join(d, 'x.tar'), ['--select', 'kind=policy-decision'])), 1, /does not match its digest/);
    expect(listDir(d)).toEqual([]);
    expect(listEvents(s, 'acme')).toHaveLength(before);
  });

  it('a missing blob: exit 1; a blob replaced by a link: exit 4', () => {
    const s = copyTree(store, join(tempDir(), 'store'));
    const [rec] = listRecords(s, 'acme', ['kind=scan-result']);
    const d = tempDir();
    unlinkSync(blobFile(s, 'acme', rec!.sha256));
    expectCleanFailure(inStore(s, exportArgs(join(d, 'x.tar'), ['--select', 'kind=scan-result'])), 1, /missing/);
    const globexFile = join(tempDir(), 'x');
    writeFileSync(globexFile, 'x');
    symlinkSync(globexFile, blobFile(s, 'acme', rec!.sha256));
    expectCleanFailure(inStore(s, exportArgs(join(d, 'x.tar'), ['--select', 'kind=scan-result'])), 4, /symbolic link/);
    expect(listDir(d)).toEqual([]);
  });

  it('a record edited after ingest (outside its id) no longer matches its ingest event: exit 1', () => {
    const s = copyTree(store, join(tempDir(), 'store'));
    const f = join(tenantDir(s, 'acme'), 'records.jsonl');
    const lines = readFileSync(f, 'utf8').split('\n');
    const k = lines.findIndex((l) => l.includes('"kind":"log"'));
    lines[k] = lines[k]!.replace('"mediaType":"text/plain"', '"mediaType":"text/html"');
    writeFileSync(f, lines.join('\n'));
    const d = tempDir();
    expectCleanFailure(inStore(s, exportArgs(join(d, 'x.tar'), ['--select', 'kind=log'])), 1, /not what its ingest event/);
    expect(existsSync(join(d, 'x.tar'))).toBe(false);
    expectCleanFailure(inStore(s, ['audit', 'verify', '--tenant', 'acme']), 1, /edited/);
  });
});


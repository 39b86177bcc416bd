import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EVIDENCE, expectCleanFailure, runCli } from './helpers/cli.js';
import { sha256Hex } from './helpers/keys.js';
import { removeTempDirs, tempDir } from './helpers/tmp.js';
import {
  BASE_ENV,
  blobFile,
  expectStoreSchema,
  inStore,
  listEvents,
  listRecords,
  mustInStore,
  tenantDir,
  type RecordJson,
} from './helpers/store.js';

afterAll(removeTempDirs);

const ACME = join(EVIDENCE, 'acme');
const GLOBEX = join(EVIDENCE, 'globex');
const byName = (rs: RecordJson[]) => new Map(rs.map((r) => [r.name, r]));

describe('store add: ingest, classify, deduplicate', () => {
  const store = join(tempDir(), 'store');

  it('ingests a directory with names as export gives them, recognising formats by content', () => {
    const r = mustInStore(store, ['store', 'add', '--tenant', 'acme', '--json', ACME]);
    const doc = JSON.parse(r.stdout) as { added: number; duplicates: number; tenant: string; records: Array<{ added: boolean; record: RecordJson }> };
    expectStoreSchema('store-add-result', doc);
    expect(doc).toMatchObject({ tenant: 'acme', added: 11, duplicates: 0 });
    const recs = byName(doc.records.map((x) => x.record));
    const expectKind = (name: string, kind: string, mediaType: string) =>
      expect(recs.get(name), name).toMatchObject({ kind, mediaType, tenant: 'acme' });
    expectKind('sbom/payments-api.cdx.json', 'sbom', 'application/vnd.cyclonedx+json');
    expectKind('sbom/payments-api.spdx.json', 'sbom', 'application/spdx+json');
    expectKind('vex/payments-api.openvex.json', 'vex', 'application/openvex+json');
    expectKind('vex/acme-advisory.csaf.json', 'vex', 'application/csaf+json');
    expectKind('scans/payments-api.sarif.json', 'scan-result', 'application/sarif+json');
    expectKind('attestations/payments-api.sbom-statement.json', 'attestation', 'application/vnd.in-toto+json');
    expectKind('attestations/payments-api.provenance.dsse.json', 'attestation', 'application/vnd.dsse.envelope.v1+json');
    expectKind('logs/scanner-2026-10-14.log', 'log', 'text/plain');
    // Every record's metadata is what the file really is.
    for (const rec of recs.values()) {
      const bytes = readFileSync(join(ACME, rec.name));
      expect(rec.sha256).toBe(sha256Hex(bytes));
      expect(rec.size).toBe(bytes.length);
      expect(readFileSync(blobFile(store, 'acme', rec.sha256)).equals(bytes)).toBe(true);
    }
  });

  it('a renamed SBOM is still an SBOM; a file called sbom.json that is not one is a plain file', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'renamed.txt'), readFileSync(join(ACME, 'sbom', 'payments-api.cdx.json')));
    writeFileSync(join(dir, 'sbom.json'), '{"hello": "world"}\n');
    writeFileSync(join(dir, 'blob.bin'), Buffer.from([0, 1, 2, 3]));
    mustInStore(store, ['store', 'add', '--tenant', 'classify', dir]);
    const recs = byName(listRecords(store, 'classify'));
    expect(recs.get('renamed.txt')).toMatchObject({ kind: 'sbom', mediaType: 'application/vnd.cyclonedx+json' });
    expect(recs.get('sbom.json')).toMatchObject({ kind: 'file', mediaType: 'application/json' });
    expect(recs.get('blob.bin')).toMatchObject({ kind: 'file', mediaType: 'application/octet-stream' });
  });

  it('ingesting identical input again adds no record, but the audit log notes the attempt', () => {
    const before = listRecords(store, 'acme');
    const r = mustInStore(store, ['store', 'add', '--tenant', 'acme', '--json', ACME]);
    expect(JSON.parse(r.stdout)).toMatchObject({ added: 0, duplicates: 11 });
    expect(listRecords(store, 'acme')).toEqual(before);
    const events = listEvents(store, 'acme');
    expect(events).toHaveLength(22);
    expect(events.slice(11).map((e) => e.type)).toEqual(Array(11).fill('ingest-duplicate'));
    expect(new Set(events.slice(11).map((e) => e.record))).toEqual(new Set(before.map((r) => r.id)));
  });

  it('anything that differs (labels, kind, sub-scope) adds a record and never replaces one', () => {
    const before = listRecords(store, 'acme');
    const file = join(ACME, 'logs', 'scanner-2026-10-14.log');
    mustInStore(store, ['store', 'add', '--tenant', 'acme', '--label', 'team=payments', file]);
    mustInStore(store, ['store', 'add', '--tenant', 'acme', '--kind', 'audit-log', file]);
    mustInStore(store, ['store', 'add', '--tenant', 'acme', '--scope', 'environment=prod', file]);
    const after = listRecords(store, 'acme');
    expect(after).toHaveLength(before.length + 3);
    expect(after.slice(0, before.length)).toEqual(before);
    const added = after.slice(before.length);
    expect(added.map((r) => [r.kind, r.labels, r.scope])).toEqual([
      ['log', { team: 'payments' }, {}],
      ['audit-log', {}, {}],
      ['log', {}, { environment: 'prod' }],
    ]);
    expect(new Set(added.map((r) => r.sha256)).size).toBe(1);
    expect(new Set(after.map((r) => r.id)).size).toBe(after.length);
  });

  it('the same bytes under two tenants are two namespaces, two blobs and unrelated records', () => {
    const file = join(GLOBEX, 'vex', 'ledger-service.openvex.json');
    mustInStore(store, ['store', 'add', '--tenant', 'globex', file]);
    mustInStore(store, ['store', 'add', '--tenant', 'initech', file]);
    const [g] = listRecords(store, 'globex');
    const [i] = listRecords(store, 'initech');
    expect(g!.sha256).toBe(i!.sha256);
    expect(g!.id).not.toBe(i!.id);
    expect(existsSync(blobFile(store, 'globex', g!.sha256))).toBe(true);
    expect(existsSync(blobFile(store, 'initech', i!.sha256))).toBe(true);
    expect(listRecords(store, 'globex').every((r) => r.tenant === 'globex')).toBe(true);
    expect(listEvents(store, 'initech').every((e) => e.tenant === 'initech')).toBe(true);
  });

  it('records the actor: --actor, else STELLA_EVIDENCE_ACTOR, else the OS user', () => {
    const file = join(ACME, 'policy', 'decision-2026-10-14.json');
    mustInStore(store, ['store', 'add', '--tenant', 'actors', '--actor', 'alice', file]);
    mustInStore(store, ['store', 'add', '--tenant', 'actors', file], { env: { STELLA_EVIDENCE_ACTOR: 'bob' } });
    mustInStore(store, ['store', 'add', '--tenant', 'actors', file], { env: { STELLA_EVIDENCE_ACTOR: undefined } });
    const actors = listEvents(store, 'actors').map((e) => e.actor);
    expect(actors.slice(0, 2)).toEqual(['alice', 'bob']);
    const os = (process.env.USER ?? process.env.LOGNAME ?? '').trim();
    expect(actors[2]!.length).toBeGreaterThan(0);
    if (os) expect(actors[2]).toBe(os);
    expect(actors[2]).not.toBe('bob');
  });

  it('the ingest time is SOURCE_DATE_EPOCH when set', () => {
    const file = join(ACME, 'policy', 'decision-2026-10-14.json');
    mustInStore(store, ['store', 'add', '--tenant', 'timed', file], { env: { SOURCE_DATE_EPOCH: '1790000000' } });
    const [rec] = listRecords(store, 'timed');
    expect(rec!.ingestedAt).toBe('2026-09-21T14:13:20Z');
    expect(listEvents(store, 'timed')[0]!.time).toBe('2026-09-21T14:13:20Z');
  });
});


describe('store list: selectors', () => {
  const store = join(tempDir(), 'store');
  const ep = (t: number) => ({ env: { SOURCE_DATE_EPOCH: String(t) } });
  mustInStore(store, ['store', 'add', '--tenant', 'acme', '--scope', 'environment=prod', '--label', 'team=payments', join(ACME, 'sbom')], ep(1790000000));
  mustInStore(store, ['store', 'add', '--tenant', 'acme', '--scope', 'environment=staging', '--label', 'team=payments', join(ACME, 'vex')], ep(1790086400));
  mustInStore(store, ['store', 'add', '--tenant', 'acme', '--scope', 'environment=prod', '--scope', 'project=checkout', '--label', 'team=core', join(ACME, 'scans')], ep(1790172800));
  const names = (sel: string[]) => listRecords(store, 'acme', sel).map((r) => r.name).sort();

  it('kind=K, repeated values are any-of', () => {
    // Names are relative to the directory given, as export names them.
    expect(names(['kind=sbom'])).toEqual(['copy-of-payments-api.cdx.json', 'payments-api.cdx.json', 'payments-api.spdx.json']);
    expect(names(['kind=vex', 'kind=scan-result'])).toEqual(['acme-advisory.csaf.json', 'payments-api.openvex.json', 'payments-api.sarif.json']);
  });

  it('sub-scope and labels; different names must all match', () => {
    expect(names(['environment=prod', 'kind=scan-result'])).toEqual(['payments-api.sarif.json']);
    expect(names(['environment=prod', 'kind=vex'])).toEqual([]);
    expect(names(['project=checkout'])).toEqual(['payments-api.sarif.json']);
    expect(names(['label.team=payments', 'environment=staging'])).toHaveLength(2);
    // A bare NAME is a label too.
    expect(names(['team=core'])).toEqual(names(['label.team=core']));
    expect(names(['team=nobody'])).toEqual([]);
    expect(names([])).toHaveLength(6);
  });

  it('--since and --until bound the ingest time (inclusive)', () => {
    const list = (args: string[]) =>
      (JSON.parse(mustInStore(store, ['store', 'list', '--tenant', 'acme', '--json', ...args]).stdout) as { records: RecordJson[] }).records.length;
    expect(list(['--since', '2026-09-22T14:13:20Z'])).toBe(3);
    expect(list(['--until', '2026-09-22T14:13:20Z'])).toBe(5);
    expect(list(['--since', '2026-09-22T14:13:20Z', '--until', '2026-09-22T14:13:20Z'])).toBe(2);
    expect(list(['--since', '2026-09-24T00:00:00Z'])).toBe(0);
  });

  it('--json matches its schema and echoes the normalised selection', () => {
    const r = mustInStore(store, ['store', 'list', '--tenant', 'acme', '--json', '--select', 'team=payments', '--select', 'kind=vex', '--select', 'kind=sbom']);
    const doc = JSON.parse(r.stdout) as { selection: unknown; records: RecordJson[] };
    expectStoreSchema('store-list-result', doc);
    expect(doc.selection).toEqual({ selectors: { kind: ['sbom', 'vex'], 'label.team': ['payments'] } });
    expect(doc.records).toHaveLength(5);
  });

  it('human output: one line per record and a count', () => {
    const r = mustInStore(store, ['store', 'list', '--tenant', 'acme', '--select', 'kind=sbom']);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[3]).toBe('3 record(s) of tenant acme');
    expect(lines[0]).toMatch(/sbom .*environment=prod label\.team=payments/);
  });

  it('a tenant with no evidence lists nothing; it is not an error', () => {
    expect(listRecords(store, 'nobody')).toEqual([]);
  });

  it('bad selectors are usage errors', () => {
    for (const bad of ['kind', '=x', 'label./x=1', 'Team=x', 'kind=']) {
      expectCleanFailure(inStore(store, ['store', 'list', '--tenant', 'acme', '--select', bad]), 2, /select/);
    }
    expectCleanFailure(inStore(store, ['store', 'list', '--tenant', 'acme', '--since', 'yesterday']), 2, /--since/);
    expectCleanFailure(inStore(store, ['store', 'list', '--tenant', 'acme', '--since', '2026-10-02T00:00:00Z', '--until', '2026-10-01T00:00:00Z']), 2, /after/);
  });
});

describe('store location and usage errors', () => {
  const file = join(ACME, 'policy', 'decision-2026-10-14.json');

  it('--store, else STELLA_EVIDENCE_STORE, else $XDG_DATA_HOME/stella-evidence/store, else ~/.local/share/...', () => {
    const d = tempDir();
    const env = { ...BASE_ENV, HOME: join(d, 'home') };
    const add = (extraEnv: Record<string, string | undefined>, args: string[] = []) => {
      const r = runCli(['store', 'add', '--tenant', 'acme', '--json', ...args, file], { env: { ...env, ...extraEnv } });
      expect(r.status, r.stderr).toBe(0);
      return (JSON.parse(r.stdout) as { store: string }).store;
    };
    expect(add({}, ['--store', join(d, 'flag')])).toBe(join(d, 'flag'));
    expect(add({ STELLA_EVIDENCE_STORE: join(d, 'env') }, ['--store', join(d, 'flag2')])).toBe(join(d, 'flag2'));
    expect(add({ STELLA_EVIDENCE_STORE: join(d, 'env') })).toBe(join(d, 'env'));
    expect(add({ XDG_DATA_HOME: join(d, 'xdg') })).toBe(join(d, 'xdg', 'stella-evidence', 'store'));
    expect(add({ XDG_DATA_HOME: 'relative/ignored' })).toBe(join(d, 'home', '.local', 'share', 'stella-evidence', 'store'));
    expect(add({})).toBe(join(d, 'home', '.local', 'share', 'stella-evidence', 'store'));
    for (const s of ['flag', 'flag2', 'env', 'xdg/stella-evidence/store', 'home/.local/share/stella-evidence/store']) {
      expect(existsSync(join(d, s, 'tenants', 'acme', 'audit.jsonl')), s).toBe(true);
    }
  });

  it('reading a missing store, or a directory that is not a store, is exit 2; nothing is created', () => {
    const d = tempDir();
    expectCleanFailure(inStore(join(d, 'absent'), ['store', 'list', '--tenant', 'acme']), 2, /does not exist/);
    expect(existsSync(join(d, 'absent'))).toBe(false);
    mkdirSync(join(d, 'other'));
    writeFileSync(join(d, 'other', 'notes.txt'), 'mine\n');
    expectCleanFailure(inStore(join(d, 'other'), ['store', 'add', '--tenant', 'acme', file]), 2, /not a stella-evidence store/);
    expect(existsSync(join(d, 'other', 'tenants'))).toBe(false);
    expectCleanFailure(inStore(join(d, 'other'), ['audit', 'list', '--tenant', 'acme']), 2, /not a stella-evidence store/);
  });

  it('flags are validated before anything is written', () => {
    const store = join(tempDir(), 'store');
    expectCleanFailure(inStore(store, ['store', 'add', file]), 2, /no tenant given/);
    expectCleanFailure(inStore(store, ['store', 'add', '--tenant', 'acme', '--label', 'a/b=1', file]), 2, /--label/);
    expectCleanFailure(inStore(store, ['store', 'add', '--tenant', 'acme', '--label', 'team', file]), 2, /--label/);
    expectCleanFailure(inStore(store, ['store', 'add', '--tenant', 'acme', '--label', 'tenant=globex', file]), 2, /reserved/);
    expectCleanFailure(inStore(store, ['store', 'add', '--tenant', 'acme', '--label', 'team=a', '--label', 'team=b', file]), 2, /twice/);
    expectCleanFailure(inStore(store, ['store', 'add', '--tenant', 'acme', '--kind', 'SBOM', file]), 2, /--kind/);
    expectCleanFailure(inStore(store, ['store', 'add', '--tenant', 'acme', '--scope', 'region=eu', file]), 2, /--scope/);
    expectCleanFailure(inStore(store, ['store', 'add', '--tenant', 'acme', '--actor', '', file]), 2, /actor/);
    expectCleanFailure(inStore(store, ['store', 'add', '--tenant', 'acme', join(ACME, 'missing.json')]), 2, /does not exist/);
    expect(existsSync(store)).toBe(false);
  });

  it('labels are data: a value with / and .. is stored as given and reaches nothing', () => {
    const store = join(tempDir(), 'store');
    mustInStore(store, ['store', 'add', '--tenant', 'acme', '--label', 'path=../../globex/x', file]);
    const [rec] = listRecords(store, 'acme', ['path=../../globex/x']);
    expect(rec!.labels).toEqual({ path: '../../globex/x' });
    expect(existsSync(tenantDir(store, 'globex'))).toBe(false);
  });
});

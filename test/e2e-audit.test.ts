import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVIDENCE, expectCleanFailure, KEYS, runCli } from './helpers/cli.js';
import { canonicalJson } from './helpers/forge.js';
import { signEnvelope, writeTrustFile } from './helpers/keys.js';
import { entry, fileEntry, readBundle, rewriteBundle, type TarEntry } from './helpers/tar.js';
import { copyTree, removeTempDirs, tempDir } from './helpers/tmp.js';
import { expectStoreSchema, inStore, listEvents, listRecords, mustInStore, tenantDir, type EventJson } from './helpers/store.js';

afterAll(removeTempDirs);

const ACME = join(EVIDENCE, 'acme');
const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
/** The chain rule, written independently: sha256 of the canonical JSON without `hash`. */
const hashOf = (e: Record<string, unknown>) => {
  const { hash: _h, ...rest } = e;
  void _h;
  return sha(canonicalJson(rest));
};

let store = '';
let trust = '';
beforeAll(() => {
  const d = tempDir();
  store = join(d, 'store');
  trust = writeTrustFile(join(d, 'trust.json'), { acme: [KEYS.acme.pub] });
  mustInStore(store, ['store', 'add', '--tenant', 'acme', join(ACME, 'sbom')]);
  mustInStore(store, ['store', 'add', '--tenant', 'acme', join(ACME, 'vex')]);
  mustInStore(store, ['store', 'add', '--tenant', 'acme', join(ACME, 'sbom')]);
  mustInStore(store, ['store', 'add', '--tenant', 'acme', join(ACME, 'logs')]);
  mustInStore(store, ['store', 'add', '--tenant', 'globex', join(EVIDENCE, 'globex')]);
});

const auditFile = (s: string, t = 'acme') => join(tenantDir(s, t), 'audit.jsonl');
const lines = (p: string) => readFileSync(p, 'utf8').split('\n').filter(Boolean);
const writeLines = (p: string, ls: string[]) => writeFileSync(p, ls.map((l) => l + '\n').join(''));

describe('the store audit log', () => {
  it('is JSON Lines, one event per ingest attempt, hash-chained from 64 zeros', () => {
    const raw = lines(auditFile(store));
    const events = raw.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events.map((e) => e.type)).toEqual([
      ...Array(3).fill('ingest'),
      ...Array(2).fill('ingest'),
      ...Array(3).fill('ingest-duplicate'),
      'ingest',
    ]);
    let prev = '0'.repeat(64);
    events.forEach((e, k) => {
      expect(e.seq).toBe(k + 1);
      expect(e.prev).toBe(prev);
      expect(e.hash).toBe(hashOf(e));
      expect(e.tenant).toBe('acme');
      expect(e.actor).toBe('test-operator');
      expect(raw[k]).toBe(canonicalJson(e));
      prev = e.hash as string;
    });
    // Ingest events pin the record they committed, byte for byte.
    const recLines = lines(join(tenantDir(store, 'acme'), 'records.jsonl'));
    for (const l of recLines) {
      const r = JSON.parse(l) as { seq: number; id: string; sha256: string };
      const e = events[r.seq - 1]!;
      expect(e).toMatchObject({ type: 'ingest', record: r.id, recordSha256: sha(l), artifacts: [r.sha256] });
    }
  });

  it('audit list --json and audit verify --json match their schemas', () => {
    const l = JSON.parse(mustInStore(store, ['audit', 'list', '--tenant', 'acme', '--json']).stdout) as { events: EventJson[] };
    expectStoreSchema('audit-list-result', l);
    expect(l.events).toHaveLength(9);
    const v = JSON.parse(mustInStore(store, ['audit', 'verify', '--tenant', 'acme', '--json']).stdout) as Record<string, unknown>;
    expectStoreSchema('audit-verify-result', v);
    expect(v).toMatchObject({ tenant: 'acme', verified: true, exitCode: 0, events: 9, records: 6, problem: null, head: { seq: 9 } });
    const human = mustInStore(store, ['audit', 'list', '--tenant', 'acme']).stdout.trim().split('\n');
    expect(human).toHaveLength(10);
    expect(human[9]).toBe('9 event(s) of tenant acme');
  });

  const tampered = (edit: (ls: string[]) => string[]) => {
    const s = copyTree(store, join(tempDir(), 'store'));
    writeLines(auditFile(s), edit(lines(auditFile(s))));
    return s;
  };

  it('an edited event breaks the chain at that event: exit 1, first broken link named', () => {
    const s = tampered((ls) => {
      ls[3] = ls[3]!.replace('"actor":"test-operator"', '"actor":"mallory"');
      return ls;
    });
    const r = inStore(s, ['audit', 'verify', '--tenant', 'acme']);
    expectCleanFailure(r, 1, /seq 4 .*altered/);
    expect(r.stdout).toMatch(/NOT intact/);
    expectCleanFailure(inStore(s, ['audit', 'list', '--tenant', 'acme']), 1, /seq 4/);
  });

  it('an edited event with its own hash recomputed breaks the next link', () => {
    const s = tampered((ls) => {
      const e = JSON.parse(ls[3]!) as Record<string, unknown>;
      e.actor = 'mallory';
      e.hash = hashOf(e);
      ls[3] = canonicalJson(e);
      return ls;
    });
    expectCleanFailure(inStore(s, ['audit', 'verify', '--tenant', 'acme']), 1, /seq 5 .*prev/);
  });

  it('a deleted, a repeated and a reordered event: exit 1', () => {
    expectCleanFailure(inStore(tampered((ls) => [...ls.slice(0, 2), ...ls.slice(3)]), ['audit', 'verify', '--tenant', 'acme']), 1, /seq/);
    expectCleanFailure(inStore(tampered((ls) => [...ls.slice(0, 3), ls[2]!, ...ls.slice(3)]), ['audit', 'verify', '--tenant', 'acme']), 1, /seq/);
    expectCleanFailure(inStore(tampered((ls) => [ls[1]!, ls[0]!, ...ls.slice(2)]), ['audit', 'verify', '--tenant', 'acme']), 1, /seq/);
  });

  it('a reformatted event (same data, not canonical): exit 1', () => {
    const s = tampered((ls) => {
      ls[0] = JSON.stringify(JSON.parse(ls[0]!), null, 1).replace(/\n/g, '');
      return ls;
    });
    expectCleanFailure(inStore(s, ['audit', 'verify', '--tenant', 'acme']), 1, /canonical/);
  });

  it('a whole chain rewritten for another tenant is a tenant violation: exit 4', () => {
    const s = tampered((ls) => {
      let prev = '0'.repeat(64);
      return ls.map((l, k) => {
        const e = JSON.parse(l) as Record<string, unknown>;
        if (k === 6) e.tenant = 'globex';
        e.prev = prev;
        e.hash = hashOf(e);
        prev = e.hash as string;
        return canonicalJson(e);
      });
    });
    expectCleanFailure(inStore(s, ['audit', 'verify', '--tenant', 'acme']), 4, /seq 7 .*globex/);
  });

  it('an ingest event whose record is gone from the index: exit 1', () => {
    const s = copyTree(store, join(tempDir(), 'store'));
    const recs = join(tenantDir(s, 'acme'), 'records.jsonl');
    const rl = lines(recs);
    writeLines(recs, [rl[0]!, ...rl.slice(2)]);
    expectCleanFailure(inStore(s, ['audit', 'verify', '--tenant', 'acme']), 1, /missing from the record index/);
  });
});

describe('the audit trail in a bundle', () => {
  const exportTo = (out: string, select: string[]) =>
    mustInStore(store, ['export', '--tenant', 'acme', '--key', KEYS.acme.key, '--created-at', '2026-11-01T00:00:00Z', '--out', out, ...select.flatMap((s) => ['--select', s])]);
  let bundle = '';
  let entries: TarEntry[] = [];
  beforeAll(async () => {
    bundle = join(tempDir(), 'vex.tar');
    exportTo(bundle, ['kind=vex']);
    entries = await readBundle(bundle);
  });

  it('carries the run from the first to the last ingest of an exported artifact; other events are stubs', () => {
    const m = JSON.parse(entry(entries, 'manifest.json').data.toString('utf8')) as {
      predicate: { audit: Array<Record<string, unknown>>; artifacts: Array<{ sha256: string }> };
    };
    const trail = entry(entries, 'audit/acme.jsonl').data;
    const store_ = listEvents(store, 'acme');
    const vexRecords = listRecords(store, 'acme', ['kind=vex']);
    const first = Math.min(...vexRecords.map((r) => r.seq));
    const last = Math.max(...vexRecords.map((r) => r.seq));
    expect([first, last]).toEqual([4, 5]);
    expect(m.predicate.audit).toEqual([
      { path: 'audit/acme.jsonl', sha256: sha(trail), firstSeq: 4, lastSeq: 5, lastHash: store_[4]!.hash },
    ]);
    const run = trail.toString('utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(run.map((e) => e.seq)).toEqual([4, 5]);
    expect(run.every((e) => e.type === 'ingest')).toBe(true);
    expect(run[1]!.prev).toBe(run[0]!.hash);
  });

  it('events in the run about other artifacts, and export events, are stubs that keep the chain linked', async () => {
    // logs were ingested last: the run for sbom+log spans the vex ingests, duplicates and exports.
    const out = join(tempDir(), 'sbom-log.tar');
    exportTo(out, ['kind=sbom', 'kind=log']);
    const trail = entry(await readBundle(out), 'audit/acme.jsonl').data.toString('utf8').trim().split('\n');
    const run = trail.map((l) => JSON.parse(l) as Record<string, unknown>);
    const full = listEvents(store, 'acme');
    expect(run[0]!.seq).toBe(1);
    expect(run.at(-1)!.seq).toBe(9);
    for (const e of run) {
      const orig = full[(e.seq as number) - 1]!;
      const disclosed = (orig.type === 'ingest' || orig.type === 'ingest-duplicate') && !orig.artifacts.some((d) => listRecords(store, 'acme', ['kind=vex']).some((r) => r.sha256 === d));
      if (disclosed) expect(e).toEqual(orig);
      else expect(Object.keys(e).sort()).toEqual(['hash', 'prev', 'seq', 'tenant']);
      expect(e.hash).toBe(orig.hash);
    }
    expect(run.filter((e) => !('type' in e)).map((e) => e.seq)).toEqual([4, 5]);
    expect(runCli(['verify', out, '--trust', trust]).status).toBe(0);
  });

  /** Re-pack a bundle with an edited audit file, re-pinned and re-signed by the acme key. */
  const forge = async (edit: (events: Record<string, unknown>[]) => Record<string, unknown>[], repin = true): Promise<string> => {
    const out = join(tempDir(), 'forged.tar');
    return rewriteBundle(bundle, out, (es) => {
      const trailEntry = entry(es, 'audit/acme.jsonl');
      const events = edit(trailEntry.data.toString('utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>));
      const trailBytes = Buffer.from(events.map((e) => canonicalJson(e) + '\n').join(''));
      const rest = es.filter((e) => !['manifest.json', 'manifest.dsse.json', 'checksums.sha256', 'audit/acme.jsonl'].includes(e.name));
      const files = [...rest, fileEntry('audit/acme.jsonl', trailBytes)];
      const checksums = Buffer.from(
        files
          .map((e) => e.name)
          .sort()
          .map((n) => `${sha(files.find((f) => f.name === n)!.data)}  ${n}\n`)
          .join(''),
      );
      const m = JSON.parse(entry(es, 'manifest.json').data.toString('utf8')) as {
        subject: Array<{ digest: { sha256: string } }>;
        predicate: { audit: Array<{ sha256: string; lastHash: string; lastSeq: number }> };
      };
      m.subject[0]!.digest.sha256 = sha(checksums);
      if (repin) {
        m.predicate.audit[0]!.sha256 = sha(trailBytes);
        m.predicate.audit[0]!.lastHash = events.at(-1)!.hash as string;
        m.predicate.audit[0]!.lastSeq = events.at(-1)!.seq as number;
      }
      const manifest = Buffer.from(canonicalJson(m));
      const envelope = Buffer.from(canonicalJson(signEnvelope(manifest, [KEYS.acme.key])));
      return [fileEntry('manifest.json', manifest), fileEntry('manifest.dsse.json', envelope), fileEntry('checksums.sha256', checksums), ...files];
    });
  };
  const verifyJson = (b: string) => {
    const r = runCli(['verify', b, '--trust', trust, '--json']);
    return { r, checks: (JSON.parse(r.stdout) as { checks: Array<{ name: string; status: string; code: string }> }).checks };
  };
  const check = (checks: Array<{ name: string; status: string; code: string }>, name: string) => checks.find((c) => c.name === name);

  it('the forging helper itself yields a bundle that verifies when nothing is changed', async () => {
    const { r } = verifyJson(await forge((es) => es));
    expect(r.status, r.stderr).toBe(0);
  });

  it('an altered event, even re-pinned and re-signed: the chain check fails (exit 1)', async () => {
    const { r, checks } = verifyJson(
      await forge((es) => {
        es[0]!.actor = 'mallory';
        return es;
      }),
    );
    expect(r.status).toBe(1);
    expect(check(checks, 'audit')).toMatchObject({ status: 'fail', code: 'AUDIT_HASH' });
    expect(check(checks, 'signatures')?.status).toBe('pass');
  });

  it('an event removed from the run: exit 1', async () => {
    const { r, checks } = verifyJson(await forge((es) => es.slice(1)));
    expect(r.status).toBe(1);
    expect(check(checks, 'audit')?.status).toBe('fail');
  });

  it('an ingest event turned into a stub hides what the artifact came from: exit 1', async () => {
    const { r, checks } = verifyJson(await forge((es) => [es[0]!, { seq: es[1]!.seq, tenant: 'acme', prev: es[1]!.prev, hash: es[1]!.hash }]));
    expect(r.status).toBe(1);
    expect(check(checks, 'audit')).toMatchObject({ status: 'fail', code: 'AUDIT_UNCOVERED' });
  });

  it('the file changed but the manifest pin not updated: exit 1', async () => {
    const { r, checks } = verifyJson(await forge((es) => es.slice(0, 1), false));
    expect(r.status).toBe(1);
    expect(check(checks, 'audit')?.status).toBe('fail');
  });

  it("an event of another tenant, with a consistent chain and pins: the tenant check fails (exit 4)", async () => {
    const { r, checks } = verifyJson(
      await forge((es) => {
        let prev = es[0]!.prev as string;
        return es.map((e, k) => {
          const x: Record<string, unknown> = { ...e, prev };
          if (k === 1) x.tenant = 'globex';
          prev = hashOf(x);
          x.hash = prev;
          return x;
        });
      }),
    );
    expect(r.status, r.stderr).toBe(4);
    expect(check(checks, 'audit')?.status).toBe('pass');
    expect(check(checks, 'audit-tenant')).toMatchObject({ status: 'fail', code: 'AUDIT_FOREIGN_TENANT' });
    expect(r.stderr).toMatch(/globex/);
  });

  it('the audit file tampered without re-signing: the checksums catch it first (exit 1)', async () => {
    const out = join(tempDir(), 'tampered.tar');
    await rewriteBundle(bundle, out, (es) =>
      es.map((e) => (e.name === 'audit/acme.jsonl' ? fileEntry(e.name, e.data.toString('utf8').replace('test-operator', 'mallory-guy-xx')) : e)),
    );
    const { r, checks } = verifyJson(out);
    expect(r.status).toBe(1);
    expect(check(checks, 'checksums')?.status).toBe('fail');
  });
});

import { chmodSync, chownSync, mkdirSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVIDENCE, KEYS, mustExport } from './helpers/cli.js';
import { sha256Hex } from './helpers/keys.js';
import { copyTree, removeTempDirs, tempDir } from './helpers/tmp.js';

afterAll(removeTempDirs);

const ACME = join(EVIDENCE, 'acme');

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(p);
    }
  };
  walk(dir);
  return out;
}

/**
 * Same inputs, same key, same creation time: the bundle is byte-identical whatever the
 * input files' metadata, their location, the file system's listing order, the time
 * zone, the locale or the run.
 */
describe('determinism', () => {
  let work: string;
  let reference: Buffer;
  let referenceGz: Buffer;

  const exportOf = (tree: string, name: string, env?: Record<string, string>): Buffer => {
    const out = join(work, name);
    mustExport({ out, inputs: [tree] }, { env });
    return readFileSync(out);
  };
  const expectSameAsReference = (b: Buffer) => {
    expect(sha256Hex(b)).toBe(sha256Hex(reference));
  };

  beforeAll(() => {
    work = tempDir();
    const tree = copyTree(ACME, join(work, 'ref-tree'));
    reference = exportOf(tree, 'ref.tar', { TZ: 'UTC', LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8' });
    referenceGz = (() => {
      const out = join(work, 'ref.tar.gz');
      mustExport({ out, inputs: [tree] });
      return readFileSync(out);
    })();
  });

  it('the reference export of the shipped fixtures equals an export of the fixtures in place', () => {
    expectSameAsReference(exportOf(ACME, 'in-place.tar'));
  });

  it('ignores the input files’ modification and access times', () => {
    const tree = copyTree(ACME, join(work, 'mtimes'));
    let k = 0;
    for (const f of filesUnder(tree)) {
      k++;
      utimesSync(f, new Date(Date.UTC(1999, 0, k)), new Date(Date.UTC(2031, 5, k, 12, 34, 56)));
    }
    utimesSync(tree, new Date(0), new Date(123456789000));
    expect(statSync(filesUnder(tree)[0]!).mtime.getUTCFullYear()).toBe(2031);
    expectSameAsReference(exportOf(tree, 'mtimes.tar'));
  });

  it('ignores the input files’ modes', () => {
    const tree = copyTree(ACME, join(work, 'modes'));
    const modes = [0o600, 0o755, 0o444, 0o640, 0o777];
    filesUnder(tree).forEach((f, i) => chmodSync(f, modes[i % modes.length]!));
    chmodSync(join(tree, 'sbom'), 0o700);
    expectSameAsReference(exportOf(tree, 'modes.tar'));
  });

  it.skipIf(process.getuid?.() !== 0)('ignores the input files’ owner and group (needs root to chown)', () => {
    const tree = copyTree(ACME, join(work, 'owners'));
    filesUnder(tree).forEach((f, i) => chownSync(f, 65534 - i, 65534 - 2 * i));
    expectSameAsReference(exportOf(tree, 'owners.tar'));
  });

  it('ignores the directory the inputs sit in (other parent, other directory name)', () => {
    const elsewhere = join(work, 'some', 'deeper', 'place');
    mkdirSync(elsewhere, { recursive: true });
    const tree = copyTree(ACME, join(elsewhere, 'renamed-evidence-dir'));
    expectSameAsReference(exportOf(tree, 'elsewhere.tar'));
    // And the current working directory, with a relative input path.
    const out = join(work, 'relative.tar');
    mustExport({ out, inputs: [relative(work, tree)] }, { cwd: work });
    expectSameAsReference(readFileSync(out));
  });

  it('ignores the order in which files were created (and so the file system’s listing order)', () => {
    const names = filesUnder(ACME).map((f) => relative(ACME, f));
    const build = (root: string, order: string[]) => {
      for (const n of order) {
        mkdirSync(dirname(join(root, n)), { recursive: true });
        writeFileSync(join(root, n), readFileSync(join(ACME, n)));
      }
      return root;
    };
    const forward = build(join(work, 'order-fwd'), [...names].sort());
    const backward = build(join(work, 'order-rev'), [...names].sort().reverse());
    const shuffled = build(join(work, 'order-mix'), [...names].sort((a, b) => sha256Hex(a).localeCompare(sha256Hex(b))));
    expectSameAsReference(exportOf(forward, 'order-fwd.tar'));
    expectSameAsReference(exportOf(backward, 'order-rev.tar'));
    expectSameAsReference(exportOf(shuffled, 'order-mix.tar'));
  });

  it('ignores the time zone (TZ=Pacific/Auckland vs TZ=UTC)', () => {
    const tree = join(work, 'ref-tree');
    expectSameAsReference(exportOf(tree, 'tz-auckland.tar', { TZ: 'Pacific/Auckland' }));
    expectSameAsReference(exportOf(tree, 'tz-utc.tar', { TZ: 'UTC' }));
    expectSameAsReference(exportOf(tree, 'tz-honolulu.tar', { TZ: 'Pacific/Honolulu' }));
  });

  it('ignores the locale (LANG/LC_ALL)', () => {
    const tree = join(work, 'ref-tree');
    expectSameAsReference(exportOf(tree, 'loc-tr.tar', { LANG: 'tr_TR.UTF-8', LC_ALL: 'tr_TR.UTF-8' }));
    expectSameAsReference(exportOf(tree, 'loc-c.tar', { LANG: 'C', LC_ALL: 'C' }));
    expectSameAsReference(exportOf(tree, 'loc-de.tar', { LANG: 'de_DE.ISO-8859-1', LC_ALL: '' }));
  });

  it('is byte-identical from run to run, plain and gzip', () => {
    const tree = join(work, 'ref-tree');
    expectSameAsReference(exportOf(tree, 'again.tar'));
    const out = join(work, 'again.tar.gz');
    mustExport({ out, inputs: [tree] });
    expect(sha256Hex(readFileSync(out))).toBe(sha256Hex(referenceGz));
  });

  it('with several inputs, ignores the order they are given in', () => {
    const a = join(EVIDENCE, 'acme', 'sbom');
    const b = join(EVIDENCE, 'acme', 'vex');
    const one = join(work, 'args-ab.tar');
    const two = join(work, 'args-ba.tar');
    mustExport({ out: one, inputs: [a, b] });
    mustExport({ out: two, inputs: [b, a] });
    expect(sha256Hex(readFileSync(one))).toBe(sha256Hex(readFileSync(two)));
  });

  it('does change when the content, the time, the tenant or the key changes (the comparisons above can fail)', () => {
    const tree = copyTree(ACME, join(work, 'changed'));
    writeFileSync(join(tree, 'audit', 'events.jsonl'), readFileSync(join(tree, 'audit', 'events.jsonl'), 'utf8') + '\n');
    expect(sha256Hex(exportOf(tree, 'changed.tar'))).not.toBe(sha256Hex(reference));
    const ref = join(work, 'ref-tree');
    const out = (n: string) => join(work, n);
    mustExport({ out: out('t2.tar'), inputs: [ref], createdAt: '2026-11-01T00:00:01Z' });
    mustExport({ out: out('other-tenant.tar'), inputs: [ref], tenant: 'acme2' });
    mustExport({ out: out('other-key.tar'), inputs: [ref], key: KEYS.acmeCo.key });
    for (const n of ['t2.tar', 'other-tenant.tar', 'other-key.tar']) {
      expect(sha256Hex(readFileSync(out(n)))).not.toBe(sha256Hex(reference));
    }
  });
});

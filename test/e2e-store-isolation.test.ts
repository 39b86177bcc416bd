import { createHash } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { EVIDENCE, expectCleanFailure } from './helpers/cli.js';
import { removeTempDirs, tempDir, copyTree } from './helpers/tmp.js';
import { blobFile, inStore, listRecords, mustInStore, tenantDir, type RecordJson } from './helpers/store.js';

afterAll(removeTempDirs);

const ACME = join(EVIDENCE, 'acme');
const GLOBEX = join(EVIDENCE, 'globex');
const FILE = join(ACME, 'policy', 'decision-2026-10-14.json');

/** A store with acme and globex evidence, rebuilt for each attack so attacks do not mix. */
function freshStore(): string {
  const store = join(tempDir(), 'store');
  mustInStore(store, ['store', 'add', '--tenant', 'acme', ACME]);
  mustInStore(store, ['store', 'add', '--tenant', 'globex', GLOBEX]);
  return store;
}

/** The template is built once; each test works on its own copy. */
let template = '';
const storeCopy = (): string => {
  if (!template) template = freshStore();
  return copyTree(template, join(tempDir(), 'store'));
};

const canonical = (v: unknown): string => {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
};
const idOf = (r: RecordJson): string =>
  createHash('sha256').update(canonical({ tenant: r.tenant, sha256: r.sha256, name: r.name, kind: r.kind, labels: r.labels, scope: r.scope })).digest('hex');

const recordsFile = (store: string, t: string) => join(tenantDir(store, t), 'records.jsonl');
const readLines = (p: string) => readFileSync(p, 'utf8').split('\n').filter(Boolean);
const writeLines = (p: string, lines: string[]) => writeFileSync(p, lines.map((l) => l + '\n').join(''));

describe('crafted tenant ids are refused as usage errors (exit 2) before anything is touched', () => {
  const store = join(tempDir(), 'store');
  const bad = ['../globex', 'acme/../globex', 'ACME', '.', '..', 'acme/x', ' acme', 'acme ', 'a'.repeat(64), '-acme', 'acme\nx', 'ａcme', 'acme\\globex', '%2e%2e'];

  it.each(bad)('store add --tenant %j', (t) => {
    expectCleanFailure(inStore(store, ['store', 'add', '--tenant', t, FILE]), 2, /invalid tenant id/);
    expect(existsSync(store)).toBe(false);
  });

  it('store list, audit list and audit verify refuse them too', () => {
    mustInStore(store, ['store', 'add', '--tenant', 'acme', FILE]);
    for (const t of ['../acme', 'acme/.', 'Acme']) {
      for (const cmd of [['store', 'list'], ['audit', 'list'], ['audit', 'verify']]) {
        expectCleanFailure(inStore(store, [...cmd, '--tenant', t]), 2, /invalid tenant id/);
      }
    }
    expect(readdirSync(join(store, 'tenants'))).toEqual(['acme']);
  });

  it('two different tenants in one command are refused with exit 4, naming both', () => {
    expectCleanFailure(inStore(store, ['store', 'add', '--tenant', 'acme', '--tenant', 'globex', FILE]), 4, /acme, globex/);
    expectCleanFailure(inStore(store, ['store', 'list', '--tenant', 'acme', '--tenant', 'globex']), 4, /acme, globex/);
    expectCleanFailure(inStore(store, ['audit', 'list', '--tenant', 'globex', '--tenant', 'acme']), 4, /globex, acme/);
    expect(existsSync(tenantDir(store, 'globex'))).toBe(false);
  });
});

describe('links planted inside the store are refused (exit 4), never followed', () => {
  let store = '';
  beforeEach(() => {
    store = storeCopy();
  });

  it("a tenant directory that is a link to another tenant's", () => {
    symlinkSync('globex', tenantDir(store, 'mallory'));
    const r = inStore(store, ['store', 'list', '--tenant', 'mallory', '--json']);
    expectCleanFailure(r, 4, /symbolic link/);
    expect(r.stdout).toBe('');
    expectCleanFailure(inStore(store, ['store', 'add', '--tenant', 'mallory', FILE]), 4, /symbolic link/);
    expectCleanFailure(inStore(store, ['audit', 'list', '--tenant', 'mallory']), 4, /symbolic link/);
  });

  it('the tenants directory itself replaced by a link', () => {
    renameSync(join(store, 'tenants'), join(store, 'real-tenants'));
    symlinkSync('real-tenants', join(store, 'tenants'));
    expectCleanFailure(inStore(store, ['store', 'list', '--tenant', 'acme']), 4, /symbolic link/);
  });

  it("the blobs directory linked to another tenant's", () => {
    rmSync(join(tenantDir(store, 'acme'), 'blobs'), { recursive: true });
    symlinkSync(join('..', 'globex', 'blobs'), join(tenantDir(store, 'acme'), 'blobs'));
    expectCleanFailure(inStore(store, ['store', 'add', '--tenant', 'acme', FILE]), 4, /symbolic link/);
  });

  it("the record index linked to another tenant's", () => {
    unlinkSync(recordsFile(store, 'acme'));
    symlinkSync(join('..', 'globex', 'records.jsonl'), recordsFile(store, 'acme'));
    expectCleanFailure(inStore(store, ['store', 'list', '--tenant', 'acme']), 4, /symbolic link/);
  });

  it("the audit log linked to another tenant's", () => {
    const audit = join(tenantDir(store, 'acme'), 'audit.jsonl');
    unlinkSync(audit);
    symlinkSync(join('..', 'globex', 'audit.jsonl'), audit);
    expectCleanFailure(inStore(store, ['audit', 'list', '--tenant', 'acme']), 4, /symbolic link/);
    expectCleanFailure(inStore(store, ['store', 'list', '--tenant', 'acme']), 4, /symbolic link/);
  });

  it("the record index hard-linked to another tenant's", () => {
    unlinkSync(recordsFile(store, 'acme'));
    linkSync(recordsFile(store, 'globex'), recordsFile(store, 'acme'));
    expectCleanFailure(inStore(store, ['store', 'list', '--tenant', 'acme']), 4, /hard link/);
    expectCleanFailure(inStore(store, ['store', 'list', '--tenant', 'globex']), 4, /hard link/);
  });

  it('a blob replaced by a link to the same bytes elsewhere', () => {
    // globex and acme share no files, so plant a copy of an acme file in globex first.
    mustInStore(store, ['store', 'add', '--tenant', 'globex', FILE]);
    const hex = createHash('sha256').update(readFileSync(FILE)).digest('hex');
    unlinkSync(blobFile(store, 'acme', hex));
    symlinkSync(blobFile(store, 'globex', hex), blobFile(store, 'acme', hex));
    expectCleanFailure(inStore(store, ['store', 'add', '--tenant', 'acme', FILE]), 4, /symbolic link/);
  });
});

describe('records edited on disk fail closed', () => {
  let store = '';
  beforeEach(() => {
    store = storeCopy();
  });

  it('a record whose tenant field was changed to another tenant: exit 4', () => {
    const p = recordsFile(store, 'acme');
    const lines = readLines(p);
    lines[3] = lines[3]!.replace('"tenant":"acme"', '"tenant":"globex"');
    writeLines(p, lines);
    const r = inStore(store, ['store', 'list', '--tenant', 'acme', '--json']);
    expectCleanFailure(r, 4, /names tenant "globex" but lies in tenant acme's namespace/);
    expect(r.stdout).toBe('');
  });

  it("another tenant's record copied into this tenant's index: exit 4", () => {
    const foreign = readLines(recordsFile(store, 'globex'))[0]!;
    const p = recordsFile(store, 'acme');
    writeLines(p, [...readLines(p), foreign]);
    expectCleanFailure(inStore(store, ['store', 'list', '--tenant', 'acme']), 4, /globex/);
    expect(listRecords(store, 'globex')).toHaveLength(3);
  });

  it('a record with an edited name: exit 1 (its id no longer matches)', () => {
    const p = recordsFile(store, 'acme');
    const lines = readLines(p);
    lines[0] = lines[0]!.replace(/"name":"[^"]*"/, '"name":"renamed.json"');
    writeLines(p, lines);
    expectCleanFailure(inStore(store, ['store', 'list', '--tenant', 'acme']), 1, /line 1.*edited/);
  });

  it('a record whose name was made to climb out (id recomputed): exit 1, unsafe name', () => {
    const p = recordsFile(store, 'acme');
    const lines = readLines(p);
    const rec = JSON.parse(lines[0]!) as RecordJson;
    rec.name = '../../globex/records.jsonl';
    rec.id = idOf(rec);
    lines[0] = canonical(rec);
    writeLines(p, lines);
    expectCleanFailure(inStore(store, ['store', 'list', '--tenant', 'acme']), 1, /unsafe/);
  });

  it('a reformatted record (same data, not canonical): exit 1', () => {
    const p = recordsFile(store, 'acme');
    const lines = readLines(p);
    lines[2] = JSON.stringify(JSON.parse(lines[2]!), null, 1).replace(/\n/g, ' ');
    writeLines(p, lines);
    expectCleanFailure(inStore(store, ['store', 'list', '--tenant', 'acme']), 1, /canonical/);
  });

  it('a record line that is not JSON: exit 1', () => {
    const p = recordsFile(store, 'acme');
    const lines = readLines(p);
    lines[1] = lines[1]!.slice(0, 40);
    writeLines(p, lines);
    expectCleanFailure(inStore(store, ['store', 'list', '--tenant', 'acme']), 1, /line 2/);
  });
});

describe('inputs inside the store are refused (exit 4)', () => {
  it("ingesting another tenant's blobs or logs by path", () => {
    const store = storeCopy();
    const before = readFileSync(recordsFile(store, 'acme'));
    expectCleanFailure(inStore(store, ['store', 'add', '--tenant', 'acme', join(tenantDir(store, 'globex'), 'blobs')]), 4, /inside the store/);
    expectCleanFailure(inStore(store, ['store', 'add', '--tenant', 'acme', join(tenantDir(store, 'globex'), 'audit.jsonl')]), 4, /inside the store/);
    // Through a link from outside, too.
    const outside = tempDir();
    symlinkSync(tenantDir(store, 'globex'), join(outside, 'innocent'));
    expectCleanFailure(inStore(store, ['store', 'add', '--tenant', 'acme', '--follow-symlinks', outside]), 4, /inside the store/);
    // A link to one blob file, from a directory outside the store.
    const [g] = listRecords(store, 'globex');
    const single = tempDir();
    symlinkSync(blobFile(store, 'globex', g!.sha256), join(single, 'looks-harmless.json'));
    expectCleanFailure(inStore(store, ['store', 'add', '--tenant', 'acme', '--follow-symlinks', single]), 4, /inside the store/);
    expect(readFileSync(recordsFile(store, 'acme')).equals(before)).toBe(true);
  });

  it('input names that are not usable as names are refused (exit 2)', () => {
    const store = storeCopy();
    const d = tempDir();
    mkdirSync(join(d, 'x'));
    writeFileSync(join(d, 'x', 'a\\..\\b.json'), '{}');
    expectCleanFailure(inStore(store, ['store', 'add', '--tenant', 'acme', d]), 2, /backslash/);
  });
});

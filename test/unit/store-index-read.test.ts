import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { StellaError } from '../../src/errors.js';
import { canonicalRecord, parseRecordLine, quickRecordLine, recordId } from '../../src/store/record.js';
import { eachCommittedLine } from '../../src/store/jsonl.js';
import { TenantNamespace } from '../../src/store/fs-namespace.js';
import { FsEvidenceStore } from '../../src/store/fs-store.js';
import { matcher, parseSelection } from '../../src/store/selector.js';
import type { StoreRecord } from '../../src/store/store.js';
import { removeTempDirs, tempDir } from '../helpers/tmp.js';

afterAll(removeTempDirs);

/**
 * The index reader's fast path (quickRecordLine) must never accept a line that the full
 * parser (parseRecordLine: schema, canonical form, safe name, id) refuses, and every
 * refusal must still come from the full parser, word for word.
 */
type Outcome = { ok: true; json: string } | { ok: false; exit: number; code: string; message: string };

function outcome(read: () => StoreRecord): Outcome {
  try {
    // JSON text, so member order counts too: `store list --json` prints records as read.
    return { ok: true, json: JSON.stringify(read()) };
  } catch (e) {
    if (!(e instanceof StellaError)) throw e;
    return { ok: false, exit: e.exitCode, code: e.code, message: e.message };
  }
}

const WHERE = 'records.jsonl line 7';
const full = (line: string, tenant: string) => outcome(() => parseRecordLine(line, tenant, WHERE));
/** What the store's reader does with a line. */
const reader = (line: string, tenant: string) => outcome(() => quickRecordLine(line, tenant) ?? parseRecordLine(line, tenant, WHERE));

function expectSameAsFullParser(line: string, tenant: string): Outcome {
  const quick = quickRecordLine(line, tenant);
  const f = full(line, tenant);
  if (quick !== null) expect(f).toEqual({ ok: true, json: JSON.stringify(quick) });
  expect(reader(line, tenant)).toEqual(f);
  return f;
}

const base = (over: Partial<StoreRecord> = {}): StoreRecord => {
  const r: StoreRecord = {
    id: '',
    tenant: 'acme',
    seq: 12,
    name: 'sbom/app.cdx.json',
    sha256: 'ab'.repeat(32),
    size: 1234,
    kind: 'sbom',
    mediaType: 'application/vnd.cyclonedx+json',
    labels: { release: '2026.11', team: 'payments' },
    scope: { environment: 'prod' },
    ingestedAt: '2026-11-01T10:00:00Z',
    ...over,
  };
  r.id = recordId(r.tenant, r);
  return r;
};
const line = (r: StoreRecord) => canonicalRecord(r);

/**
 * A line written by hand, with the id recomputed over the identity as written: the way to
 * plant values that canonicalRecord itself would refuse to write (wrong types, lone
 * surrogates), so that the line fails for that reason and not for its id.
 */
function forged(members: Record<string, string>): string {
  const identity = `{"kind":${members.kind},"labels":${members.labels},"name":${members.name},"scope":${members.scope},"sha256":${members.sha256},"tenant":${members.tenant}}`;
  const all: Record<string, string> = { ...members, id: JSON.stringify(createHash('sha256').update(identity).digest('hex')) };
  return `{${Object.keys(all).sort().map((k) => `"${k}":${all[k]}`).join(',')}}`;
}
/** Each member of a record (but its id) as canonical JSON text. */
const membersOf = (r: StoreRecord): Record<string, string> => {
  const enc = (v: unknown): string =>
    v !== null && typeof v === 'object'
      ? `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${JSON.stringify((v as Record<string, unknown>)[k])}`).join(',')}}`
      : JSON.stringify(v);
  return Object.fromEntries(Object.entries(r).filter(([k]) => k !== 'id').map(([k, v]) => [k, enc(v)]));
};

describe('the fast record check agrees with the full parser', () => {
  it('accepts a written record, with the same members in the same order', () => {
    const r = base();
    expect(quickRecordLine(line(r), 'acme')).not.toBeNull();
    expect(expectSameAsFullParser(line(r), 'acme')).toEqual({ ok: true, json: JSON.stringify(JSON.parse(line(r))) });
  });

  const hostile: Array<[string, string, number]> = [
    ['another tenant', line(base()), 4],
    ['the tenant field changed', line(base()).replace('"tenant":"acme"', '"tenant":"globex"'), 4],
    ['no tenant member', line(base()).replace(',"tenant":"acme"', ''), 1],
    ['not JSON', line(base()).slice(0, -1), 1],
    ['an array', `[${line(base())}]`, 1],
    ['null', 'null', 1],
    ['a number', '12', 1],
    ['an edited kind (id no longer matches)', line(base()).replace('"kind":"sbom"', '"kind":"vex"'), 1],
    ['a duplicate member', line(base()).replace('"size":1234', '"size":1234,"size":1234'), 1],
    ['a space after the brace', line(base()).replace('{"id"', '{ "id"'), 1],
    ['an extra member', line(base()).replace('"mediaType":', '"extra":1,"mediaType":'), 1],
    ['members out of order', line(base()).replace(/^\{("id":"[0-9a-f]+"),(.*)\}$/, '{$2,$1}'), 1],
    ['labels out of order', forged({ ...membersOf(base()), labels: '{"team":"payments","release":"2026.11"}' }), 1],
    ['an escaped letter (\\u0061)', line(base()).replace('"name":"sbom/app', '"name":"sbom/\\u0061pp'), 1],
    ['an escaped slash', line(base()).replace('"name":"sbom/app', '"name":"sbom\\/app'), 1],
    ['a lone surrogate in a label value', forged({ ...membersOf(base()), labels: '{"team":"\\ud800"}' }), 1],
    ['a lone surrogate in the name', forged({ ...membersOf(base()), name: '"a\\udc00"' }), 1],
    ['a number as kind', forged({ ...membersOf(base()), kind: '5' }), 1],
    ['a number as name', forged({ ...membersOf(base()), name: '7' }), 1],
    ['a string as size', forged({ ...membersOf(base()), size: '"1234"' }), 1],
    ['a negative size', forged({ ...membersOf(base()), size: '-1' }), 1],
    ['a fractional size', forged({ ...membersOf(base()), size: '1.5' }), 1],
    ['an exponent size', forged({ ...membersOf(base()), size: '1e3' }), 1],
    ['size beyond 2^53-1', forged({ ...membersOf(base()), size: '9007199254740993' }), 1],
    ['seq 0', forged({ ...membersOf(base()), seq: '0' }), 1],
    ['seq written 12.0', forged({ ...membersOf(base()), seq: '12.0' }), 1],
    ['an uppercase digest', forged({ ...membersOf(base()), sha256: JSON.stringify('AB'.repeat(32)) }), 1],
    ['a short digest', forged({ ...membersOf(base()), sha256: '"abc"' }), 1],
    ['an uppercase id', line(base()).replace(/"id":"([0-9a-f]+)"/, (_m, h: string) => `"id":"${h.toUpperCase()}"`), 1],
    ['a bad kind', forged({ ...membersOf(base()), kind: '"SBOM"' }), 1],
    ['a bad time', forged({ ...membersOf(base()), ingestedAt: '"2026-11-01 10:00:00Z"' }), 1],
    ['an empty mediaType', forged({ ...membersOf(base()), mediaType: '""' }), 1],
    ['a 256-character mediaType', forged({ ...membersOf(base()), mediaType: JSON.stringify('m'.repeat(256)) }), 1],
    ['an empty name', forged({ ...membersOf(base()), name: '""' }), 1],
    ['a 4097-character name', forged({ ...membersOf(base()), name: JSON.stringify('n'.repeat(4097)) }), 1],
    ['a climbing name', forged({ ...membersOf(base()), name: '"../../etc/passwd"' }), 1],
    ['an absolute name', forged({ ...membersOf(base()), name: '"/etc/passwd"' }), 1],
    ['a backslash in the name', forged({ ...membersOf(base()), name: '"a\\\\b"' }), 1],
    ['a control character in the name', forged({ ...membersOf(base()), name: '"a\\u0001b"' }), 1],
    ['a name not in NFC', forged({ ...membersOf(base()), name: JSON.stringify('cafe\u0301.json') }), 1],
    ['labels as an array', forged({ ...membersOf(base()), labels: '[]' }), 1],
    ['labels as null', forged({ ...membersOf(base()), labels: 'null' }), 1],
    ['a __proto__ label', forged({ ...membersOf(base()), labels: '{"__proto__":"x"}' }), 1],
    ['an uppercase label name', forged({ ...membersOf(base()), labels: '{"Team":"x"}' }), 1],
    ['an empty label value', forged({ ...membersOf(base()), labels: '{"team":""}' }), 1],
    ['a label value that is a number', forged({ ...membersOf(base()), labels: '{"team":1}' }), 1],
    ['a 257-character label value', forged({ ...membersOf(base()), labels: `{"team":${JSON.stringify('v'.repeat(257))}}` }), 1],
    ['an unknown scope name', forged({ ...membersOf(base()), scope: '{"region":"eu"}' }), 1],
    ['a bad scope value', forged({ ...membersOf(base()), scope: '{"environment":"../prod"}' }), 1],
    ['scope as an array', forged({ ...membersOf(base()), scope: '["prod"]' }), 1],
  ];

  it.each(hostile)('refuses %s exactly as the full parser does', (_what, l, exit) => {
    const tenant = _what === 'another tenant' ? 'globex' : 'acme';
    expect(quickRecordLine(l, tenant)).toBeNull();
    const f = expectSameAsFullParser(l, tenant);
    expect(f.ok ? 0 : f.exit).toBe(exit);
  });

  // Valid forms the fast check leaves to the full parser: still accepted, identically.
  it.each([
    ['integer-like label names (objects list them first)', base({ labels: { '10': 'a', '9': 'b', team: 'c' } })],
    ['a label value that needs escaping', base({ labels: { note: 'say "hi" \\ bye' } })],
    ['a control character in a label value', base({ labels: { note: 'tab\there' } })],
    ['non-ASCII text', base({ name: 'résumé/日本語.json', labels: { owner: 'Zoë 🚀' } })],
  ])('accepts %s', (_what, r) => {
    expect(expectSameAsFullParser(line(r), 'acme')).toEqual({ ok: true, json: JSON.stringify(JSON.parse(line(r))) });
  });

  const slug = fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,8}$/);
  const text = fc.string({ minLength: 1, maxLength: 12, unit: 'grapheme' });
  const record = fc
    .record({
      seq: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
      name: fc.stringMatching(/^[A-Za-z0-9_-][A-Za-z0-9._-]{0,8}(\/[A-Za-z0-9_-][A-Za-z0-9._-]{0,8}){0,2}$/),
      size: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
      kind: fc.stringMatching(/^[a-z][a-z0-9-]{0,8}$/),
      mediaType: text,
      labels: fc.dictionary(slug, text, { maxKeys: 3 }),
      scope: fc.record({ environment: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._:@/-]{0,8}$/), project: fc.constant('p1') }, { requiredKeys: [] }),
    })
    .map((o) => base(o as Partial<StoreRecord>));

  it('random records: the reader returns what the full parser returns', () => {
    fc.assert(
      fc.property(record, (r) => {
        const f = expectSameAsFullParser(line(r), 'acme');
        expect(f).toEqual({ ok: true, json: JSON.stringify(JSON.parse(line(r))) });
      }),
      { numRuns: 400 },
    );
  });

  // JSON-significant characters, escapes, digits and non-ASCII, spliced in anywhere.
  const piece = fc.constantFrom('"', '\\', ',', ':', '{', '}', '[', ']', ' ', '0', '1', '-', '.', 'e', 'a', 'A', '/', '\\u0000', '\\ud800', '\\n', '\t', 'é', '\u0301', '\u2028', 'null', '"x":1');
  it('random edits of a valid line: never accepted unless the full parser accepts, same refusals', () => {
    fc.assert(
      fc.property(record, fc.nat(), fc.nat({ max: 3 }), piece, (r, at, del, ins) => {
        const l = line(r);
        const pos = at % (l.length + 1);
        expectSameAsFullParser(l.slice(0, pos) + ins + l.slice(pos + del), 'acme');
        expectSameAsFullParser(l.slice(0, pos) + l.slice(pos + 1 + del), 'acme');
      }),
      { numRuns: 3000 },
    );
  });

  it('the fast check uses the schema\'s own patterns', () => {
    const schema = JSON.parse(readFileSync(new URL('../../schemas/store-record.schema.json', import.meta.url), 'utf8')) as {
      properties: { kind: { pattern: string }; labels: { propertyNames: { pattern: string } }; scope: { properties: Record<string, unknown> } };
      definitions: Record<string, { pattern: string }>;
    };
    const src = readFileSync(new URL('../../src/store/record.ts', import.meta.url), 'utf8');
    const labels = readFileSync(new URL('../../src/store/labels.ts', import.meta.url), 'utf8');
    const tenant = readFileSync(new URL('../../src/util/tenant.ts', import.meta.url), 'utf8');
    for (const def of ['sha256', 'scopeValue', 'time']) expect(src).toContain(`/${schema.definitions[def]!.pattern}/`);
    expect(tenant).toContain(`TENANT_PATTERN = /${schema.definitions.tenant!.pattern}/`);
    expect(labels).toContain(`KIND_PATTERN = /${schema.properties.kind.pattern}/`);
    expect(labels).toContain(`LABEL_NAME = /${schema.properties.labels.propertyNames.pattern}/`);
    expect(src).toContain(`new Set(${JSON.stringify(Object.keys(schema.properties.scope.properties)).replace(/"/g, "'").replace(/,/g, ', ')})`);
  });
});

describe('reading an index line by line in chunks', () => {
  const setup = (content: string | Buffer) => {
    const root = tempDir('stella-jsonl-');
    const ns = new TenantNamespace(root, 'acme');
    mkdirSync(ns.dir, { recursive: true });
    writeFileSync(ns.records, content);
    return ns;
  };
  const walk = (ns: TenantNamespace, from: number, chunk: number, stopAt = Infinity) => {
    const seen: string[] = [];
    const w = eachCommittedLine(ns, ns.records, from, (t) => (seen.length < stopAt ? (seen.push(t), true) : false), chunk);
    return { seen, w };
  };

  it('gives every committed line, across chunk boundaries and longer than a chunk, never the torn tail', () => {
    const lines = ['', 'a', 'é日本🚀x', 'b'.repeat(50), '{"k":"v"}', 'z'];
    const committed = lines.map((l) => l + '\n').join('');
    const ns = setup(committed + '{"torn');
    const size = Buffer.byteLength(committed) + 6;
    for (const chunk of [1, 2, 3, 5, 7, 64, 1 << 20]) {
      expect(walk(ns, 0, chunk)).toEqual({ seen: lines, w: { offset: Buffer.byteLength(committed), end: size } });
    }
  });

  it('stops where the caller says and reports the offset of the first line not taken', () => {
    const ns = setup('one\ntwo\nthree\n');
    for (const chunk of [1, 4, 100]) {
      expect(walk(ns, 0, chunk, 2)).toEqual({ seen: ['one', 'two'], w: { offset: 8, end: 14 } });
      expect(walk(ns, 4, chunk, 1)).toEqual({ seen: ['two'], w: { offset: 8, end: 14 } });
    }
  });

  it('an empty file, one without a newline, and a start beyond the end', () => {
    expect(walk(setup(''), 0, 8)).toEqual({ seen: [], w: { offset: 0, end: 0 } });
    expect(walk(setup('no newline'), 0, 4)).toEqual({ seen: [], w: { offset: 0, end: 10 } });
    expect(walk(setup('a\n'), 5, 4)).toEqual({ seen: [], w: { offset: 5, end: 5 } });
  });

  it('a missing file is null', () => {
    const root = tempDir('stella-jsonl-');
    const ns = new TenantNamespace(root, 'acme');
    mkdirSync(ns.dir, { recursive: true });
    expect(eachCommittedLine(ns, ns.records, 0, () => true)).toBeNull();
  });

  it('decodes exactly as decoding each line on its own did, invalid UTF-8 included', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), fc.integer({ min: 1, max: 9 }), (bytes, chunk) => {
        const b = Buffer.from(bytes.map((x) => (x % 5 === 0 ? 0x0a : x)));
        const ns = setup(b);
        const expected: string[] = [];
        for (let s = 0, nl = b.indexOf(0x0a); nl >= 0; s = nl + 1, nl = b.indexOf(0x0a, s)) expected.push(b.toString('utf8', s, nl));
        expect(walk(ns, 0, chunk).seen).toEqual(expected);
      }),
      { numRuns: 200 },
    );
  });
});

describe('a selection is applied while the index is read, every line still checked', () => {
  const ctx = { actor: 'tester', time: '2026-11-01T10:00:00Z' };
  async function storeWith(n: number): Promise<{ store: FsEvidenceStore; dir: string }> {
    const dir = join(tempDir('stella-sel-'), 'store');
    const store = FsEvidenceStore.open(dir, { create: true });
    const drafts = [];
    for (let i = 0; i < n; i++) {
      const blob = await store.putBlob('acme', async (write) => write(Buffer.from(`evidence ${i}\n`)));
      drafts.push({
        name: `e/${i}.txt`,
        sha256: blob.sha256,
        size: blob.size,
        kind: i % 3 === 0 ? 'sbom' : 'log',
        mediaType: 'text/plain',
        labels: i % 2 === 0 ? { team: 'a' } : { team: 'b' },
        scope: i % 4 === 0 ? { environment: 'prod' } : {},
      });
    }
    await store.put('acme', drafts, ctx);
    return { store, dir };
  }

  it('returns exactly the matching records of a full listing, in commit order', async () => {
    const { store } = await storeWith(24);
    const all = await store.list('acme');
    expect(all.map((r) => r.seq)).toEqual(Array.from({ length: 24 }, (_, i) => i + 1));
    for (const pairs of [['team=a'], ['kind=sbom', 'team=b'], ['environment=prod'], ['kind=vex'], []]) {
      const sel = parseSelection(pairs);
      const got = await store.list('acme', sel);
      expect(got).toEqual(all.filter(matcher(sel)));
    }
  });

  it('a damaged or foreign record that the selection would not match is still refused', async () => {
    const { dir } = await storeWith(6);
    const path = join(dir, 'tenants', 'acme', 'records.jsonl');
    const lines = readFileSync(path, 'utf8').split('\n');
    const sel = parseSelection(['kind=sbom']);
    // Line 2 is a log record: outside the selection.
    const edited = (l: string) => {
      writeFileSync(path, lines.map((x, i) => (i === 1 ? l : x)).join('\n'));
      return FsEvidenceStore.open(dir, { create: false }).list('acme', sel);
    };
    await expect(edited(lines[1]!.replace('"tenant":"acme"', '"tenant":"globex"'))).rejects.toMatchObject({ exitCode: 4, code: 'STORE_FOREIGN_RECORD' });
    await expect(edited(lines[1]!.replace('"name":"e/1.txt"', '"name":"e/9.txt"'))).rejects.toMatchObject({ exitCode: 1, code: 'STORE_RECORD_DAMAGED' });
    await expect(edited(lines[1]!.replace('{"id"', '{ "id"'))).rejects.toMatchObject({
      exitCode: 1,
      message: expect.stringContaining('records.jsonl line 2: not canonical JSON'),
    });
  });

  it('records beyond the last audit event are not listed, whatever they say', async () => {
    const { store, dir } = await storeWith(3);
    const path = join(dir, 'tenants', 'acme', 'records.jsonl');
    const first = (await store.list('acme'))[0]!;
    // A complete, valid record line whose audit event was never written.
    const extra = { ...first, seq: 4, name: 'e/late.txt' };
    extra.id = recordId('acme', extra);
    appendFileSync(path, canonicalRecord(extra) + '\n');
    const listed = await FsEvidenceStore.open(dir, { create: false }).list('acme', parseSelection(['team=a']));
    expect(listed.map((r) => r.name)).toEqual(['e/0.txt', 'e/2.txt']);
  });
});

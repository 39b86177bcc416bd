import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalize } from '../../src/json/canonical.js';
import { sha256Hex } from '../../src/crypto/sha256.js';
import { canonicalRecord, parseRecordLine, recordId, recordLine } from '../../src/store/record.js';
import { matcher, parseSelection } from '../../src/store/selector.js';
import { checkLinks, parseAuditLines } from '../../src/audit/chain.js';
import { eventLine, GENESIS_HASH, sealEvent, stubOf, type AuditEvent, type BundleAuditLine } from '../../src/audit/event.js';
import type { StoreRecord } from '../../src/store/store.js';
import { StellaError } from '../../src/errors.js';

const hex = fc.stringMatching(/^[0-9a-f]{64}$/);
const text = fc.string({ minLength: 1, maxLength: 20, unit: 'grapheme' });
const slug = fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,10}$/);
const record: fc.Arbitrary<StoreRecord> = fc.record({
  id: hex,
  tenant: slug,
  seq: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
  name: text,
  sha256: hex,
  size: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
  kind: fc.stringMatching(/^[a-z][a-z0-9-]{0,10}$/),
  mediaType: text,
  labels: fc.dictionary(slug, text, { maxKeys: 4 }),
  scope: fc.record({ environment: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._:@/-]{0,8}$/) }, { requiredKeys: [] }),
  ingestedAt: fc.constant('2026-11-01T00:00:00Z'),
});

describe('store records', () => {
  it('the fast canonical form is byte-identical to the generic RFC 8785 serializer', () => {
    fc.assert(
      fc.property(record, (r) => {
        expect(canonicalRecord(r)).toBe(canonicalize(r));
        const { tenant, sha256, name, kind, labels, scope } = r;
        expect(recordId(tenant, r)).toBe(sha256Hex(canonicalize({ tenant, sha256, name, kind, labels, scope })));
      }),
      { numRuns: 500 },
    );
  });

  it('a record line round-trips through the validating parser; any edit is refused', () => {
    const r: StoreRecord = {
      id: '',
      tenant: 'acme',
      seq: 3,
      name: 'sbom/a.json',
      sha256: 'a'.repeat(64),
      size: 10,
      kind: 'sbom',
      mediaType: 'application/json',
      labels: { team: 'x' },
      scope: {},
      ingestedAt: '2026-11-01T00:00:00Z',
    };
    r.id = recordId('acme', r);
    const line = recordLine(r).toString('utf8').trimEnd();
    expect(parseRecordLine(line, 'acme', 'here')).toEqual(r);
    const refused = (l: string, tenant = 'acme') => {
      try {
        parseRecordLine(l, tenant, 'here');
      } catch (e) {
        return (e as StellaError).exitCode;
      }
      return 0;
    };
    expect(refused(line, 'globex')).toBe(4);
    expect(refused(line.replace('"kind":"sbom"', '"kind":"vex"'))).toBe(1);
    expect(refused(line.replace('"size":10', '"size":10,"size":10'))).toBe(1);
    expect(refused(line.replace('{"id"', '{ "id"'))).toBe(1);
    expect(refused(line.replace('"mediaType":"application/json"', '"mediaType":"x","extra":1'))).toBe(1);
  });
});

describe('selectors', () => {
  const r = (kind: string, labels: Record<string, string>, scope: Record<string, string>) => ({ kind, labels, scope, ingestedAt: '2026-11-01T00:00:00Z' });

  it('normal form: label. spelled out, values sorted and unique, keys sorted', () => {
    expect(parseSelection(['team=b', 'label.team=a', 'kind=vex', 'team=b', 'environment=prod']).selectors).toEqual({
      environment: ['prod'],
      kind: ['vex'],
      'label.team': ['a', 'b'],
    });
  });

  it('same name: any of; different names: all of; a missing label or scope never matches', () => {
    const m = matcher(parseSelection(['kind=sbom', 'kind=vex', 'environment=prod']));
    expect(m(r('sbom', {}, { environment: 'prod' }))).toBe(true);
    expect(m(r('vex', {}, { environment: 'prod' }))).toBe(true);
    expect(m(r('vex', {}, { environment: 'dev' }))).toBe(false);
    expect(m(r('log', {}, { environment: 'prod' }))).toBe(false);
    expect(m(r('sbom', {}, {}))).toBe(false);
    const l = matcher(parseSelection(['label.kind=x']));
    expect(l(r('sbom', { kind: 'x' }, {}))).toBe(true);
    expect(l(r('x', {}, {}))).toBe(false);
    // Inherited properties are not labels.
    expect(matcher(parseSelection(['constructor=x']))(r('a', {}, {}))).toBe(false);
  });
});

describe('the audit chain', () => {
  const chain = (n: number): AuditEvent[] => {
    const out: AuditEvent[] = [];
    let head = { seq: 0, hash: GENESIS_HASH };
    for (let k = 0; k < n; k++) {
      const e = sealEvent({ type: 'ingest', artifacts: ['b'.repeat(64)] }, head, 'acme', 'me', '2026-11-01T00:00:00Z');
      out.push(e);
      head = e;
    }
    return out;
  };

  it('links, stubs included; a stub cannot hide an edit of the event after it', () => {
    const c = chain(5);
    expect(checkLinks(c, 'x', { seq: 1, prev: GENESIS_HASH })).toBeNull();
    const withStubs = [c[0]!, stubOf(c[1]!), stubOf(c[2]!), c[3]!, c[4]!];
    expect(checkLinks(withStubs, 'x')).toBeNull();
    const edited: BundleAuditLine[] = [...withStubs];
    edited[3] = { ...c[3]!, actor: 'mallory' };
    expect(checkLinks(edited, 'x')?.code).toBe('AUDIT_HASH');
    expect(checkLinks([c[0]!, c[2]!], 'x')?.code).toBe('AUDIT_SEQUENCE');
    expect(checkLinks(c.slice(1), 'x', { seq: 1, prev: GENESIS_HASH })?.code).toBe('AUDIT_SEQUENCE');
  });

  it('parses only canonical lines; a torn last line is reported, not parsed', () => {
    const c = chain(2);
    const bytes = Buffer.concat([eventLine(c[0]!), eventLine(c[1]!), Buffer.from('{"seq":3')]);
    const p = parseAuditLines(bytes, 'x', false);
    expect('lines' in p && p.lines.length).toBe(2);
    expect('lines' in p && p.tornTail).toBe(8);
    const stubbed = Buffer.concat([eventLine(stubOf(c[0]!))]);
    expect('code' in parseAuditLines(stubbed, 'x', false)).toBe(true);
    expect('lines' in parseAuditLines(stubbed, 'x', true)).toBe(true);
    const spaced = Buffer.from(JSON.stringify(c[0], null, 1).replace(/\n/g, '') + '\n');
    expect('code' in parseAuditLines(spaced, 'x', false)).toBe(true);
  });
});

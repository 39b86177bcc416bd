import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { canonicalize } from '../../src/json/canonical.js';
import { ArtifactsLength, computeTotals, PREDICATE_TYPE, STATEMENT_TYPE, statementLength, statementPieces, statementText, type Artifact, type Statement } from '../../src/manifest/statement.js';

const hex = (k: number) => k.toString(16).padStart(64, '0');

function statement(artifacts: Artifact[], extra: Record<string, unknown> = {}): Statement {
  return {
    _type: STATEMENT_TYPE,
    subject: [{ name: 'checksums.sha256', digest: { sha256: hex(1) } }],
    predicateType: PREDICATE_TYPE,
    predicate: {
      tenant: 'acme',
      scope: { environment: 'prod' },
      createdAt: '2026-11-01T00:00:00Z',
      exporter: { name: 'stella-evidence', version: '0.1.0' },
      artifacts,
      totals: computeTotals(artifacts),
      ...extra,
    } as Statement['predicate'],
  };
}

const artifact = (k: number): Artifact => ({
  kind: k % 3 ? 'file' : 'sbom',
  mediaType: k % 3 ? 'application/octet-stream' : 'application/vnd.cyclonedx+json',
  // Escapes and non-ASCII names, whose canonical forms differ from their plain text.
  name: k % 5 ? `dir/file-${k}.bin` : `ünïcödé "${k}" \\ 😀.json`,
  sha256: hex(k % 40),
  size: k * 1000,
  tenant: 'acme',
});

// Artifacts of the export's shape, with any values, and others canonicalize writes apart.
const text = fc.oneof(
  fc.string(),
  fc.string({ unit: 'grapheme' }),
  fc.constantFrom('', 'a"b', 'back\\slash', 'tab\there', 'line\nbreak', '\u007f', '\u2028', 'ünïcödé', '😀', 'acme'),
);
const size = fc.oneof(fc.nat(), fc.constantFrom(0, -0, 1e21, 2 ** 53, 0.5, -7));
// Values canonicalize refuses, put into one member of one artifact of a quarter of the
// statements.
const refused = fc.constantFrom<string | number>('lone \ud800 high', '\udc00', Infinity, NaN);
const member = fc.constantFrom('kind', 'mediaType', 'name', 'sha256', 'size', 'tenant');
const plain = fc.record({ kind: text, mediaType: text, name: text, sha256: text, size, tenant: text });
// Shapes measured by serialising: extra or missing members, labels, a member left undefined.
// And plain members held other ways, which canonicalize writes as their values: no
// prototype, a class's instance, a toJSON of its own or inherited, an inherited member.
class Held {
  constructor(fields: object) {
    Object.assign(this, fields);
  }
  toJSON(): string {
    return 'never called';
  }
}
const inheriting = Object.create({ inherited: 'x' }) as object;
const held = fc.tuple(plain, fc.constantFrom('null-proto', 'class', 'own-toJSON', 'inherited', 'inherited-tenant')).map(([p, how]) => {
  if (how === 'null-proto') return Object.assign(Object.create(null) as object, p);
  if (how === 'class') return new Held(p);
  if (how === 'own-toJSON') return { ...p, toJSON: 'a string member' };
  if (how === 'inherited') return Object.assign(Object.create(inheriting) as object, p);
  // Five members of its own and the sixth inherited: canonicalize leaves that one out.
  const { tenant, ...own } = p;
  return Object.assign(Object.create({ tenant }) as object, own);
});
const other = fc.oneof(
  held,
  fc.record({ kind: text, mediaType: text, name: text, sha256: text, size, tenant: text, labels: fc.dictionary(text, text, { maxKeys: 2 }) }),
  fc.record({ kind: text, mediaType: text, name: text, sha256: text, size, tenant: text, scope: fc.record({ environment: text }) }),
  fc.record({ kind: text, name: text, sha256: text, size, tenant: text }),
  fc.record({ kind: text, mediaType: text, name: text, sha256: text, size, tenant: text, labels: fc.constant(undefined) }),
);


describe('statementPieces', () => {
  it('joins to exactly canonicalize(statement), for any number of artifacts and extra members', () => {
    for (const n of [0, 1, 63, 64, 65, 200]) {
      const artifacts = Array.from({ length: n }, (_, k) => artifact(k));
      for (const extra of [{}, { authorization: { token: false }, crossTenant: { tenants: ['acme', 'globex'] }, selection: { kinds: ['sbom'] } }]) {
        const st = statement(artifacts, extra);
        const pieces = [...statementPieces(st)];
        expect(pieces.join('')).toBe(canonicalize(st));
        // Many short pieces, not one long one, once there are artifacts to split.
        if (n > 64) expect(pieces.length).toBeGreaterThan(3);
      }
    }
  });

  it('joins to exactly canonicalize(statement), or refuses what it refuses, for any artifacts', () => {
    const written: number[] = [];
    fc.assert(
      fc.property(fc.array(fc.oneof(plain, other), { maxLength: 140, size: 'max' }), fc.boolean(), fc.oneof({ arbitrary: fc.constant(null), weight: 3 }, { arbitrary: fc.tuple(fc.nat(), member, refused), weight: 1 }), (artifacts, ownTotals, spoil) => {
        if (spoil && artifacts.length > 0) (artifacts[spoil[0] % artifacts.length] as Record<string, unknown>)[spoil[1]] = spoil[2];
        // Totals given, not added up: an artifact's size that is not finite is then its own fault.
        const st = statement(artifacts as Artifact[], ownTotals ? { totals: { artifacts: artifacts.length, blobs: 1, bytes: 0 } } : {});
        let expected: string | Error;
        try {
          expected = canonicalize(st);
        } catch (e) {
          expected = e as Error;
        }
        if (typeof expected === 'string') {
          expect([...statementPieces(st)].join('')).toBe(expected);
          written.push(artifacts.length);
        }
        // Refused too, though not always for the same one of two faults: the members after
        // the artifacts (their totals, say) are checked first.
        else expect(() => [...statementPieces(st)]).toThrow(/^JCS cannot encode/);
      }),
      { numRuns: 300 },
    );
    // Most statements are written (a quarter are spoilt), many of them longer than one run
    // of artifacts.
    expect(written.length).toBeGreaterThan(150);
    expect(written.filter((n) => n > 64).length).toBeGreaterThan(50);
  });

  it('gives the whole text in one piece when a predicate member sorts before the artifacts', () => {
    const st = statement([artifact(1), artifact(2)], { Zeta: 1 });
    const pieces = [...statementPieces(st)];
    expect(pieces).toEqual([canonicalize(st)]);
  });
});

describe('statementText', () => {
  it('makes the artifacts before the subject is known, and the rest for the subject given last', () => {
    const late = [{ name: 'checksums.sha256', digest: { sha256: hex(99) } }] as Statement['subject'];
    for (const st of [statement(Array.from({ length: 130 }, (_, k) => artifact(k))), statement([artifact(1)], { Zeta: 1 })]) {
      const text = statementText(st);
      const artifacts = [...text.artifacts].join('');
      expect(artifacts + text.rest(late)).toBe(canonicalize({ ...st, subject: late }));
      expect(artifacts + text.rest(st.subject)).toBe(canonicalize(st));
    }
    // Split, the artifacts' text is all but the few members after the list.
    const text = statementText(statement(Array.from({ length: 130 }, (_, k) => artifact(k))));
    expect([...text.artifacts].join('').length).toBeGreaterThan(130 * 100);
    expect(text.rest(late).startsWith('],"createdAt":')).toBe(true);
  });
});

describe('statementLength', () => {
  it('is the UTF-8 length of canonicalize(statement), for any artifacts canonicalize accepts', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(plain, other), { maxLength: 12 }), fc.boolean(), (artifacts, extra) => {
        const st = statement(artifacts as Artifact[], extra ? { authorization: { token: false } } : {});
        let expected: number;
        try {
          expected = Buffer.byteLength(canonicalize(st), 'utf8');
        } catch {
          return; // refused where the text is made
        }
        expect(statementLength(st)).toBe(expected);
        // Measured one artifact at a time beforehand, as an export's hashing pass does.
        const measured = new ArtifactsLength();
        for (const a of artifacts) measured.add(a as Artifact);
        expect(statementLength(st, measured)).toBe(expected);
      }),
      { numRuns: 2000 },
    );
  });

  it('takes artifacts measured beforehand only when they are as many as the statement has', () => {
    const st = statement([artifact(1), artifact(2)]);
    const measured = new ArtifactsLength();
    measured.add(artifact(1));
    expect(() => statementLength(st, measured)).toThrow(/1 artifacts measured, the statement has 2/);
    expect(computeTotals(st.predicate.artifacts, 2, 5)).toEqual({ artifacts: 2, blobs: 2, bytes: 5 });
    expect(computeTotals(st.predicate.artifacts)).toEqual({ artifacts: 2, blobs: 2, bytes: 3000 });
  });

  it('measures the export\'s artifacts, and a predicate whose text comes in one piece', () => {
    const artifacts = Array.from({ length: 300 }, (_, k) => artifact(k));
    for (const extra of [{}, { Zeta: 1 }]) {
      const st = statement(artifacts, extra);
      expect(statementLength(st)).toBe(Buffer.byteLength(canonicalize(st), 'utf8'));
    }
  });
});

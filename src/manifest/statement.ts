import type { Authorization } from '../authority/record.js';
import { canonicalize } from '../json/canonical.js';
import { isWellFormed } from '../json/strict-parse.js';
import { utf8Length, utf8LengthOf } from '../util/utf8.js';
import type { Scope } from '../util/tenant.js';

export const STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';
export const PREDICATE_TYPE = 'https://stella-ops.org/evidence-bundle/v1';

export interface Artifact {
  /** Logical name: relative, `/`-separated, NFC. */
  name: string;
  sha256: string;
  size: number;
  mediaType: string;
  kind: string;
  tenant: string;
  /** Store exports only, and only when non-empty: the record's labels and sub-scope. */
  labels?: Record<string, string>;
  scope?: Scope;
}

/**
 * Store exports: the pinned run of one tenant's audit chain, carried as `path`
 * (`audit/<tenant>.jsonl`: the path names the tenant, so no second field can disagree).
 */
export interface AuditPin {
  path: string;
  sha256: string;
  firstSeq: number;
  lastSeq: number;
  lastHash: string;
}

export interface Totals {
  artifacts: number;
  /** Distinct contents stored under blobs/sha256/. */
  blobs: number;
  /** Sum of artifact sizes (duplicates counted each time). */
  bytes: number;
}

export interface EvidencePredicate {
  tenant: string;
  scope: Scope;
  createdAt: string;
  exporter: { name: string; version: string };
  artifacts: Artifact[];
  totals: Totals;
  /** Who authorized the export: the Authority token's identity, or that none was presented. */
  authorization?: Authorization;
  /** Store exports: the selection asked for (normal form, see store/selector.ts). */
  selection?: { selectors: Record<string, string[]>; since?: string; until?: string };
  /** Store exports: one pinned audit run per tenant involved. */
  audit?: AuditPin[];
  /** Only on an explicit cross-tenant export. */
  crossTenant?: { tenants: string[]; reason: string };
}

export interface Statement {
  _type: typeof STATEMENT_TYPE;
  subject: [{ name: string; digest: { sha256: string } }];
  predicateType: typeof PREDICATE_TYPE;
  predicate: EvidencePredicate;
}

/**
 * What the artifact list implies. `distinct`: how many contents there are, when the
 * caller has counted them already (an export, which sorts them out): a set of 100,000
 * digests is then not built. `sum`: their sizes added up, likewise (an export adds each
 * as its hashing pass gives it).
 */
export function computeTotals(artifacts: readonly Artifact[], distinct?: number, sum?: number): Totals {
  let bytes = sum ?? 0;
  if (sum === undefined) for (const a of artifacts) bytes += a.size;
  let blobs = distinct;
  if (blobs === undefined) {
    const seen = new Set<string>();
    for (const a of artifacts) seen.add(a.sha256);
    blobs = seen.size;
  }
  return { artifacts: artifacts.length, blobs, bytes };
}

/** How the canonical text of every statement begins, up to its (first) artifacts array. */
const HEAD = `{"_type":${JSON.stringify(STATEMENT_TYPE)},"predicate":{"artifacts":[`;

/**
 * canonicalize(statement) in pieces, whose concatenation is exactly that text: the
 * statement with no artifacts, split where its empty list is, and the artifacts between,
 * 64 at a time. A list's canonical form is its items' joined by commas, so the runs add
 * up to the whole; and the artifact list is the predicate's first member, its first key
 * in sorted order (the head is checked, else the text comes in one piece).
 */
export function* statementPieces(statement: Statement): Generator<string> {
  const text = statementText(statement);
  yield* text.artifacts;
  yield text.rest(statement.subject);
}

/**
 * statementPieces in two parts: the pieces up to the end of the artifact list, then the
 * rest, made for the subject given when it is asked for. The subject sorts last, after the
 * whole predicate, so it may be known only once the artifacts' text is made: an export
 * hands that text to its signing thread while it hashes the checksum list the subject
 * names. A statement that does not split (see statementPieces) is all rest.
 */
export function statementText(statement: Statement): { artifacts: Iterable<string>; rest: (subject: Statement['subject']) => string } {
  const artifacts = statement.predicate.artifacts;
  if (shellOf(statement) === null) return { artifacts: [], rest: (subject) => canonicalize({ ...statement, subject }) };
  function* runs(): Generator<string> {
    yield HEAD;
    const text = plainArtifactText();
    for (let k = 0; k < artifacts.length; k += RUN) {
      let run = k === 0 ? '' : ',';
      const end = Math.min(k + RUN, artifacts.length);
      for (let i = k; i < end; i++) {
        const a = artifacts[i]!;
        if (i > k) run += ',';
        run += plainArtifact(a) ? text(a) : canonicalize(a);
      }
      yield run;
    }
  }
  return {
    artifacts: runs(),
    rest: (subject) => {
      const text = shellOf({ ...statement, subject });
      if (text === null) throw new Error('a subject changed how the statement begins');
      return text.slice(HEAD.length);
    },
  };
}

/**
 * canonicalize(statement) with an empty artifact list, when that list is the predicate's
 * first member and so the text splits where it is (see statementPieces); else null.
 */
function shellOf(statement: Statement): string | null {
  if (!Array.isArray(statement.predicate.artifacts)) return null;
  const shell = canonicalize({ ...statement, predicate: { ...statement.predicate, artifacts: [] } });
  return shell.startsWith(`${HEAD}]`) ? shell : null;
}

/** f, remembered for up to 1,024 strings: kinds, media types and the tenant recur in every artifact. */
function recurring<T>(f: (s: string) => T): (s: string) => T {
  const seen = new Map<string, T>();
  return (s) => {
    let v = seen.get(s);
    if (v === undefined) {
      v = f(s);
      if (seen.size < 1024) seen.set(s, v);
    }
    return v;
  };
}

const RUN = 64;

/**
 * The UTF-8 length of canonicalize(statement), without making the text. An export fixes
 * every entry's place from the manifest's size before it makes the manifest, and
 * serialising 100,000 artifacts only to count them took 70 to 110 ms while the pool's
 * threads waited. An artifact of the shape an export makes (its six members, plain
 * strings and a number) is measured from its values; any other is serialised. It
 * measures and does not check: a value canonicalize refuses is refused where the text is
 * made, and that text is checked against this size. `measured`, when given, has
 * measured the statement's artifacts already (an export measures each as its hashing
 * pass gives it).
 */
export function statementLength(statement: Statement, measured?: ArtifactsLength): number {
  const artifacts = statement.predicate.artifacts;
  const shell = shellOf(statement);
  if (shell === null) return utf8LengthOf(statementPieces(statement));
  const n = utf8Length(shell) + Math.max(0, artifacts.length - 1);
  if (measured) {
    if (measured.count !== artifacts.length) throw new Error(`${measured.count} artifacts measured, the statement has ${artifacts.length}`);
    return n + measured.bytes;
  }
  const all = new ArtifactsLength();
  for (const a of artifacts) all.add(a);
  return n + all.bytes;
}

/** The UTF-8 lengths of artifacts' canonical texts, added up one artifact at a time. */
export class ArtifactsLength {
  bytes = 0;
  count = 0;
  private readonly measured = recurring(jsonLength);

  add(a: Artifact): void {
    this.count++;
    this.bytes += plainArtifact(a)
      ? PLAIN_ARTIFACT + this.measured(a.kind) + this.measured(a.mediaType) + jsonLength(a.name) + jsonLength(a.sha256) + String(a.size).length + this.measured(a.tenant)
      : Buffer.byteLength(canonicalize(a), 'utf8');
  }
}

/**
 * canonicalize(a) for an artifact of the shape an export makes (see plainArtifact),
 * written from its values: canonicalize's general walk (a list of keys, an order check
 * and a check of each member, for each artifact) took 0.16 to 0.18 s of an export's
 * main thread for 100,000 artifacts, and this takes 0.06 s. JCS writes strings as
 * JSON.stringify does and numbers as ECMAScript prints them, and refuses what
 * canonicalize refuses: lone surrogates, and numbers that are not finite. Kinds, media
 * types and the tenant recur: each is written once.
 */
function plainArtifactText(): (a: Artifact) => string {
  // Printable ASCII with no quote or backslash is its own JSON text, between quotes: a
  // test a third as costly as JSON.stringify for the names and digests of an export.
  const quoted = (s: string): string => {
    if (UNESCAPED_ASCII.test(s)) return `"${s}"`;
    if (!isWellFormed(s)) throw new TypeError('JCS cannot encode a lone surrogate');
    return JSON.stringify(s);
  };
  const quotedOnce = recurring(quoted);
  const number = (n: number): string => {
    if (!Number.isFinite(n)) throw new TypeError('JCS cannot encode a non-finite number');
    return String(n);
  };
  // Members in key order, each checked as it is written: a refusal is canonicalize's.
  return (a) =>
    `{"kind":${quotedOnce(a.kind)},"mediaType":${quotedOnce(a.mediaType)},"name":${quoted(a.name)},"sha256":${quoted(a.sha256)},"size":${number(a.size)},"tenant":${quotedOnce(a.tenant)}}`;
}

/** JSON.stringify(s)'s UTF-8 length: printable ASCII needing no escape is itself and two quotes. */
const jsonLength = (s: string): number => (UNESCAPED_ASCII.test(s) ? s.length + 2 : Buffer.byteLength(JSON.stringify(s), 'utf8'));
const UNESCAPED_ASCII = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/** What the six members' names and punctuation take: an artifact's text less its values. */
const PLAIN_ARTIFACT = canonicalize({ kind: '', mediaType: '', name: '', sha256: '', size: 0, tenant: '' }).length - 5 * '""'.length - '0'.length;

/**
 * Whether `a` has exactly an export's six members, five strings and a number, and no
 * other enumerable one of its own or inherited. canonicalize writes an object's own
 * enumerable members whatever its prototype (and never calls a toJSON), so such an
 * object's text is its values'.
 */
function plainArtifact(a: Artifact): boolean {
  if (typeof a !== 'object' || a === null) return false;
  let members = 0;
  for (const key in a) {
    if (!Object.hasOwn(a, key)) return false;
    members++;
  }
  return (
    members === 6 &&
    typeof a.kind === 'string' &&
    typeof a.mediaType === 'string' &&
    typeof a.name === 'string' &&
    typeof a.sha256 === 'string' &&
    typeof a.size === 'number' &&
    typeof a.tenant === 'string'
  );
}

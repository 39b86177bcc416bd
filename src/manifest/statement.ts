import type { Authorization } from '../authority/record.js';
import { canonicalize } from '../json/canonical.js';
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
 * digests is then not built.
 */
export function computeTotals(artifacts: readonly Artifact[], distinct?: number): Totals {
  let bytes = 0;
  for (const a of artifacts) bytes += a.size;
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
  const artifacts = statement.predicate.artifacts;
  const shell = canonicalize({ ...statement, predicate: { ...statement.predicate, artifacts: [] } });
  if (!Array.isArray(artifacts) || !shell.startsWith(`${HEAD}]`)) {
    yield canonicalize(statement);
    return;
  }
  yield HEAD;
  for (let k = 0; k < artifacts.length; k += RUN) {
    const run = canonicalize(artifacts.slice(k, k + RUN));
    yield k === 0 ? run.slice(1, -1) : `,${run.slice(1, -1)}`;
  }
  yield shell.slice(HEAD.length);
}

const RUN = 64;

import type { Artifact, Statement } from '../manifest/statement.js';
import { compareUtf8 } from '../bundle/layout.js';

/**
 * One side as compared: its statement and, where known, its signers. Without a trust
 * file the signers are the key ids the envelope claims; with one, the distinct keys whose
 * signatures counted. null: not comparable (a bare manifest.json carries no signatures).
 */
export interface DiffInput {
  path: string;
  form: 'bundle' | 'manifest' | 'envelope';
  statement: Statement;
  signers: string[] | null;
}

export interface ChangedArtifact {
  name: string;
  before: { sha256: string; size: number };
  after: { sha256: string; size: number };
}
export interface RenamedArtifact {
  from: string;
  to: string;
  sha256: string;
}
export interface MetadataChange {
  name: string;
  field: 'mediaType' | 'kind' | 'tenant';
  before: string;
  after: string;
}
export interface ValueChange<T> {
  before: T;
  after: T;
}

export interface SideSummary {
  form: 'bundle' | 'manifest' | 'envelope';
  tenant: string;
  createdAt: string;
  /** Sorted distinct key ids; null when the side has no envelope. */
  signers: string[] | null;
}

export interface DiffResult {
  /** Artifacts, tenant, scope or signers differ (exit 1). */
  different: boolean;
  /** Both sides were verified against a trust file before they were compared. */
  verified: boolean;
  /** In words: what was verified, or that nothing was. */
  notice: string;
  sides: { a: SideSummary; b: SideSummary };
  summary: { added: number; removed: number; changed: number; renamed: number; metadata: number };
  added: Artifact[];
  removed: Artifact[];
  changed: ChangedArtifact[];
  renamed: RenamedArtifact[];
  metadata: MetadataChange[];
  tenant: ValueChange<string> | null;
  scope: ValueChange<Record<string, string>> | null;
  /** Null when the signers are the same or could not be compared (see signersCompared). */
  signers: { added: string[]; removed: string[] } | null;
  signersCompared: boolean;
  createdAt: ValueChange<string> | null;
  exporter: ValueChange<string> | null;
}

const byName = (xs: readonly Artifact[]) => new Map(xs.map((a) => [a.name, a]));

/** Compare two manifests. Pure: the same two sides always give the same result. */
export function diffManifests(a: DiffInput, b: DiffInput, verification: { verified: boolean; notice: string }): DiffResult {
  const pa = a.statement.predicate;
  const pb = b.statement.predicate;
  const A = byName(pa.artifacts);
  const B = byName(pb.artifacts);

  const changed: ChangedArtifact[] = [];
  const metadata: MetadataChange[] = [];
  let onlyA: Artifact[] = [];
  let onlyB: Artifact[] = [];
  for (const [name, x] of A) {
    const y = B.get(name);
    if (!y) {
      onlyA.push(x);
      continue;
    }
    if (x.sha256 !== y.sha256 || x.size !== y.size) {
      changed.push({ name, before: { sha256: x.sha256, size: x.size }, after: { sha256: y.sha256, size: y.size } });
    }
    for (const field of ['mediaType', 'kind', 'tenant'] as const) {
      if (x[field] !== y[field]) metadata.push({ name, field, before: x[field], after: y[field] });
    }
  }
  for (const [name, y] of B) if (!A.has(name)) onlyB.push(y);

  // A rename is a removed and an added artifact with the same content. Pair them in name
  // order so the result does not depend on manifest order.
  const renamed: RenamedArtifact[] = [];
  const addedByDigest = new Map<string, Artifact[]>();
  for (const y of [...onlyB].sort((p, q) => compareUtf8(p.name, q.name))) {
    const list = addedByDigest.get(y.sha256) ?? [];
    list.push(y);
    addedByDigest.set(y.sha256, list);
  }
  const renamedTo = new Set<string>();
  const renamedFrom = new Set<string>();
  for (const x of [...onlyA].sort((p, q) => compareUtf8(p.name, q.name))) {
    const y = addedByDigest.get(x.sha256)?.shift();
    if (y) {
      renamed.push({ from: x.name, to: y.name, sha256: x.sha256 });
      renamedFrom.add(x.name);
      renamedTo.add(y.name);
    }
  }
  onlyA = onlyA.filter((x) => !renamedFrom.has(x.name));
  onlyB = onlyB.filter((y) => !renamedTo.has(y.name));

  const sortByName = <T extends { name: string }>(xs: T[]) => xs.sort((p, q) => compareUtf8(p.name, q.name));
  const tenant = pa.tenant !== pb.tenant ? { before: pa.tenant, after: pb.tenant } : null;
  const scopeA = JSON.stringify(sorted(pa.scope));
  const scopeB = JSON.stringify(sorted(pb.scope));
  const scope = scopeA !== scopeB ? { before: sorted(pa.scope), after: sorted(pb.scope) } : null;
  const signersCompared = a.signers !== null && b.signers !== null;
  const sa = new Set(a.signers ?? []);
  const sb = new Set(b.signers ?? []);
  const sigAdded = signersCompared ? [...sb].filter((k) => !sa.has(k)).sort() : [];
  const sigRemoved = signersCompared ? [...sa].filter((k) => !sb.has(k)).sort() : [];
  const signers = sigAdded.length || sigRemoved.length ? { added: sigAdded, removed: sigRemoved } : null;
  const createdAt = pa.createdAt !== pb.createdAt ? { before: pa.createdAt, after: pb.createdAt } : null;
  const ea = exporterOf(a.statement);
  const eb = exporterOf(b.statement);
  const exporter = ea !== eb ? { before: ea, after: eb } : null;

  const result: DiffResult = {
    different: false,
    verified: verification.verified,
    notice: verification.notice,
    sides: { a: summary(a), b: summary(b) },
    summary: { added: onlyB.length, removed: onlyA.length, changed: changed.length, renamed: renamed.length, metadata: metadata.length },
    added: sortByName(onlyB),
    removed: sortByName(onlyA),
    changed: sortByName(changed),
    renamed: renamed.sort((p, q) => compareUtf8(p.from, q.from)),
    metadata: metadata.sort((p, q) => compareUtf8(p.name, q.name) || compareUtf8(p.field, q.field)),
    tenant,
    scope,
    signers,
    signersCompared,
    createdAt,
    exporter,
  };
  result.different =
    onlyA.length + onlyB.length + changed.length + renamed.length + metadata.length > 0 || !!tenant || !!scope || !!signers;
  return result;
}

function sorted(o: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(o).sort()) if (o[k] !== undefined) out[k] = o[k]!;
  return out;
}

function summary(s: DiffInput): SideSummary {
  const p = s.statement.predicate;
  return { form: s.form, tenant: p.tenant, createdAt: p.createdAt, signers: s.signers === null ? null : [...new Set(s.signers)].sort() };
}

const exporterOf = (s: Statement) => `${s.predicate.exporter.name} ${s.predicate.exporter.version}`;

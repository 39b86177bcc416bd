import { sha256Hex, SHA256_HEX } from '../crypto/sha256.js';
import { decodeBase64Strict, IN_TOTO_PAYLOAD_TYPE, toEnvelope, verifySignature, type DsseEnvelope } from '../crypto/dsse.js';
import type { PublicKey } from '../crypto/keys.js';
import { canonicalize, parseCanonicalJsonBytes } from '../json/canonical.js';
import { JsonSyntaxError, parseStrictJsonBytes } from '../json/strict-parse.js';
import { schemaProblem } from '../manifest/schemas.js';
import { computeTotals, type Statement, type Totals } from '../manifest/statement.js';
import { parseChecksums, type ChecksumLine } from '../bundle/checksums.js';
import { BLOB_PREFIX, CHECKSUMS, ENVELOPE, MANIFEST, METADATA_ENTRIES, unsafeNameReason } from '../bundle/layout.js';
import type { TrustStore } from '../trust/trust-file.js';
import { finishReport, type CheckResult, type SignerResult, type VerifyReport } from './report.js';
import { evaluateSignatures, type SignatureCheck, type SignatureVerdict } from './signatures.js';
import { checkAuditTrail, hasAuditTrail, selectionProblem } from './audit-trail.js';
import { crossTenantProblem, evaluateCrossTenant, involvedTenants } from './cross-tenant.js';
import type { Category } from '../errors.js';
import type { Authorization } from '../authority/record.js';

export interface Seen {
  sha256: string;
  size: number;
}

export interface CheckOptions {
  bundle: string;
  /** null: integrity checks only. */
  trust: TrustStore | null;
  tenant?: string | undefined;
  at?: string | undefined;
  allowCrossTenant?: boolean | undefined;
  maxSignatures: number;
}

export interface ChecksOutcome {
  report: VerifyReport;
  statement: Statement | null;
  envelope: DsseEnvelope | null;
  payload: Buffer | null;
}

/** Files the format allows besides the metadata: anything else is refused. */
const OTHER_ALLOWED = /^(?:blobs\/sha256\/[0-9a-f]{64}|keys\/[0-9a-f]{64}\.pub|VERIFY\.md|verify\.sh|audit\/[a-z0-9][a-z0-9._-]{0,62}\.jsonl)$/;

const isMetadata = (name: string): boolean => name === MANIFEST || name === ENVELOPE || name === CHECKSUMS;

interface StatementRead {
  bytes: Buffer;
  /** Why the bytes are not JSON, or null. */
  notJson: string | null;
  canonical: boolean;
  schema: string | null;
  statement: Statement | null;
}

/**
 * Every check after the archive was read, over what the read saw: the metadata files'
 * bytes, the audit files, and the name, digest and size of every entry. The order and
 * wording of the checks is the report's. The costly steps that need only the metadata
 * (envelope, statement, signatures, checksum list) are memoised, so `precompute` can run
 * them as soon as their files are complete, on a worker while the blobs are still being
 * hashed, without changing what `finish` reports.
 */
export class BundleChecks {
  readonly meta = new Map<string, Buffer>();
  readonly auditFiles = new Map<string, Buffer>();
  private envelopeMemo: EnvelopeRead | undefined;
  /** Another thread reads the envelope (see setEnvelopeRead): precompute does not. */
  private envelopeElsewhere = false;
  private statementMemo: StatementRead | null | undefined;
  /** Statements read so far, by their bytes: manifest.json is read before the payload is known. */
  private readonly statementReads: StatementRead[] = [];
  /** Signature checks done ahead (see checkSignaturesAhead), by key id and signature. */
  private readonly checkedAhead = new Map<string, boolean>();
  private signaturesMemo: SignatureVerdict | null | undefined;
  private checksumsMemo: ChecksumLine[] | string | undefined;
  private readonly artifactMemo = new WeakMap<Statement, ArtifactFacts>();

  /** What the statement alone says of its artifacts (see ArtifactFacts); once per statement. */
  private artifactFacts(st: Statement): ArtifactFacts {
    let facts = this.artifactMemo.get(st);
    if (!facts) this.artifactMemo.set(st, (facts = artifactFactsOf(st)));
    return facts;
  }

  constructor(
    private readonly opts: CheckOptions,
    /** Every regular file of the archive in archive order (a leading "./" removed). */
    readonly entries: Map<string, Seen> = new Map(),
  ) {}

  /**
   * Run the metadata-only steps whose inputs are final. Inputs arrive once each (a second
   * copy of a metadata file is a malformed archive, reported without any of this).
   */
  precompute(): void {
    // Never throws: a step that fails is left undone, for finish() to run (and fail) in
    // its turn, only if the archive turns out readable, exactly as without this.
    try {
      // The signed payload is nearly always manifest.json itself: read that while the
      // envelope is still being read (here or elsewhere); finish() uses it only when the
      // payload turns out to be the same bytes.
      const manifest = this.meta.get(MANIFEST);
      if (manifest && this.envelopeMemo === undefined) {
        const read = this.parseStatement(manifest);
        if (read.statement) this.artifactFacts(read.statement);
      }
      if (!this.envelopeElsewhere || this.envelopeMemo !== undefined) this.signatures();
      this.checksumLines();
    } catch {
      // see above
    }
  }

  /** The envelope is read on another thread: precompute waits for setEnvelopeRead. */
  envelopeReadElsewhere(): void {
    this.envelopeElsewhere = true;
  }

  /**
   * What readEnvelope gave, on another thread, for this bundle's envelope bytes, and the
   * signature checks checkSignaturesAhead made with it there.
   */
  setEnvelopeRead(read: EnvelopeRead, checked: readonly SignatureChecked[] = []): void {
    this.envelopeMemo = read;
    for (const [keyid, sig, ok] of checked) this.checkedAhead.set(`${keyid} ${sig}`, ok);
  }

  /** Set once the archive is read: from then on, a missing file is missing for good. */
  private complete = false;

  private envelopeRead(): EnvelopeRead | null {
    const bytes = this.meta.get(ENVELOPE);
    if (!bytes) return null;
    return (this.envelopeMemo ??= readEnvelope(bytes, this.opts.maxSignatures));
  }

  /**
   * The statement is read from the signed payload, so what is checked is what was signed
   * even when manifest.json was tampered with; from manifest.json only without a payload.
   * Undefined while that cannot be decided yet (no envelope so far, more may come).
   */
  private readStatement(): StatementRead | null | undefined {
    if (this.statementMemo !== undefined) return this.statementMemo;
    const env = this.envelopeRead();
    const payload = env && typeof env !== 'string' ? env.payload : null;
    if (!env && !this.complete) return undefined;
    const bytes = payload ?? this.meta.get(MANIFEST);
    if (!bytes) return this.complete ? (this.statementMemo = null) : undefined;
    return (this.statementMemo = this.parseStatement(bytes));
  }

  /** Parse, canonical form and schema of these bytes; the same for the same bytes. */
  private parseStatement(bytes: Buffer): StatementRead {
    const known = this.statementReads.find((r) => r.bytes === bytes || r.bytes.equals(bytes));
    if (known) return known;
    const read: StatementRead = { bytes, notJson: null, canonical: false, schema: null, statement: null };
    // Nearly always canonical: then the engine's parser, checked, gives the strict result.
    let doc: unknown = parseCanonicalJsonBytes(bytes);
    const canonical = doc !== undefined;
    if (!canonical) {
      try {
        doc = parseStrictJsonBytes(bytes);
      } catch (e) {
        read.notJson = e instanceof JsonSyntaxError ? e.message : 'parse error';
      }
    }
    if (doc !== undefined) {
      read.canonical = canonical || Buffer.from(canonicalize(doc), 'utf8').equals(bytes);
      read.schema = schemaProblem('manifest', doc);
      if (!read.schema) read.statement = doc as Statement;
    }
    this.statementReads.push(read);
    return read;
  }

  /** The signature verdict, null when it is not evaluated (see finish). */
  private signatures(): SignatureVerdict | null | undefined {
    if (this.signaturesMemo !== undefined) return this.signaturesMemo;
    const trust = this.opts.trust;
    const read = this.readStatement();
    if (read === undefined) return undefined;
    const statement = read?.statement ?? null;
    const env = this.envelopeRead();
    const cross = statement?.predicate.crossTenant;
    if (!trust || !statement || !env || typeof env === 'string' || (cross && !this.opts.allowCrossTenant)) {
      return (this.signaturesMemo = null);
    }
    const at = this.opts.at ?? statement.predicate.createdAt;
    const ahead = this.checkedAhead;
    const verify: SignatureCheck = (type, payload, sig, key) => ahead.get(`${key.keyid} ${sig}`) ?? verifySignature(type, payload, sig, key);
    return (this.signaturesMemo = cross
      ? evaluateCrossTenant(env.envelope, env.payload, trust, involvedTenants(statement), at, verify)
      : evaluateSignatures(env.envelope, env.payload, trust, statement.predicate.tenant, at, verify));
  }

  private checksumLines(): ChecksumLine[] | string | null {
    const bytes = this.meta.get(CHECKSUMS);
    if (!bytes) return null;
    return (this.checksumsMemo ??= parseChecksums(bytes));
  }

  /** The report, once the archive was read (`structural`: why it could not be, or null). */
  finish(structural: string | null): ChecksOutcome {
    this.complete = true;
    const { opts, entries, meta } = this;
    const checks: CheckResult[] = [];
    const pass = (name: string, category: Category, message: string) =>
      checks.push({ name, status: 'pass', category, code: 'OK', message });
    const fail = (name: string, category: Category, code: string, message: string) =>
      checks.push({ name, status: 'fail', category, code, message });
    const skip = (name: string, category: Category, why: string) =>
      checks.push({ name, status: 'skip', category, code: 'SKIPPED', message: why });

    const base = {
      bundle: opts.bundle,
      tenant: null as string | null,
      expectedTenant: opts.tenant ?? null,
      createdAt: null as string | null,
      manifestSha256: null as string | null,
      artifacts: null as number | null,
      threshold: null as number | null,
      authorization: null as Authorization | null,
      evaluatedAt: null as string | null,
      signers: [] as SignerResult[],
      checks,
    };

    // 1. The archive.
    if (structural) {
      fail('archive', 'integrity', 'ARCHIVE_MALFORMED', structural);
      for (const [n, c] of LATER_CHECKS) skip(n, c, 'the archive could not be read');
      return { report: finishReport(base), statement: null, envelope: null, payload: null };
    }
    pass('archive', 'integrity', `${entries.size} regular files, well-formed`);

    // 2. The three metadata files.
    const missing = METADATA_ENTRIES.filter((n) => !meta.has(n));
    if (missing.length) {
      fail('metadata', 'integrity', 'METADATA_MISSING', `missing ${missing.join(', ')}`);
    } else pass('metadata', 'integrity', `${METADATA_ENTRIES.join(', ')} present`);

    // 3. Envelope.
    let envelope: DsseEnvelope | null = null;
    let payload: Buffer | null = null;
    const env = this.envelopeRead();
    if (!env) skip('envelope', 'integrity', `${ENVELOPE} is missing`);
    else if (typeof env === 'string') fail('envelope', 'integrity', 'ENVELOPE_INVALID', env);
    else {
      envelope = env.envelope;
      payload = env.payload;
      pass('envelope', 'integrity', `DSSE envelope with ${envelope.signatures.length} signature(s)`);
    }

    // 4. manifest.json is exactly the signed payload.
    const manifestBytes = meta.get(MANIFEST);
    if (!manifestBytes || !payload) skip('payload', 'integrity', 'manifest or envelope unavailable');
    else if (!manifestBytes.equals(payload)) {
      fail('payload', 'integrity', 'PAYLOAD_MISMATCH', `${MANIFEST} differs from the payload signed in ${ENVELOPE}`);
    } else pass('payload', 'integrity', `${MANIFEST} equals the signed payload`);

    // 5-6. Canonical form and schema, of the signed payload (see readStatement).
    const read = this.readStatement() as StatementRead | null;
    if (!read) {
      skip('canonical', 'integrity', 'no manifest');
      skip('schema', 'integrity', 'no manifest');
    } else if (read.notJson !== null) {
      fail('canonical', 'integrity', 'MANIFEST_NOT_JSON', `${MANIFEST} is not valid JSON: ${read.notJson}`);
      skip('schema', 'integrity', 'manifest is not JSON');
    } else {
      if (read.canonical) pass('canonical', 'integrity', 'canonical JSON (RFC 8785)');
      else fail('canonical', 'integrity', 'MANIFEST_NOT_CANONICAL', `${MANIFEST} is not canonical JSON (RFC 8785)`);
      if (read.schema) fail('schema', 'integrity', 'MANIFEST_SCHEMA', `${MANIFEST} does not match the schema: ${read.schema}`);
      else pass('schema', 'integrity', 'in-toto Statement v1 with an evidence-bundle/v1 predicate');
    }
    const statement = read?.statement ?? null;
    if (statement) {
      base.tenant = statement.predicate.tenant;
      base.createdAt = statement.predicate.createdAt;
      base.artifacts = statement.predicate.artifacts.length;
      base.authorization = statement.predicate.authorization ?? null;
      base.manifestSha256 = sha256Hex(read!.bytes);
    }

    // 7. The statement pins checksums.sha256.
    const checksumsSeen = entries.get(CHECKSUMS);
    if (!statement || !checksumsSeen) skip('subject', 'integrity', 'manifest or checksums unavailable');
    else {
      const s = statement.subject;
      if (s.length !== 1 || s[0].name !== CHECKSUMS) {
        fail('subject', 'integrity', 'SUBJECT_INVALID', `the statement's subject must be exactly ${CHECKSUMS}`);
      } else if (s[0].digest.sha256 !== checksumsSeen.sha256) {
        fail('subject', 'integrity', 'SUBJECT_MISMATCH', `${CHECKSUMS} has sha256 ${checksumsSeen.sha256}, the signed statement pins ${s[0].digest.sha256}`);
      } else pass('subject', 'integrity', `statement pins ${CHECKSUMS}`);
    }

    // 8. Every entry listed, every listing present and matching.
    let lines: ChecksumLine[] | null = null;
    const parsed = this.checksumLines();
    if (parsed === null) skip('checksums', 'integrity', `${CHECKSUMS} is missing`);
    else if (typeof parsed === 'string') fail('checksums', 'integrity', 'CHECKSUMS_INVALID', `${CHECKSUMS}: ${parsed}`);
    else {
      lines = parsed;
      const problem = compareListing(parsed, entries);
      if (problem) fail('checksums', 'integrity', problem.code, problem.message);
      else pass('checksums', 'integrity', `${parsed.length} files match ${CHECKSUMS}`);
    }

    // 9. Artifacts in the statement against the blobs actually present.
    if (!statement || !lines) skip('artifacts', 'integrity', 'manifest or checksums unavailable');
    else {
      const problem = compareArtifacts(statement, this.artifactFacts(statement), entries);
      if (problem) fail('artifacts', 'integrity', problem.code, problem.message);
      else pass('artifacts', 'integrity', `${statement.predicate.artifacts.length} artifacts, ${statement.predicate.totals.blobs} blobs, sizes and totals agree`);
    }

    // 9b. Store exports: the selection asked for, and the audit trail pinned by the manifest.
    const trail = statement && hasAuditTrail(statement, entries.keys()) ? checkAuditTrail(statement, this.auditFiles) : null;
    if (statement?.predicate.selection) {
      const problem = selectionProblem(statement);
      if (problem) fail('selection', 'integrity', problem.code, problem.message);
      else if (Object.keys(statement.predicate.selection.selectors).length === 0) pass('selection', 'integrity', 'no selector recorded: all evidence of the tenant(s) was asked for');
      else pass('selection', 'integrity', `every artifact matches the recorded selection ${JSON.stringify(statement.predicate.selection.selectors)}`);
    }
    if (trail) {
      if (trail.integrity) fail('audit', 'integrity', trail.integrity.code, trail.integrity.message);
      else pass('audit', 'integrity', trail.summary);
    }

    // 9c. A cross-tenant bundle is refused unless the reviewer allows it, and that refusal
    // comes before any signature is evaluated for the other tenants.
    const cross = statement?.predicate.crossTenant;
    const crossRefused = !!cross && !opts.allowCrossTenant;
    if (cross) {
      if (crossRefused) {
        fail('cross-tenant', 'tenant', 'CROSS_TENANT_REFUSED', `cross-tenant bundle for tenants ${cross.tenants.join(', ')} (reason: ${JSON.stringify(cross.reason)}): refused; a reviewer who must accept it passes --allow-cross-tenant`);
      } else pass('cross-tenant', 'tenant', `cross-tenant bundle for tenants ${cross.tenants.join(', ')} accepted by --allow-cross-tenant (reason: ${JSON.stringify(cross.reason)})`);
    }

    // 10. Signatures, with keys from the reviewer's trust file for the manifest's tenant only,
    // valid at the bundle's creation time unless the reviewer asks for another instant.
    if (!opts.trust) skip('signatures', 'trust', 'integrity checks only: no trust file');
    else if (!statement || !envelope || !payload) skip('signatures', 'trust', 'manifest or envelope unavailable');
    else if (crossRefused) skip('signatures', 'trust', 'not evaluated: the cross-tenant bundle was refused');
    else {
      const v = this.signatures()!;
      base.threshold = v.threshold;
      base.evaluatedAt = opts.at ?? statement.predicate.createdAt;
      base.signers = v.signers;
      if (v.ok) pass('signatures', 'trust', v.message);
      else fail('signatures', 'trust', v.code, v.message);
    }

    // 11. Tenant context.
    if (!opts.trust) skip('tenant', 'tenant', 'integrity checks only: no tenant context');
    else if (!statement) skip('tenant', 'tenant', 'manifest unavailable');
    else if (cross) {
      const problem = crossRefused ? 'the cross-tenant bundle was refused' : crossTenantProblem(statement, opts.tenant);
      if (problem) fail('tenant', 'tenant', crossRefused ? 'CROSS_TENANT_REFUSED' : 'TENANT_MISMATCH', problem);
      else pass('tenant', 'tenant', `tenants ${cross.tenants.join(', ')}${opts.tenant ? `, including ${opts.tenant} as expected` : ''}; every artifact belongs to one and is named under it`);
    } else {
      const t = statement.predicate.tenant;
      const foreign = statement.predicate.artifacts.filter((a) => a.tenant !== t);
      if (opts.tenant !== undefined && opts.tenant !== t) {
        fail('tenant', 'tenant', 'TENANT_MISMATCH', `bundle belongs to tenant ${t}, not ${opts.tenant}`);
      } else if (foreign.length) {
        fail('tenant', 'tenant', 'FOREIGN_ARTIFACT', `${foreign.length} artifact(s) belong to another tenant than ${t}, e.g. ${foreign[0]!.name} (${foreign[0]!.tenant})`);
      } else pass('tenant', 'tenant', `tenant ${t}${opts.tenant ? ' as expected' : ''}, all artifacts belong to it`);
    }
    if (trail && opts.trust) {
      if (trail.tenant) fail('audit-tenant', 'tenant', trail.tenant.code, trail.tenant.message);
      else pass('audit-tenant', 'tenant', "every audit event belongs to its file's tenant, a tenant of this bundle");
    }

    return { report: finishReport(base), statement, envelope, payload };
  }
}

const LATER_CHECKS: ReadonlyArray<[string, Category]> = [
  ['metadata', 'integrity'],
  ['envelope', 'integrity'],
  ['payload', 'integrity'],
  ['canonical', 'integrity'],
  ['schema', 'integrity'],
  ['subject', 'integrity'],
  ['checksums', 'integrity'],
  ['artifacts', 'integrity'],
  ['signatures', 'trust'],
  ['tenant', 'tenant'],
];

/** A signature of the envelope checked against a trusted key: [key id, signature, valid]. */
export type SignatureChecked = [keyid: string, sig: string, ok: boolean];

/**
 * Check each signature against the trusted keys (of any tenant) its keyid names: the
 * likely checks, each a hash of the whole payload, done before the statement says which
 * tenant and instant count. A key id is the digest of the key, so the answer is the one
 * the same check gives later; evaluateSignatures decides what counts, as ever.
 */
export function checkSignaturesAhead(read: EnvelopeRead, trust: TrustStore): SignatureChecked[] {
  if (typeof read === 'string') return [];
  const keys = new Map<string, PublicKey>();
  for (const t of trust.tenants()) for (const k of trust.keysFor(t)) keys.set(k.keyid, k);
  const out: SignatureChecked[] = [];
  for (const s of read.envelope.signatures) {
    const key = keys.get(s.keyid);
    if (key && !out.some(([id, sig]) => id === key.keyid && sig === s.sig)) {
      out.push([key.keyid, s.sig, verifySignature(read.envelope.payloadType, read.payload, s.sig, key)]);
    }
  }
  return out;
}

/** The envelope and its decoded payload, or why the envelope is not acceptable. */
export type EnvelopeRead = { envelope: DsseEnvelope; payload: Buffer } | string;

export function readEnvelope(bytes: Buffer, maxSignatures: number): EnvelopeRead {
  let doc;
  try {
    doc = parseStrictJsonBytes(bytes);
  } catch (e) {
    return `${ENVELOPE} is not valid JSON: ${e instanceof JsonSyntaxError ? e.message : 'parse error'}`;
  }
  const problem = schemaProblem('envelope', doc);
  if (problem) return `${ENVELOPE} is not a DSSE envelope: ${problem}`;
  const env = toEnvelope(doc);
  if (typeof env === 'string') return `${ENVELOPE} is not a DSSE envelope: ${env}`;
  if (env.payloadType !== IN_TOTO_PAYLOAD_TYPE) return `${ENVELOPE} has payloadType ${JSON.stringify(env.payloadType)}, expected ${IN_TOTO_PAYLOAD_TYPE}`;
  if (env.signatures.length > maxSignatures) return `${ENVELOPE} has ${env.signatures.length} signatures, over the limit of ${maxSignatures}`;
  const payload = decodeBase64Strict(env.payload);
  if (!payload) return `${ENVELOPE} payload is not valid base64`;
  return { envelope: env, payload };
}

function compareListing(lines: readonly ChecksumLine[], entries: ReadonlyMap<string, Seen>): { code: string; message: string } | null {
  const inOrder = compareInOrder(lines, entries);
  return inOrder === undefined ? compareByName(lines, entries) : inOrder;
}

/**
 * The exporter writes the other entries in the order of checksums.sha256, so the two lists
 * are usually walked side by side, name against name, without 100,000 lookups in a map of
 * 100,000 names. Undefined as soon as the orders differ: then compareByName decides.
 */
function compareInOrder(lines: readonly ChecksumLine[], entries: ReadonlyMap<string, Seen>): { code: string; message: string } | null | undefined {
  let k = 0;
  for (const [name, seen] of entries) {
    if (isMetadata(name)) continue;
    const l = lines[k++];
    if (l === undefined || l.path !== name) return undefined;
    // Every earlier line named the entry at its place: this is the first line that fails.
    if (seen.sha256 !== l.sha256) {
      return { code: 'DIGEST_MISMATCH', message: `${l.path} has sha256 ${seen.sha256}, ${CHECKSUMS} lists ${l.sha256}` };
    }
  }
  if (k !== lines.length) return undefined;
  for (const name of entries.keys()) {
    if (!isMetadata(name) && !OTHER_ALLOWED.test(name)) return { code: 'FILE_UNEXPECTED', message: `${name} is not part of the bundle format` };
  }
  return null;
}

function compareByName(lines: readonly ChecksumLine[], entries: ReadonlyMap<string, Seen>): { code: string; message: string } | null {
  for (const l of lines) {
    if (isMetadata(l.path)) {
      return { code: 'CHECKSUMS_INVALID', message: `${CHECKSUMS} must not list ${l.path}` };
    }
    const seen = entries.get(l.path);
    if (!seen) return { code: 'FILE_MISSING', message: `${l.path} is listed in ${CHECKSUMS} but missing from the bundle` };
    if (seen.sha256 !== l.sha256) {
      return { code: 'DIGEST_MISMATCH', message: `${l.path} has sha256 ${seen.sha256}, ${CHECKSUMS} lists ${l.sha256}` };
    }
  }
  // The listed paths are distinct (parseChecksums), all entries, none metadata: when there
  // are as many as there are other entries, every entry is listed, and the set of listed
  // paths, 100,000 strings for a large bundle, need not be built.
  let others = entries.size;
  for (const m of METADATA_ENTRIES) if (entries.has(m)) others--;
  const listed = lines.length === others ? null : new Set(lines.map((l) => l.path));
  for (const name of entries.keys()) {
    if (isMetadata(name)) continue;
    if (listed && !listed.has(name)) return { code: 'FILE_UNLISTED', message: `${name} is in the bundle but not listed in ${CHECKSUMS}` };
    if (!OTHER_ALLOWED.test(name)) return { code: 'FILE_UNEXPECTED', message: `${name} is not part of the bundle format` };
  }
  return null;
}

/**
 * Everything about the artifacts that the statement alone decides, worked out while the
 * blobs may still be hashed: the first artifact whose name is unsafe or repeated, the
 * entry name of each artifact's blob (built and hashed now, so the lookups later are
 * quick), the digests referenced and the totals they make.
 */
interface ArtifactFacts {
  nameProblem: { index: number; code: string; message: string } | null;
  blobNames: string[];
  referenced: Set<string>;
  allHex: boolean;
  totals: Totals;
}

function artifactFactsOf(st: Statement): ArtifactFacts {
  const artifacts = st.predicate.artifacts;
  const names = new Set<string>();
  const referenced = new Set<string>();
  const blobNames: string[] = new Array(artifacts.length);
  let nameProblem: ArtifactFacts['nameProblem'] = null;
  let allHex = true;
  for (let k = 0; k < artifacts.length; k++) {
    const a = artifacts[k]!;
    if (nameProblem === null) {
      const why = unsafeNameReason(a.name);
      if (why) nameProblem = { index: k, code: 'ARTIFACT_NAME', message: `artifact name ${JSON.stringify(a.name)} is unsafe (${why})` };
      else if (names.has(a.name)) nameProblem = { index: k, code: 'ARTIFACT_DUPLICATE', message: `artifact ${a.name} is listed twice` };
      else names.add(a.name);
    }
    blobNames[k] = BLOB_PREFIX + a.sha256;
    if (!referenced.has(a.sha256)) {
      referenced.add(a.sha256);
      if (!SHA256_HEX.test(a.sha256)) allHex = false;
    }
  }
  // Flattened and hashed here: the string keys of the lookups in compareArtifacts.
  new Set(blobNames);
  return { nameProblem, blobNames, referenced, allHex, totals: computeTotals(artifacts) };
}

/**
 * The artifacts against the blobs present, reporting the first problem in artifact order
 * (an artifact's name before its blob), then unreferenced blobs, then the totals.
 */
function compareArtifacts(st: Statement, facts: ArtifactFacts, entries: ReadonlyMap<string, Seen>): { code: string; message: string } | null {
  const p = st.predicate;
  const upTo = facts.nameProblem?.index ?? p.artifacts.length;
  for (let k = 0; k < upTo; k++) {
    const a = p.artifacts[k]!;
    const blob = entries.get(facts.blobNames[k]!);
    if (!blob) return { code: 'BLOB_MISSING', message: `artifact ${a.name}: blob ${BLOB_PREFIX}${a.sha256} is missing` };
    if (blob.sha256 !== a.sha256) return { code: 'DIGEST_MISMATCH', message: `artifact ${a.name}: blob content has sha256 ${blob.sha256}` };
    if (blob.size !== a.size) return { code: 'SIZE_MISMATCH', message: `artifact ${a.name}: manifest says ${a.size} bytes, the blob has ${blob.size}` };
  }
  if (facts.nameProblem) return { code: facts.nameProblem.code, message: facts.nameProblem.message };
  // Every referenced digest names a blob entry (else BLOB_MISSING above): as many blob
  // entries as referenced digests, all well-formed, means none is unreferenced.
  let blobs = 0;
  for (const name of entries.keys()) if (name.startsWith(BLOB_PREFIX)) blobs++;
  if (!facts.allHex || blobs !== facts.referenced.size) {
    for (const name of entries.keys()) {
      if (name.startsWith(BLOB_PREFIX)) {
        const hex = name.slice(BLOB_PREFIX.length);
        if (!SHA256_HEX.test(hex) || !facts.referenced.has(hex)) return { code: 'BLOB_UNREFERENCED', message: `${name} belongs to no artifact in the manifest` };
      }
    }
  }
  const t = facts.totals;
  if (t.artifacts !== p.totals.artifacts || t.blobs !== p.totals.blobs || t.bytes !== p.totals.bytes) {
    return { code: 'TOTALS_MISMATCH', message: `manifest totals ${JSON.stringify(p.totals)} disagree with its artifacts ${JSON.stringify(t)}` };
  }
  return null;
}

/**
 * Recognise common evidence formats by content, not by file name: a renamed SBOM is
 * still an SBOM, and a file called sbom.json that is not one must not be labelled so.
 * Only the bytes and the name go in, so classification is deterministic.
 */
import { utf8Text } from '../json/strict-parse.js';

export interface Classification {
  kind: string;
  mediaType: string;
}

export const KINDS = ['sbom', 'vex', 'scan-result', 'attestation', 'policy-decision', 'audit-log', 'log', 'file'] as const;

/** JSON documents up to this size are parsed to recognise their format. */
export const CLASSIFY_MAX_BYTES = 16 * 1024 * 1024;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

export function classifyJson(doc: unknown): Classification | null {
  if (!isObj(doc)) return null;
  if (doc.bomFormat === 'CycloneDX') return { kind: 'sbom', mediaType: 'application/vnd.cyclonedx+json' };
  if (typeof doc.spdxVersion === 'string' && doc.spdxVersion.startsWith('SPDX-')) {
    return { kind: 'sbom', mediaType: 'application/spdx+json' };
  }
  const ctx = doc['@context'];
  if (typeof ctx === 'string' && ctx.startsWith('https://openvex.dev/ns')) {
    return { kind: 'vex', mediaType: 'application/openvex+json' };
  }
  if (isObj(doc.document) && typeof doc.document.csaf_version === 'string') {
    const vex = doc.document.category === 'csaf_vex';
    return { kind: vex ? 'vex' : 'advisory', mediaType: 'application/csaf+json' };
  }
  if (Array.isArray(doc.runs) && typeof doc.version === 'string' && doc.version.startsWith('2.')) {
    return { kind: 'scan-result', mediaType: 'application/sarif+json' };
  }
  if (typeof doc._type === 'string' && doc._type.startsWith('https://in-toto.io/Statement/')) {
    return { kind: 'attestation', mediaType: 'application/vnd.in-toto+json' };
  }
  if (typeof doc.payloadType === 'string' && typeof doc.payload === 'string' && Array.isArray(doc.signatures)) {
    return { kind: 'attestation', mediaType: 'application/vnd.dsse.envelope.v1+json' };
  }
  if (typeof doc.verdict === 'string' && (isObj(doc.policy) || typeof doc.policyId === 'string')) {
    return { kind: 'policy-decision', mediaType: 'application/json' };
  }
  return null;
}

const BY_EXTENSION: ReadonlyArray<[RegExp, Classification]> = [
  [/\.jsonl$|\.ndjson$/i, { kind: 'file', mediaType: 'application/x-ndjson' }],
  [/\.json$/i, { kind: 'file', mediaType: 'application/json' }],
  [/\.log$/i, { kind: 'log', mediaType: 'text/plain' }],
  [/\.(txt|md)$/i, { kind: 'file', mediaType: 'text/plain' }],
  [/\.xml$/i, { kind: 'file', mediaType: 'application/xml' }],
  [/\.(tar)$/i, { kind: 'file', mediaType: 'application/x-tar' }],
  [/\.(tgz|gz)$/i, { kind: 'file', mediaType: 'application/gzip' }],
  [/\.(pem|crt)$/i, { kind: 'file', mediaType: 'application/x-pem-file' }],
];

/**
 * The bytes after a UTF-8 byte order mark, if one leads. Tools on Windows write one before
 * JSON, and RFC 8259 lets a parser ignore it: an SBOM saved so is still an SBOM. The
 * artifact's bytes, and so its digest, keep the mark; only its label looks past it.
 */
const afterBom = (b: Uint8Array): Uint8Array => (b.length >= 3 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf ? b.subarray(3) : b);

const firstNonSpace = (b: Uint8Array): number => {
  for (const c of b) if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return c;
  return -1;
};

/**
 * Whether classify() would look past the name, judging by the first bytes: JSON (which
 * it parses) or a .jsonl/.ndjson name (whose first line it reads). Other files need not
 * be held whole, so a reader can stream them in small chunks.
 */
export function classifyWantsContent(name: string, head: Uint8Array): boolean {
  if (/\.jsonl$|\.ndjson$/i.test(name)) return true;
  const c = firstNonSpace(afterBom(head));
  return c === -1 || (c === 0x7b && !hasControlByte(head));
}

/**
 * JSON text holds no control character but tab, line feed and carriage return (RFC 8259):
 * binary data that happens to start with "{" (one file in 256 of random bytes) shows one
 * within its first bytes, and is not held whole or decoded.
 */
function hasControlByte(b: Uint8Array): boolean {
  for (let k = 0; k < b.length; k++) {
    const x = b[k]!;
    if (x < 0x20 && x !== 0x09 && x !== 0x0a && x !== 0x0d) return true;
  }
  return false;
}

/**
 * `content` is the whole file when it is at most CLASSIFY_MAX_BYTES, else null (large
 * files are classified by name only, to keep memory flat).
 */
export function classify(name: string, content: Uint8Array | null): Classification {
  const body = content && afterBom(content);
  if (body && firstNonSpace(body) === 0x7b && !hasControlByte(body)) {
    // JSON is UTF-8 (RFC 8259): anything else is not JSON.
    const text = utf8Text(body);
    try {
      const found = text === null ? null : classifyJson(JSON.parse(text));
      if (found) return found;
    } catch {
      /* not JSON after all: fall through to the name */
    }
  }
  if (body && /\.jsonl$|\.ndjson$/i.test(name) && looksLikeAuditLog(body)) {
    return { kind: 'audit-log', mediaType: 'application/x-ndjson' };
  }
  for (const [re, c] of BY_EXTENSION) if (re.test(name)) return c;
  return { kind: 'file', mediaType: 'application/octet-stream' };
}

function looksLikeAuditLog(content: Uint8Array): boolean {
  const first = Buffer.from(content.subarray(0, 4096)).toString('utf8').split('\n', 1)[0] ?? '';
  try {
    const ev = JSON.parse(first) as unknown;
    return isObj(ev) && 'tenant' in ev && ('action' in ev || 'type' in ev || 'event' in ev);
  } catch {
    return false;
  }
}

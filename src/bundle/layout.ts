import { PRINTABLE_ASCII } from '../util/utf8.js';

/** Names and rules of the bundle format (docs/bundle-format.md). */
export const MANIFEST = 'manifest.json';
export const ENVELOPE = 'manifest.dsse.json';
export const CHECKSUMS = 'checksums.sha256';
export const VERIFY_DOC = 'VERIFY.md';
export const VERIFY_SCRIPT = 'verify.sh';
export const BLOB_PREFIX = 'blobs/sha256/';
export const KEY_PREFIX = 'keys/';

/** Written first, in this order, so a streaming reader has the manifest before any content. */
export const METADATA_ENTRIES = [MANIFEST, ENVELOPE, CHECKSUMS] as const;

export const blobPath = (hex: string): string => BLOB_PREFIX + hex;
export const keyPath = (keyid: string): string => `${KEY_PREFIX}${keyid}.pub`;

/** Ascending order of the UTF-8 bytes, independent of locale and of UTF-16 quirks. */
export function compareUtf8(a: string, b: string): number {
  // Below U+D800, UTF-16 code units sort as UTF-8 bytes do; only surrogates and
  // U+E000..U+FFFF disagree, so those go the slow way. Sorting 100,000 names no longer
  // allocates two buffers per comparison (seconds of an export's profile).
  const n = Math.min(a.length, b.length);
  for (let k = 0; k < n; k++) {
    const x = a.charCodeAt(k);
    const y = b.charCodeAt(k);
    if (x === y) continue;
    if (x >= 0xd800 || y >= 0xd800) break;
    return x < y ? -1 : 1;
  }
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/**
 * Sort in place by compareUtf8 of a key. When no key holds a code unit at or above
 * U+D800, UTF-16 order is UTF-8 byte order and the engine's own string comparison
 * applies: 100,000 blob names sort several times faster than through compareUtf8.
 */
export function sortByUtf8<T>(items: T[], key: (t: T) => string): T[] {
  if (items.some((t) => ORDERS_DIFFER.test(key(t)))) return items.sort((x, y) => compareUtf8(key(x), key(y)));
  return items.sort((x, y) => {
    const a = key(x);
    const b = key(y);
    return a < b ? -1 : a > b ? 1 : 0;
  });
}

/**
 * `sorted` (already in compareUtf8 order of the key, no key twice: an export's blobs, by
 * digest) and `others` (a few, any order) as one list in that order. Sorting 100,000 items that are
 * nearly in order still costs a check of every key and a comparison each; this sorts the
 * few and merges.
 */
export function mergeByUtf8<T>(sorted: readonly T[], others: T[], key: (t: T) => string): T[] {
  // Checked, not trusted: one comparison an item, against the sort's many.
  for (let k = 1; k < sorted.length; k++) {
    if (compareUtf8(key(sorted[k - 1]!), key(sorted[k]!)) >= 0) throw new Error(`mergeByUtf8: ${JSON.stringify(key(sorted[k]!))} is out of order`);
  }
  const few = sortByUtf8(others, key);
  const out: T[] = new Array(sorted.length + few.length);
  let i = 0;
  let j = 0;
  for (let k = 0; k < out.length; k++) {
    out[k] = j === few.length || (i < sorted.length && compareUtf8(key(sorted[i]!), key(few[j]!)) <= 0) ? sorted[i++]! : few[j++]!;
  }
  return out;
}

/**
 * How many blobs (their digests, sorted) have a path, blobs/sha256/<digest>, that sorts
 * before `path` by compareUtf8; null when one has exactly that path. Where another file
 * goes among a bundle's blobs, without a path string for each of them.
 */
export function blobsBefore(blobs: readonly string[], path: string): number | null {
  let lo = 0;
  let hi = blobs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const c = compareUtf8(path, blobPath(blobs[mid]!));
    if (c === 0) return null;
    if (c > 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Code units where UTF-16 and UTF-8 order can disagree. */
const ORDERS_DIFFER = /[\ud800-\uffff]/;

/**
 * Why a path is not safe as a bundle entry or logical name, or null when it is.
 * Relative, `/`-separated, no empty, `.` or `..` segments, no backslash, no control
 * characters, no drive letters, NFC-normalised, at most 4096 bytes.
 */
export function unsafeNameReason(name: string): string | null {
  // Printable ASCII is NFC and one byte per character: one pass of two regular
  // expressions decides it (100,000 names per export); anything else, or any name
  // with a problem, takes the full check, which words the reason.
  if (name.length <= 4096 && PRINTABLE_ASCII.test(name) && !PLAIN_PROBLEM.test(name)) return null;
  return unsafeNameReasonFull(name);
}

export { PRINTABLE_ASCII };
// Leading slash, drive letter, backslash, or an empty, "." or ".." segment.
const PLAIN_PROBLEM = /^\/|^[A-Za-z]:|\\|(?:^|\/)\.{0,2}(?:\/|$)/;

export function unsafeNameReasonFull(name: string): string | null {
  if (name.length === 0) return 'empty name';
  if (Buffer.byteLength(name, 'utf8') > 4096) return 'name longer than 4096 bytes';
  if (name.startsWith('/')) return 'absolute path';
  if (/^[A-Za-z]:/.test(name)) return 'drive letter';
  if (name.includes('\\')) return 'backslash in name';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f]/.test(name)) return 'control character in name';
  if (name !== name.normalize('NFC')) return 'name is not in Unicode NFC form';
  for (const seg of name.split('/')) {
    if (seg === '') return 'empty path segment';
    if (seg === '.' || seg === '..') return `"${seg}" path segment`;
  }
  return null;
}

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
 * Where a bundle's few other files go among its blobs, in the order of their paths by
 * compareUtf8: the others sorted, and for each how many blobs have a path,
 * blobs/sha256/<digest>, that sorts before its own. The blobs are given as their digests,
 * sorted (lowercase hex, which the checksum list checks before a bundle is signed): no
 * path string or object is made for each of 100,000 of them. Every writer of that order
 * (the checksum list, the archive placed by offsets, the archive written in sequence)
 * places its entries by this. Throws on blobs out of order and on a path listed twice,
 * among the others or as a blob's.
 */
export function placeAmongBlobs<T>(blobs: readonly string[], others: readonly T[], path: (t: T) => string): { sorted: T[]; places: number[] } {
  // Checked, not trusted: one comparison a blob.
  for (let k = 1; k < blobs.length; k++) {
    if (!(blobs[k - 1]! < blobs[k]!)) throw new Error(`blob ${blobs[k]} is out of order or listed twice`);
  }
  const sorted = sortByUtf8([...others], path);
  const places = sorted.map((t, k) => {
    if (k > 0 && compareUtf8(path(sorted[k - 1]!), path(t)) === 0) throw new Error(`${path(t)} is listed twice`);
    let lo = 0;
    let hi = blobs.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const c = compareUtf8(path(t), blobPath(blobs[mid]!));
      if (c === 0) throw new Error(`${path(t)} is listed twice`);
      if (c > 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  });
  return { sorted, places };
}

/** One item per blob (in the blobs' order) and the others placed by placeAmongBlobs, as one list in order. */
export function amongBlobs<B, T>(blobItems: readonly B[], placed: { sorted: readonly T[]; places: readonly number[] }): (B | T)[] {
  const out: (B | T)[] = [];
  let j = 0;
  for (let i = 0; i <= blobItems.length; i++) {
    for (; j < placed.sorted.length && placed.places[j] === i; j++) out.push(placed.sorted[j]!);
    if (i < blobItems.length) out.push(blobItems[i]!);
  }
  return out;
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

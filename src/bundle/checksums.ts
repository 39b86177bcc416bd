import { SHA256_HEX } from '../crypto/sha256.js';
import { compareUtf8, sortByUtf8 } from './layout.js';
import { utf8Length, writePieces } from '../util/utf8.js';

export interface ChecksumLine {
  path: string;
  sha256: string;
}

/** `sha256sum -c` format: hex, two spaces (text mode marker), path, LF; sorted by path bytes. */
export function formatChecksums(lines: readonly ChecksumLine[]): Buffer {
  const sorted = sortByUtf8([...lines], (l) => l.path);
  const size = checksumsLength(sorted);
  const out = Buffer.allocUnsafe(size);
  const at = writePieces(out, 0, checksumsPieces(sorted));
  if (at !== size) throw new Error(`checksums: ${at} bytes written, ${size} expected`);
  return out;
}

/** Bytes of the list's text, without making it. */
export function checksumsLength(lines: readonly ChecksumLine[]): number {
  let size = 0;
  for (const l of lines) size += utf8Length(l.sha256) + 3 + utf8Length(l.path);
  return size;
}

/**
 * The text of lines already in the list's order (by path bytes), a few hundred lines a piece.
 * Short strings live and die in the young generation, whose memory is reused: the whole
 * text as one string (14 MB for 100,000 blobs) would take fresh memory three times over
 * (its pieces, their flattened copy, a buffer), and a first touch of a page costs about
 * 14 µs on this project's virtual machine. An export writes the pieces to the bundle
 * through the buffer it writes everything with.
 */
export function* checksumsPieces(sorted: readonly ChecksumLine[]): Generator<string> {
  for (let k = 0; k < sorted.length; k += RUN) {
    let text = '';
    const end = Math.min(k + RUN, sorted.length);
    for (let j = k; j < end; j++) text += `${sorted[j]!.sha256}  ${sorted[j]!.path}\n`;
    yield text;
  }
}

const RUN = 256;

/**
 * Parse exactly the form we write. Anything else (binary-mode `*`, CRLF, escapes,
 * unsorted or duplicate paths) is refused: the file is signed, so there is one right form.
 */
export function parseChecksums(bytes: Uint8Array): ChecksumLine[] | string {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return 'not valid UTF-8';
  }
  if (text.length > 0 && !text.endsWith('\n')) return 'last line does not end with a newline';
  const out: ChecksumLine[] = [];
  const lines = text.split('\n');
  lines.pop();
  for (let k = 0; k < lines.length; k++) {
    const line = lines[k]!;
    const hex = line.slice(0, 64);
    if (line.length < 67 || !SHA256_HEX.test(hex) || line.slice(64, 66) !== '  ') {
      return `line ${k + 1} is not "<sha256 hex>  <path>"`;
    }
    const path = line.slice(66);
    if (out.length && compareUtf8(out[out.length - 1]!.path, path) >= 0) {
      return `line ${k + 1}: paths are not sorted and unique`;
    }
    out.push({ path, sha256: hex });
  }
  return out;
}

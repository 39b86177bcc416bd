import { SHA256_HEX } from '../crypto/sha256.js';
import { blobPath, compareUtf8, placeAmongBlobs } from './layout.js';
import { utf8Length, writePieces } from '../util/utf8.js';

export interface ChecksumLine {
  path: string;
  sha256: string;
}

/** `sha256sum -c` format: hex, two spaces (text mode marker), path, LF; sorted by path bytes. */
export function formatChecksums(lines: readonly ChecksumLine[]): Buffer {
  const list = new ChecksumList([], lines);
  const out = Buffer.allocUnsafe(list.bytes);
  const at = writePieces(out, 0, list.pieces());
  if (at !== list.bytes) throw new Error(`checksums: ${at} bytes written, ${list.bytes} expected`);
  return out;
}

/**
 * A bundle's checksum list: a line per blob, named by its digest, and the other files'
 * lines, in path order. The blobs are given as their digests, sorted: 100,000 of them need
 * no line object or path string each (an export made those while its threads waited), as
 * their lines are made from the digests as the text is, and their size is arithmetic.
 */
export class ChecksumList {
  /** Bytes of the list's text, known without making it. */
  readonly bytes: number;
  private readonly others: readonly ChecksumLine[];
  /** For each of `others`, how many blob lines come before it. */
  private readonly placeOf: readonly number[];

  constructor(
    private readonly blobs: readonly string[],
    others: readonly ChecksumLine[],
  ) {
    // The digests are checked as their lines are first made (see pieces): lowercase hex
    // sorts by the engine's comparison as by UTF-8 bytes, and makes every blob line the
    // same length. An export makes this list once its pool has jobs, and a check of
    // 100,000 digests here (30 ms in one go) kept the threads from getting more.
    const { sorted, places } = placeAmongBlobs(blobs, others, (l) => l.path);
    this.others = sorted;
    this.placeOf = places;
    this.bytes = ChecksumList.bytesOf(blobs.length, sorted);
  }

  /**
   * Bytes of the text of a list of `blobs` blobs and `others`, from their count and those
   * lines alone: an export places every entry before it makes (and checks) the list.
   */
  static bytesOf(blobs: number, others: readonly ChecksumLine[]): number {
    // A blob's line: its digest, two spaces, its path, a newline.
    let bytes = blobs * (64 + 2 + blobPath('').length + 64 + 1);
    for (const l of others) bytes += utf8Length(l.sha256) + 3 + utf8Length(l.path);
    return bytes;
  }

  /**
   * The text, a few hundred lines a piece. Short strings live and die in the young
   * generation, whose memory is reused: the whole text as one string (14 MB for 100,000
   * blobs) would take fresh memory three times over (its pieces, their flattened copy, a
   * buffer), and a first touch of a page costs about 14 µs on this project's virtual
   * machine. An export writes the pieces to the bundle through the buffer it writes
   * everything with.
   */
  *pieces(): Generator<string> {
    const { blobs, others, placeOf } = this;
    const lines = blobs.length + others.length;
    // Until one pass has made every line, each blob's digest is checked before its line
    // is given out: no text is made from a digest that is not 64 lowercase hex digits.
    const check = !this.checked;
    let text = '';
    for (let n = 0, i = 0, j = 0; n < lines; n++) {
      // Blob i's line, unless another file's comes before it.
      if (j < others.length && placeOf[j] === i) {
        text += `${others[j]!.sha256}  ${others[j]!.path}\n`;
        j++;
      } else {
        const hex = blobs[i]!;
        if (check && !SHA256_HEX.test(hex)) throw new Error(`checksums: blob ${JSON.stringify(hex)} is not a SHA-256 digest`);
        text += `${hex}  ${blobPath(hex)}\n`;
        i++;
      }
      if ((n + 1) % RUN === 0 || n + 1 === lines) {
        yield text;
        text = '';
      }
    }
    this.checked = true;
  }

  /** Every blob's digest has passed the check in pieces(). */
  private checked = false;
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

import { integrityError } from '../errors.js';
import { compareUtf8, unsafeNameReason } from '../bundle/layout.js';
import type { Artifact } from '../manifest/statement.js';

/**
 * The key two names share when a file system could take them for the same file: Unicode
 * NFC normalisation and case folding (upper then lower case, so that e.g. "ß" and "SS"
 * meet). It folds more than some file systems do; refusing a name too many is the safe
 * side, and the result is then the same on every file system.
 */
export function foldName(name: string): string {
  return name.normalize('NFC').toUpperCase().toLowerCase().normalize('NFC');
}

export interface ExtractionPlan {
  /** Directories to create, parents first. */
  dirs: string[];
  /** Files to write, grouped by the blob that holds their content. */
  byBlob: Map<string, Artifact[]>;
}

/**
 * Check every logical name before anything is written: each must stay inside the target
 * directory, and no two may meet, either as files or as a file and a directory, exactly
 * or after folding. Violations are integrity failures (exit 1): a signed manifest that
 * cannot be laid out safely is not extracted at all.
 */
export function planExtraction(artifacts: readonly Artifact[]): ExtractionPlan {
  const files = new Map<string, string>();
  const dirs = new Map<string, string>();
  const refuse = (code: string, message: string) => integrityError(code, `${message}: nothing was extracted`);
  for (const a of artifacts) {
    const why = unsafeNameReason(a.name);
    if (why) throw refuse('ARTIFACT_NAME', `artifact name ${JSON.stringify(a.name)} would escape the target directory or is unsafe (${why})`);
    const key = foldName(a.name);
    const other = files.get(key);
    if (other !== undefined) {
      throw refuse(
        'ARTIFACT_COLLISION',
        other === a.name
          ? `artifact name ${JSON.stringify(a.name)} appears twice`
          : `artifact names ${JSON.stringify(other)} and ${JSON.stringify(a.name)} are the same file on a case-insensitive or normalising file system`,
      );
    }
    files.set(key, a.name);
    const segs = a.name.split('/');
    for (let k = 1; k < segs.length; k++) {
      const dir = segs.slice(0, k).join('/');
      const dkey = foldName(dir);
      const seen = dirs.get(dkey);
      if (seen !== undefined && seen !== dir) {
        throw refuse('ARTIFACT_COLLISION', `directories ${JSON.stringify(seen)} and ${JSON.stringify(dir)} are the same on a case-insensitive or normalising file system`);
      }
      dirs.set(dkey, dir);
    }
  }
  for (const [key, dir] of dirs) {
    const file = files.get(key);
    if (file !== undefined) {
      throw refuse('ARTIFACT_COLLISION', `artifact ${JSON.stringify(file)} is a file, but other artifacts need a directory ${JSON.stringify(dir)} there`);
    }
  }
  const byBlob = new Map<string, Artifact[]>();
  for (const a of artifacts) {
    const list = byBlob.get(a.sha256) ?? [];
    list.push(a);
    byBlob.set(a.sha256, list);
  }
  const ordered = [...dirs.values()].sort((a, b) => a.split('/').length - b.split('/').length || compareUtf8(a, b));
  return { dirs: ordered, byBlob };
}

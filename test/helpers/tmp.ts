import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const made: string[] = [];

/** A fresh directory under the system temp dir; removeTempDirs() deletes all of them. */
export function tempDir(prefix = 'stella-e2e-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  made.push(d);
  return d;
}

export function removeTempDirs(): void {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
}

/** Copy a tree (contents, not timestamps or modes: cpSync does not preserve them). */
export function copyTree(src: string, dst: string): string {
  cpSync(src, dst, { recursive: true });
  return dst;
}

/** All entries of a directory, sorted: used to prove a failed command left nothing behind. */
export function listDir(dir: string): string[] {
  return readdirSync(dir).sort();
}

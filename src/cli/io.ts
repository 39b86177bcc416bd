import { readFileSync } from 'node:fs';
import { canonicalize } from '../json/canonical.js';
import { usageError } from '../errors.js';
import { removeTemporariesOnSignal } from '../util/atomic-file.js';

// Every command imports this module. SIGINT and SIGTERM end the process as usual; one
// that comes while an output is being written first removes its temporary files.
removeTemporariesOnSignal((sig) => {
  process.stderr.write(`stella-evidence: interrupted by ${sig}; nothing was written\n`);
  process.exit(sig === 'SIGINT' ? 130 : 143);
});

/** JSON on stdout is canonical (sorted keys), so two reports diff cleanly. */
export function printJson(value: unknown): void {
  process.stdout.write(canonicalize(value) + '\n');
}

export function out(line = ''): void {
  process.stdout.write(line + '\n');
}

/** Warnings, errors and progress go to stderr, always. */
export function warn(line: string): void {
  process.stderr.write(`stella-evidence: warning: ${line}\n`);
}

export function readTextFile(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw usageError('FILE_UNREADABLE', code === 'ENOENT' ? `${what} ${path} does not exist` : `cannot read ${what} ${path} (${code})`);
  }
}

/** Passphrase from --passphrase-file, else STELLA_EVIDENCE_PASSPHRASE; never echoed anywhere. */
export function passphraseFrom(file: string | undefined): string | undefined {
  if (file !== undefined) {
    const text = readTextFile(file, 'passphrase file').replace(/\r?\n$/, '');
    if (text === '') throw usageError('PASSPHRASE_EMPTY', `passphrase file ${file} is empty`);
    return text;
  }
  const env = process.env.STELLA_EVIDENCE_PASSPHRASE;
  return env === undefined || env === '' ? undefined : env;
}

export function humanBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(1)} ${units[u]}`;
}

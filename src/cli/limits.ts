import { usageError } from '../errors.js';
import type { VerifyLimits } from '../verify/verifier.js';

const UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** `123`, `64G`, `512MiB`: binary units, whole numbers only. */
export function parseSize(text: string, flag: string): number {
  const m = /^([0-9]{1,15})\s*([kmgt]?)(?:i?b)?$/i.exec(text.trim());
  const v = m ? Number(m[1]) * UNITS[m[2]!.toLowerCase()]! : NaN;
  if (!Number.isSafeInteger(v) || v <= 0) {
    throw usageError('USAGE', `${flag} must be a positive size such as 68719476736, 64G or 512MiB (got ${JSON.stringify(text)})`);
  }
  return v;
}

/** The reader limits a reviewer may raise for a genuine, unusually large bundle. */
export function limitsFromFlags(o: { maxArchiveBytes?: string; maxEntries?: string }): Partial<VerifyLimits> {
  const limits: Partial<VerifyLimits> = {};
  if (o.maxArchiveBytes !== undefined) limits.maxArchiveBytes = parseSize(o.maxArchiveBytes, '--max-archive-bytes');
  if (o.maxEntries !== undefined) {
    if (!/^[1-9][0-9]{0,9}$/.test(o.maxEntries)) throw usageError('USAGE', '--max-entries must be a positive whole number');
    limits.maxEntries = Number(o.maxEntries);
  }
  return limits;
}

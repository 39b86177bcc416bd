import { usageError } from '../errors.js';
import { isWellFormed } from '../json/strict-parse.js';

/**
 * Labels are free-form metadata on a record. They never become paths; the name is still a
 * slug so that `label.NAME` selectors and manifests stay unambiguous, and the value is any
 * short printable text (a value such as `../x` is data, nothing more).
 */
export const LABEL_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;
export const KIND_PATTERN = /^[a-z][a-z0-9-]{0,63}$/;
const MAX_VALUE = 256;
/**
 * A label named like the tenant would read as a second tenant claim (and every "tenant"
 * member of a manifest is counted by the bundle's POSIX verify.sh).
 */
const RESERVED_LABEL = 'tenant';

export function labelValueProblem(v: string): string | null {
  if (v.length === 0) return 'is empty';
  if (v.length > MAX_VALUE) return `is longer than ${MAX_VALUE} characters`;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f]/.test(v)) return 'contains a control character';
  if (v !== v.normalize('NFC')) return 'is not in Unicode NFC form';
  if (!isWellFormed(v)) return 'is not well-formed Unicode';
  return null;
}

export function parseLabelArgs(pairs: readonly string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    const name = eq < 0 ? pair : pair.slice(0, eq);
    const value = eq < 0 ? '' : pair.slice(eq + 1);
    if (!LABEL_NAME.test(name)) {
      throw usageError('LABEL_INVALID', `invalid --label ${JSON.stringify(pair)}: the name must match [a-z0-9][a-z0-9._-]{0,62}`);
    }
    if (name === RESERVED_LABEL) {
      throw usageError('LABEL_INVALID', `invalid --label ${JSON.stringify(pair)}: "${RESERVED_LABEL}" is reserved, a label must never look like the record's tenant`);
    }
    const problem = labelValueProblem(value);
    if (problem) throw usageError('LABEL_INVALID', `invalid --label ${JSON.stringify(pair)}: the value ${problem}`);
    if (Object.hasOwn(labels, name) && labels[name] !== value) {
      throw usageError('LABEL_INVALID', `--label ${name} given twice with different values`);
    }
    Object.defineProperty(labels, name, { value, enumerable: true, writable: true, configurable: true });
  }
  return sortedRecord(labels);
}

export function parseKind(k: string): string {
  if (!KIND_PATTERN.test(k)) throw usageError('KIND_INVALID', `invalid --kind ${JSON.stringify(k)}: use a lowercase word such as sbom, vex, scan-result`);
  return k;
}

/** Keys in a fixed order, own properties only (a label named __proto__ stays a label). */
export function sortedRecord(o: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(o).sort()) Object.defineProperty(out, k, { value: o[k], enumerable: true, writable: true, configurable: true });
  return out;
}

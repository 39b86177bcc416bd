import { usageError } from '../errors.js';
import { parseRfc3339 } from '../util/time.js';
import { SCOPE_NAMES } from '../util/tenant.js';
import { compareUtf8 } from '../bundle/layout.js';
import { LABEL_NAME, labelValueProblem } from './labels.js';

/**
 * Which records an export or a listing asks for. `kind` selects on the kind, the sub-scope
 * names on the sub-scope, anything else on a label (written `label.NAME` or plain `NAME`).
 * Values for the same key are alternatives; different keys must all match. The normal form
 * (`label.` prefix always spelled out, values sorted and unique) is what a manifest records,
 * and it is plain data so a caller (ABAC, issue 4) can narrow it before the store applies it.
 */
export interface Selection {
  /** Normal-form key -> accepted values (sorted, unique). */
  selectors: Record<string, string[]>;
  /** Inclusive bounds on the ingest time, RFC 3339 UTC. */
  since?: string;
  until?: string;
}

export const LABEL_PREFIX = 'label.';

export function normaliseSelectorKey(raw: string): string {
  if (raw === 'kind' || (SCOPE_NAMES as readonly string[]).includes(raw)) return raw;
  const label = raw.startsWith(LABEL_PREFIX) ? raw.slice(LABEL_PREFIX.length) : raw;
  if (!LABEL_NAME.test(label)) {
    throw usageError(
      'SELECTOR_INVALID',
      `invalid selector name ${JSON.stringify(raw)}: use kind, environment, project, workspace, or a label name ([a-z0-9][a-z0-9._-]*, optionally as label.NAME)`,
    );
  }
  return LABEL_PREFIX + label;
}

export function parseSelection(pairs: readonly string[], since?: string, until?: string): Selection {
  const acc = new Map<string, Set<string>>();
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw usageError('SELECTOR_INVALID', `invalid --select ${JSON.stringify(pair)}: give NAME=VALUE`);
    const key = normaliseSelectorKey(pair.slice(0, eq));
    const value = pair.slice(eq + 1);
    const problem = labelValueProblem(value);
    if (problem) throw usageError('SELECTOR_INVALID', `invalid --select ${JSON.stringify(pair)}: the value ${problem}`);
    let set = acc.get(key);
    if (!set) acc.set(key, (set = new Set()));
    set.add(value);
  }
  const selectors: Record<string, string[]> = {};
  for (const key of [...acc.keys()].sort(compareUtf8)) selectors[key] = [...acc.get(key)!].sort(compareUtf8);
  const sel: Selection = { selectors };
  if (since !== undefined) sel.since = parseRfc3339(since, '--since');
  if (until !== undefined) sel.until = parseRfc3339(until, '--until');
  if (sel.since && sel.until && sel.since > sel.until) {
    throw usageError('SELECTOR_INVALID', `--since ${sel.since} is after --until ${sel.until}: nothing could match`);
  }
  return sel;
}

export function isEmptySelection(sel: Selection | undefined): boolean {
  return !sel || (Object.keys(sel.selectors).length === 0 && sel.since === undefined && sel.until === undefined);
}

interface Selectable {
  kind: string;
  labels: Record<string, string>;
  scope: Partial<Record<string, string>>;
  ingestedAt: string;
}

/** A compiled matcher: each call is a few map lookups, so 100,000 records filter quickly. */
export function matcher(sel: Selection | undefined): (r: Selectable) => boolean {
  if (isEmptySelection(sel)) return () => true;
  const tests: Array<(r: Selectable) => boolean> = [];
  for (const [key, values] of Object.entries(sel!.selectors)) {
    const ok = new Set(values);
    if (key === 'kind') tests.push((r) => ok.has(r.kind));
    else if (key.startsWith(LABEL_PREFIX)) {
      const name = key.slice(LABEL_PREFIX.length);
      tests.push((r) => Object.hasOwn(r.labels, name) && ok.has(r.labels[name]!));
    } else tests.push((r) => Object.hasOwn(r.scope, key) && ok.has(r.scope[key]!));
  }
  // RFC 3339 UTC with whole seconds compares correctly as a string.
  if (sel!.since !== undefined) tests.push((r) => r.ingestedAt >= sel!.since!);
  if (sel!.until !== undefined) tests.push((r) => r.ingestedAt <= sel!.until!);
  return (r) => tests.every((t) => t(r));
}

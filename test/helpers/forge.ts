/**
 * Forge bundles the way an attacker with a signing key (or without one) would: edit the
 * statement, re-serialise it, re-sign it, and re-pack the archive. Used to prove that
 * verify rejects what a well-formed signature alone cannot vouch for.
 */
import { entry, fileEntry, rewriteBundle, type Manifest, type TarEntry } from './tar.js';
import { signEnvelope } from './keys.js';

/** RFC 8785 for the values a manifest holds (strings, integers, arrays, objects). */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const keys = Object.keys(v).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

export interface ForgeOptions {
  /** Change the statement (in place). */
  edit?: (m: Manifest) => void;
  /** How to turn the statement into manifest.json bytes (canonical by default). */
  serialise?: (m: Manifest) => string;
  /** Private key files to sign the new payload with. */
  signers: readonly string[];
  /** Further changes to the entries after manifest and envelope are replaced. */
  entries?: (entries: TarEntry[]) => TarEntry[] | void;
}

export function forgeBundle(src: string, dst: string, o: ForgeOptions): Promise<string> {
  return rewriteBundle(src, dst, (entries) => {
    const m = JSON.parse(entry(entries, 'manifest.json').data.toString('utf8')) as Manifest;
    o.edit?.(m);
    const bytes = Buffer.from((o.serialise ?? canonicalJson)(m), 'utf8');
    const envelope = Buffer.from(canonicalJson(signEnvelope(bytes, o.signers)), 'utf8');
    const next = entries.map((e) =>
      e.name === 'manifest.json' ? fileEntry(e.name, bytes) : e.name === 'manifest.dsse.json' ? fileEntry(e.name, envelope) : e,
    );
    return o.entries?.(next) ?? next;
  });
}

/**
 * A real bundle and a trust file for it, made with the built CLI exactly as a user would
 * (`npm run build` first; `npm test` does it), for the tests that start from a
 * genuine bundle and damage it.
 */
import { spawnSync } from './spawn.js';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const CLI = join(REPO_ROOT, 'bin', 'stella-evidence.js');
export const ACME_SIGNER_KEY = join(REPO_ROOT, 'fixtures', 'keys', 'acme-signer.key');
export const ACME_SIGNER_PUB = join(REPO_ROOT, 'fixtures', 'keys', 'acme-signer.pub');
export const ACME_EVIDENCE = join(REPO_ROOT, 'fixtures', 'evidence', 'acme');

export interface Spawned {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Run the CLI with a scrubbed environment (no passphrase or debug variables leak in). */
export function cli(args: readonly string[], cwd = REPO_ROOT): Spawned {
  const env = { ...process.env };
  delete env.STELLA_EVIDENCE_DEBUG;
  delete env.STELLA_EVIDENCE_PASSPHRASE;
  delete env.SOURCE_DATE_EPOCH;
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, env, encoding: 'utf8', input: '', timeout: 60_000 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function must(args: readonly string[]): Spawned {
  const r = cli(args);
  if (r.status !== 0) throw new Error(`stella-evidence ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r;
}

/** Export fixtures/evidence/acme, signed by the acme test key, at a fixed creation time. */
export function exportAcmeBundle(out: string): string {
  must(['export', '--tenant', 'acme', '--key', ACME_SIGNER_KEY, '--created-at', '2026-11-01T00:00:00Z', '--out', out, ACME_EVIDENCE]);
  return out;
}

/** A trust file that trusts the acme test key for tenant acme. */
export function acmeTrustFile(path: string): string {
  must(['trust', 'add', '--trust', path, '--tenant', 'acme', '--key', ACME_SIGNER_PUB]);
  return path;
}

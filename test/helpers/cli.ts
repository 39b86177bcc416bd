/**
 * Run the built CLI the way a user would: `node bin/stella-evidence.js ...` in a child
 * process. The CLI imports dist/, so it must be built first; `npm test` runs the build
 * before vitest. When iterating on one file, run `npm run build` yourself.
 */
import { spawnSync } from './spawn.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const BIN = join(REPO, 'bin', 'stella-evidence.js');
export const FIXTURES = join(REPO, 'fixtures');
export const EVIDENCE = join(FIXTURES, 'evidence');
export const SCHEMAS = join(REPO, 'schemas');

if (!existsSync(join(REPO, 'dist', 'cli', 'main.cjs'))) {
  throw new Error('dist/ is missing: build first with `npm run build` (`npm test` does this)');
}

export interface FixtureKey {
  key: string;
  pub: string;
  keyid: string;
}
const fixtureKey = (name: string, keyid: string): FixtureKey => ({
  key: join(FIXTURES, 'keys', `${name}.key`),
  pub: join(FIXTURES, 'keys', `${name}.pub`),
  keyid,
});
/** Key ids as published in fixtures/keys/README.md (SHA-256 of the SPKI DER). */
export const KEYS = {
  acme: fixtureKey('acme-signer', '1b0b8b2b63e5cfcd87edb8d849d3eef2fdfe63628ff33a0e1e1e1666ccb7cc33'),
  acmeCo: fixtureKey('acme-cosigner', 'e897d75e4f489fea84040041fcf98048f790fadf48bb3c091af5ecffb8b2f765'),
  globex: fixtureKey('globex-signer', '2c5ce9631c36e744c9c7813947752ac0c16b93829ba7e031cffc1d31ae3c6bb7'),
  acmeEncrypted: fixtureKey('acme-encrypted', '0bb21763e928f74d63302d94268e3dabee2fe7f6d3136db74dffa2b5e80c3e7e'),
} as const;
export const ENCRYPTED_PASSPHRASE = 'correct horse battery staple';

export const CREATED_AT = '2026-11-01T00:00:00Z';

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd?: string;
  /** Added to the environment; an undefined value removes the variable. */
  env?: Record<string, string | undefined>;
  input?: string;
}

/** Variables that change the CLI's behaviour; a test opts in to them explicitly. */
const SCRUBBED = ['STELLA_EVIDENCE_PASSPHRASE', 'SOURCE_DATE_EPOCH', 'STELLA_EVIDENCE_DEBUG'];

export function runCli(args: readonly string[], opts: RunOptions = {}): CliResult {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !SCRUBBED.includes(k)) env[k] = v;
  for (const [k, v] of Object.entries(opts.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: opts.cwd ?? REPO,
    env,
    input: opts.input ?? '',
    encoding: 'utf8',
    timeout: 90_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Throws with the CLI's own words when a command the test relies on fails. */
export function mustRun(args: readonly string[], opts: RunOptions = {}): CliResult {
  const r = runCli(args, opts);
  if (r.status !== 0) {
    throw new Error(`stella-evidence ${args.join(' ')} exited ${r.status}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  }
  return r;
}

export function hasStackTrace(text: string): boolean {
  return /^\s*at\s/m.test(text) || /\.(?:js|ts):\d+:\d+/.test(text) || /internal error/.test(text);
}

/** An expected failure: the given exit code and exactly one clear line on stderr, no stack trace. */
export function expectCleanFailure(r: CliResult, code: number, mentions?: RegExp): void {
  expect(r.status, `exit code; stderr was: ${r.stderr}`).toBe(code);
  const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
  expect(lines, `stderr should be one line: ${JSON.stringify(r.stderr)}`).toHaveLength(1);
  expect(lines[0]).toMatch(/^stella-evidence: /);
  expect(hasStackTrace(r.stderr), r.stderr).toBe(false);
  if (mentions) expect(lines[0]).toMatch(mentions);
}

export interface ExportArgs {
  out: string;
  inputs: readonly string[];
  tenant?: string | null;
  key?: string | null;
  createdAt?: string | null;
  extra?: readonly string[];
}

/** The export command line; null drops a flag that has a default here. */
export function exportArgs(a: ExportArgs): string[] {
  const args = ['export'];
  const tenant = a.tenant === undefined ? 'acme' : a.tenant;
  const key = a.key === undefined ? KEYS.acme.key : a.key;
  const createdAt = a.createdAt === undefined ? CREATED_AT : a.createdAt;
  if (tenant !== null) args.push('--tenant', tenant);
  if (key !== null) args.push('--key', key);
  if (createdAt !== null) args.push('--created-at', createdAt);
  args.push('--out', a.out, ...(a.extra ?? []), ...a.inputs);
  return args;
}

export const runExport = (a: ExportArgs, opts: RunOptions = {}): CliResult => runCli(exportArgs(a), opts);
export const mustExport = (a: ExportArgs, opts: RunOptions = {}): CliResult => mustRun(exportArgs(a), opts);

/** Whether an external tool is installed (tests needing it skip only when it is absent). */
export function hasTool(cmd: string, args: readonly string[] = ['--version'], mustInclude?: string): boolean {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.error || r.status !== 0) return false;
  return mustInclude === undefined || (r.stdout + r.stderr).includes(mustInclude);
}

export const HAS_OPENSSL = hasTool('openssl', ['version']);
export const HAS_GNU_TAR = hasTool('tar', ['--version'], 'GNU tar');

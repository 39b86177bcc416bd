/**
 * Authority tokens end to end through the CLI: a key set and tokens made by the test
 * itself, every refusal checked for its exit code, its one-line message naming the check,
 * and for leaving nothing behind.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVIDENCE, expectCleanFailure, exportArgs, KEYS, runCli, type CliResult } from './helpers/cli.js';
import { writeTrustFile } from './helpers/keys.js';
import { expectSchema } from './helpers/schema.js';
import { entry, readBundle, readManifest } from './helpers/tar.js';
import { AUDIENCE, ISSUER, makeAuthority, nowSeconds, type TestAuthority } from './helpers/authority.js';
import { removeTempDirs, tempDir } from './helpers/tmp.js';

const ACME = join(EVIDENCE, 'acme');

let dir: string;
let auth: TestAuthority;
let config: string;
let emptyXdg: string;
let trust: string;
let n = 0;

beforeAll(async () => {
  dir = tempDir('se-authority-e2e-');
  auth = await makeAuthority(dir);
  config = join(dir, 'config.json');
  writeFileSync(config, JSON.stringify({ authority: { jwks: auth.jwksPath, issuer: ISSUER, audience: AUDIENCE } }));
  emptyXdg = join(dir, 'xdg-empty');
  mkdirSync(emptyXdg);
  trust = writeTrustFile(join(dir, 'trust.json'), { acme: [KEYS.acme.pub], globex: [KEYS.globex.pub] });
});
afterAll(removeTempDirs);

/** The environment of every run: no ambient token, tenant or config leaks in from the host. */
const baseEnv = (over: Record<string, string | undefined> = {}) => ({
  STELLAOPS_TOKEN: undefined,
  STELLAOPS_TENANT: undefined,
  STELLA_EVIDENCE_CONFIG: undefined,
  STELLA_EVIDENCE_ACTOR: undefined,
  XDG_CONFIG_HOME: emptyXdg,
  ...over,
});

interface Run {
  r: CliResult;
  out: string;
}

/** Export the acme fixtures with the given token (written to a file) and extra flags. */
async function exportWith(jwt: string | null, opts: { tenant?: string | null; extra?: string[]; env?: Record<string, string | undefined>; config?: string | null } = {}): Promise<Run> {
  const out = join(dir, `out-${n++}.tar`);
  const extra = [...(opts.extra ?? [])];
  if (jwt !== null) extra.push('--token', auth.tokenFile('tok', jwt));
  const cfg = opts.config === undefined ? config : opts.config;
  if (cfg !== null) extra.push('--config', cfg);
  const r = runCli(exportArgs({ out, inputs: [ACME], tenant: opts.tenant === undefined ? null : opts.tenant, extra }), { env: baseEnv(opts.env) });
  return { r, out };
}

/** A refused export: exit code, one line naming the check, no bundle, and the token never echoed. */
function expectRefused(run: Run, code: number, mentions: RegExp, jwt?: string): void {
  expectCleanFailure(run.r, code, mentions);
  expect(existsSync(run.out), 'no output may be written').toBe(false);
  if (jwt) {
    for (const part of jwt.split('.').filter((p) => p.length > 8)) expect(run.r.stdout + run.r.stderr).not.toContain(part);
  }
}

describe('export with a valid token', () => {
  it.each(['ed', 'ec', 'rsa'] as const)('%s: the tenant comes from the token and the manifest records who, never the token', async (key) => {
    const jwt = await auth.mint({ key, claims: { jti: `jti-${key}` } });
    const run = await exportWith(jwt);
    expect(run.r.status, run.r.stderr).toBe(0);
    const m = await readManifest(run.out);
    expect(m.predicate.tenant).toBe('acme');
    expect((m.predicate as Record<string, unknown>).authorization).toEqual({
      token: true,
      issuer: ISSUER,
      subject: 'alice@acme',
      jti: `jti-${key}`,
      scopes: ['export:run'],
    });
    const everything = Buffer.concat((await readBundle(run.out)).map((e) => e.data)).toString('latin1');
    for (const part of jwt.split('.')) expect(everything).not.toContain(part);
    expect(run.r.stdout).toContain('token of alice@acme');
  });

  it('verify reports the authorization, in JSON and for people', async () => {
    const run = await exportWith(await auth.mint({ claims: { jti: 'jti-verify' } }), { tenant: 'acme' });
    expect(run.r.status, run.r.stderr).toBe(0);
    const v = runCli(['verify', run.out, '--trust', trust, '--tenant', 'acme', '--json']);
    expect(v.status, v.stderr).toBe(0);
    const report = JSON.parse(v.stdout) as Record<string, unknown>;
    expectSchema('verify-report', report);
    expect(report.authorization).toEqual({ token: true, issuer: ISSUER, subject: 'alice@acme', jti: 'jti-verify', scopes: ['export:run'] });
    const human = runCli(['verify', run.out, '--trust', trust]);
    expect(human.status).toBe(0);
    expect(human.stdout).toMatch(/authority\s+token of alice@acme \(issuer https:\/\/authority\.stella-ops\.test, token id jti-verify\), scopes export:run/);
  });

  it('reads the token from STELLAOPS_TOKEN and the header tenant from STELLAOPS_TENANT', async () => {
    const jwt = await auth.mint();
    const run = await exportWith(null, { env: { STELLAOPS_TOKEN: jwt, STELLAOPS_TENANT: 'acme' } });
    expect(run.r.status, run.r.stderr).toBe(0);
    expect((await readManifest(run.out)).predicate).toMatchObject({ tenant: 'acme', authorization: { token: true } });
  });

  it('the same token and inputs export the same bytes twice', async () => {
    const jwt = await auth.mint();
    const a = await exportWith(jwt);
    const b = await exportWith(jwt);
    expect(a.r.status, a.r.stderr).toBe(0);
    expect(readFileSync(a.out).equals(readFileSync(b.out))).toBe(true);
  });

  it('the manifest with a token matches the manifest schema', async () => {
    const run = await exportWith(await auth.mint({ claims: { jti: undefined, iss: ISSUER } }));
    expect(run.r.status, run.r.stderr).toBe(0);
    const m = JSON.parse(entry(await readBundle(run.out), 'manifest.json').data.toString('utf8')) as Record<string, unknown>;
    expectSchema('manifest', m);
    expect((m.predicate as Record<string, unknown>).authorization).toMatchObject({ token: true, jti: null });
  });
});

describe('export without a token', () => {
  it('works with --tenant and records that no token was presented; verify says so', async () => {
    const run = await exportWith(null, { tenant: 'acme' });
    expect(run.r.status, run.r.stderr).toBe(0);
    expect((await readManifest(run.out)).predicate).toMatchObject({ tenant: 'acme', authorization: { token: false } });
    const v = runCli(['verify', run.out, '--trust', trust, '--json']);
    expect(JSON.parse(v.stdout)).toMatchObject({ verified: true, authorization: { token: false } });
    expect(runCli(['verify', run.out, '--trust', trust]).stdout).toMatch(/authority\s+no token was presented/);
  });

  it('takes the tenant from STELLAOPS_TENANT', async () => {
    const run = await exportWith(null, { env: { STELLAOPS_TENANT: 'globex' } });
    expect(run.r.status, run.r.stderr).toBe(0);
    expect((await readManifest(run.out)).predicate.tenant).toBe('globex');
  });

  it('with neither a token nor a tenant there is no fallback tenant (exit 2)', async () => {
    expectRefused(await exportWith(null), 2, /no tenant given/);
  });

  it('is refused when the config requires a token', async () => {
    const strict = join(dir, 'strict.json');
    writeFileSync(strict, JSON.stringify({ authority: { jwks: auth.jwksPath }, requireToken: true }));
    expectRefused(await exportWith(null, { tenant: 'acme', config: strict }), 4, /requires an Authority token/);
    const ok = await exportWith(await auth.mint(), { config: strict });
    expect(ok.r.status, ok.r.stderr).toBe(0);
  });
});

describe('every failed check is refused with exit 4 and names the check', () => {
  const now = nowSeconds;

  it('expired', async () => {
    const jwt = await auth.mint({ claims: { iat: now() - 7200, exp: now() - 3600 } });
    expectRefused(await exportWith(jwt), 4, /expiry check failed: the token expired at/, jwt);
  });

  it('not yet valid', async () => {
    const jwt = await auth.mint({ claims: { nbf: now() + 3600 } });
    expectRefused(await exportWith(jwt), 4, /not-before check failed/, jwt);
  });

  it('wrong issuer', async () => {
    const jwt = await auth.mint({ claims: { iss: 'https://rogue.example' } });
    expectRefused(await exportWith(jwt), 4, /issuer check failed: .*rogue\.example/, jwt);
  });

  it('wrong audience', async () => {
    const jwt = await auth.mint({ claims: { aud: 'billing' } });
    expectRefused(await exportWith(jwt), 4, /audience check failed/, jwt);
  });

  it('wrong tenant: --tenant or STELLAOPS_TENANT naming another tenant than the token', async () => {
    const jwt = await auth.mint({ claims: { 'stellaops:tenant': 'globex' } });
    expectRefused(await exportWith(jwt, { tenant: 'acme' }), 4, /tenant mismatch.*tenant globex.*--tenant names acme/, jwt);
    expectRefused(await exportWith(jwt, { env: { STELLAOPS_TENANT: 'acme' } }), 4, /tenant mismatch.*STELLAOPS_TENANT names acme/, jwt);
    // Without the header, the token's tenant is the one exported: globex, never acme.
    const run = await exportWith(jwt);
    expect(run.r.status, run.r.stderr).toBe(0);
    const m = await readManifest(run.out);
    expect(m.predicate.tenant).toBe('globex');
    expect(m.predicate.artifacts.every((a) => a.tenant === 'globex')).toBe(true);
  });

  it('missing scope', async () => {
    const jwt = await auth.mint({ claims: { scope: 'evidence:read evidence:write' } });
    expectRefused(await exportWith(jwt), 4, /scope check failed: the token lacks the scope export:run/, jwt);
  });

  it('signed by an unknown key', async () => {
    const jwt = await auth.mint({ key: 'rogue' });
    expectRefused(await exportWith(jwt), 4, /signing key check failed: no key in the Authority JWKS/, jwt);
  });

  it('signed by an unknown key that claims a published kid', async () => {
    const jwt = await auth.mint({ key: 'rogue', kid: auth.keys.ed.kid });
    expectRefused(await exportWith(jwt), 4, /signature check failed/, jwt);
  });

  it('alg none', async () => {
    const jwt = auth.unsigned();
    expectRefused(await exportWith(jwt), 4, /algorithm check failed: the token uses "none"/);
  });

  it('HMAC with the public key as the secret', async () => {
    const jwt = await auth.hmacWithPublicKey();
    expectRefused(await exportWith(jwt), 4, /algorithm check failed: the token uses "HS256"/, jwt);
  });

  it('tampered payload', async () => {
    const jwt = await auth.tampered({ 'stellaops:tenant': 'globex' });
    expectRefused(await exportWith(jwt, { tenant: 'globex' }), 4, /signature check failed/, jwt);
  });

  it('no exp claim', async () => {
    const jwt = await auth.mint({ claims: { exp: undefined } });
    expectRefused(await exportWith(jwt), 4, /expiry check failed: the token has no exp claim/, jwt);
  });
});

describe('ABAC claims narrow an export', () => {
  it("labels the bundle with the token's value when no --scope is given", async () => {
    const run = await exportWith(await auth.mint({ claims: { 'stellaops:environment': 'prod' } }), { extra: ['--scope', 'project=payments'] });
    expect(run.r.status, run.r.stderr).toBe(0);
    expect((await readManifest(run.out)).predicate.scope).toEqual({ environment: 'prod', project: 'payments' });
  });

  it('accepts a --scope equal to the claim and refuses one that contradicts it', async () => {
    const jwt = await auth.mint({ claims: { 'stellaops:environment': 'prod' } });
    const same = await exportWith(jwt, { extra: ['--scope', 'environment=prod'] });
    expect(same.r.status, same.r.stderr).toBe(0);
    expectRefused(await exportWith(jwt, { extra: ['--scope', 'environment=dev'] }), 4, /ABAC check failed: .*stellaops:environment.*environment=dev/, jwt);
  });
});

describe('configuration and input errors are exit 2', () => {
  it('a token that is not a JWT', async () => {
    expectRefused(await exportWith('this-is-not-a-jwt'), 2, /is not a JWT/);
  });

  it('a token file that does not exist', async () => {
    const out = join(dir, `out-${n++}.tar`);
    const r = runCli(exportArgs({ out, inputs: [ACME], tenant: null, extra: ['--token', join(dir, 'missing.jwt'), '--config', config] }), { env: baseEnv() });
    expectRefused({ r, out }, 2, /token file .*missing\.jwt does not exist/);
  });

  it('a JWKS file that is not JSON or does not exist', async () => {
    const jwt = await auth.mint();
    const broken = join(dir, 'broken.jwks');
    writeFileSync(broken, '{"keys": [');
    expectRefused(await exportWith(jwt, { extra: ['--authority-jwks', broken] }), 2, /invalid Authority JWKS file .*broken\.jwks/);
    expectRefused(await exportWith(jwt, { extra: ['--authority-jwks', join(dir, 'nope.jwks')] }), 2, /Authority JWKS file .*nope\.jwks does not exist/);
  });

  it('a config file that is not valid', async () => {
    const bad = join(dir, 'bad-config.json');
    writeFileSync(bad, '{"authority": {"jwks": "a", "jwks": "b"}}');
    expectRefused(await exportWith(null, { tenant: 'acme', config: bad }), 2, /invalid config file .*duplicate key/);
  });

  it('a token but no key set configured', async () => {
    const bare = join(dir, 'bare.json');
    writeFileSync(bare, '{}');
    expectRefused(await exportWith(await auth.mint(), { config: bare }), 2, /no Authority key set is configured/);
  });
});

describe('where the configuration comes from', () => {
  it('--authority-jwks overrides authority.jwks of the config', async () => {
    const other = await makeAuthority(tempDir('se-authority-other-'));
    const theirs = await other.mint();
    expectRefused(await exportWith(theirs), 4, /signature check failed/);
    const run = await exportWith(theirs, { extra: ['--authority-jwks', other.jwksPath] });
    expect(run.r.status, run.r.stderr).toBe(0);
  });

  it('STELLA_EVIDENCE_CONFIG, then $XDG_CONFIG_HOME/stella-evidence/config.json', async () => {
    const jwt = await auth.mint({ claims: { iss: 'https://other-issuer.example' } });
    const viaEnv = await exportWith(jwt, { config: null, env: { STELLA_EVIDENCE_CONFIG: config } });
    expectRefused(viaEnv, 4, /issuer check failed/);
    const xdg = join(dir, 'xdg');
    mkdirSync(join(xdg, 'stella-evidence'), { recursive: true });
    writeFileSync(join(xdg, 'stella-evidence', 'config.json'), JSON.stringify({ authority: { jwks: auth.jwksPath, issuer: ISSUER } }));
    expectRefused(await exportWith(jwt, { config: null, env: { XDG_CONFIG_HOME: xdg } }), 4, /issuer check failed/);
    const good = await exportWith(await auth.mint(), { config: null, env: { XDG_CONFIG_HOME: xdg } });
    expect(good.r.status, good.r.stderr).toBe(0);
  });

  it('a relative jwks path in the config is relative to the config file', async () => {
    const sub = join(dir, 'rel');
    mkdirSync(sub);
    writeFileSync(join(sub, 'keys.jwks'), JSON.stringify(auth.jwks));
    const cfg = join(sub, 'config.json');
    writeFileSync(cfg, JSON.stringify({ authority: { jwks: 'keys.jwks' } }));
    const run = await exportWith(await auth.mint(), { config: cfg });
    expect(run.r.status, run.r.stderr).toBe(0);
  });

  it('export --help documents the token options', () => {
    const r = runCli(['export', '--help']);
    expect(r.status).toBe(0);
    for (const flag of ['--token <file>', '--config <file>', '--authority-jwks <file>']) expect(r.stdout).toContain(flag);
  });
});

describe('store and audit commands take the same token', () => {
  let store: string;
  let files: string;
  beforeAll(() => {
    store = join(dir, 'store');
    files = join(dir, 'ingest');
    for (const env of ['prod', 'dev', 'none']) {
      mkdirSync(join(files, env), { recursive: true });
      writeFileSync(join(files, env, `${env}.txt`), `evidence for ${env}\n`);
    }
  });

  const inStore = async (args: string[], jwt: string | null, env: Record<string, string | undefined> = {}, cfg = config): Promise<CliResult> => {
    const extra = ['--store', store, '--config', cfg];
    if (jwt !== null) extra.push('--token', auth.tokenFile('store', jwt));
    return runCli([...args, ...extra], { env: baseEnv({ STELLA_EVIDENCE_STORE: undefined, XDG_DATA_HOME: undefined, ...env }) });
  };
  const must = (r: CliResult): CliResult => {
    expect(r.status, r.stderr).toBe(0);
    return r;
  };
  interface Listed {
    records: Array<{ name: string; scope: Record<string, string> }>;
    selection: { selectors: Record<string, string[]> };
  }
  interface Events {
    events: Array<{ type: string; actor: string; authorization?: unknown }>;
  }

  it('store add: the actor is the token subject and every event records the authorization', async () => {
    const jwt = await auth.mint({ claims: { scope: 'evidence:write', jti: 'ingest-1' } });
    must(await inStore(['store', 'add', '--scope', 'environment=prod', join(files, 'prod')], jwt));
    must(await inStore(['store', 'add', '--tenant', 'acme', '--actor', 'bob', '--scope', 'environment=dev', join(files, 'dev')], null));
    must(await inStore(['store', 'add', '--tenant', 'acme', '--actor', 'alice@acme', join(files, 'none')], jwt));
    const reader = await auth.mint({ claims: { scope: 'audit:read' } });
    const events = JSON.parse(must(await inStore(['audit', 'list', '--json'], reader)).stdout) as Events;
    expectSchema('audit-event', events.events[0]);
    expect(events.events.map((e) => [e.actor, e.authorization])).toEqual([
      ['alice@acme', { token: true, issuer: ISSUER, subject: 'alice@acme', jti: 'ingest-1', scopes: ['evidence:write'] }],
      ['bob', { token: false }],
      ['alice@acme', { token: true, issuer: ISSUER, subject: 'alice@acme', jti: 'ingest-1', scopes: ['evidence:write'] }],
    ]);
    const v = must(await inStore(['audit', 'verify', '--json'], reader));
    expect(JSON.parse(v.stdout)).toMatchObject({ verified: true });
  });

  it('store add: wrong scope, wrong tenant, another --actor and a contradicting --scope are refused', async () => {
    const reader = await auth.mint({ claims: { scope: 'evidence:read export:run' } });
    expectCleanFailure(await inStore(['store', 'add', join(files, 'prod')], reader), 4, /lacks the scope evidence:write \(to ingest evidence\)/);
    const writer = await auth.mint({ claims: { scope: 'evidence:write' } });
    expectCleanFailure(await inStore(['store', 'add', '--tenant', 'globex', join(files, 'prod')], writer), 4, /tenant mismatch/);
    expectCleanFailure(await inStore(['store', 'add', '--actor', 'mallory', join(files, 'prod')], writer), 4, /actor check failed/);
    const prodOnly = await auth.mint({ claims: { scope: 'evidence:write', 'stellaops:environment': 'prod' } });
    expectCleanFailure(await inStore(['store', 'add', '--scope', 'environment=dev', join(files, 'dev')], prodOnly), 4, /ABAC check failed/);
    const reader2 = await auth.mint({ claims: { scope: 'evidence:read' } });
    const listed = JSON.parse(must(await inStore(['store', 'list', '--json'], reader2)).stdout) as Listed;
    expect(listed.records.map((r) => r.name).sort()).toEqual(['dev.txt', 'none.txt', 'prod.txt']);
  });

  it('store add under an ABAC token records the claimed sub-scope', async () => {
    const ws = await auth.mint({ claims: { scope: 'evidence:write evidence:read', 'stellaops:workspace': 'ws-7' } });
    must(await inStore(['store', 'add', '--tenant', 'acme', '--label', 'team=payments', join(files, 'none')], ws));
    const listed = JSON.parse(must(await inStore(['store', 'list', '--json'], ws)).stdout) as Listed;
    expect(listed.records).toHaveLength(1);
    expect(listed.records[0]!.scope).toEqual({ workspace: 'ws-7' });
  });

  it('store list: evidence:read required; ABAC claims narrow what is listed and refuse other selectors', async () => {
    const noRead = await auth.mint({ claims: { scope: 'evidence:write' } });
    expectCleanFailure(await inStore(['store', 'list'], noRead), 4, /lacks the scope evidence:read/);
    const prod = await auth.mint({ claims: { scope: 'evidence:read', 'stellaops:environment': 'prod' } });
    const listed = JSON.parse(must(await inStore(['store', 'list', '--json'], prod)).stdout) as Listed;
    expect(listed.records.map((r) => r.name)).toEqual(['prod.txt']);
    expect(listed.selection.selectors).toEqual({ environment: ['prod'] });
    const same = JSON.parse(must(await inStore(['store', 'list', '--json', '--select', 'environment=prod', '--select', 'kind=file'], prod)).stdout) as Listed;
    expect(same.records.map((r) => r.name)).toEqual(['prod.txt']);
    expectCleanFailure(await inStore(['store', 'list', '--select', 'environment=dev'], prod), 4, /ABAC check failed: .*environment=prod.*environment=dev/);
    expectCleanFailure(await inStore(['store', 'list', '--select', 'environment=prod', '--select', 'environment=dev'], prod), 4, /ABAC check failed/);
    // Without the claim, the same token sees everything of its tenant.
    const all = await auth.mint({ claims: { scope: 'evidence:read' } });
    expect((JSON.parse(must(await inStore(['store', 'list', '--json'], all)).stdout) as Listed).records.length).toBeGreaterThan(1);
  });

  it('audit list and verify need audit:read and the right tenant', async () => {
    const noAudit = await auth.mint({ claims: { scope: 'evidence:read' } });
    expectCleanFailure(await inStore(['audit', 'list'], noAudit), 4, /lacks the scope audit:read \(to read the audit log\)/);
    expectCleanFailure(await inStore(['audit', 'verify'], noAudit), 4, /lacks the scope audit:read/);
    const globex = await auth.mint({ claims: { scope: 'audit:read', 'stellaops:tenant': 'globex' } });
    expectCleanFailure(await inStore(['audit', 'list', '--tenant', 'acme'], globex), 4, /tenant mismatch/);
    const expired = await auth.mint({ claims: { scope: 'audit:read', exp: nowSeconds() - 3600, iat: nowSeconds() - 7200 } });
    expectCleanFailure(await inStore(['audit', 'verify'], expired), 4, /expiry check failed/);
  });

  it('requireToken applies to the store commands too', async () => {
    const strict = join(dir, 'strict-store.json');
    writeFileSync(strict, JSON.stringify({ authority: { jwks: auth.jwksPath }, requireToken: true }));
    for (const args of [['store', 'list'], ['store', 'add', join(files, 'prod')], ['audit', 'list'], ['audit', 'verify']]) {
      const r = await inStore([...args, '--tenant', 'acme'], null, {}, strict);
      expectCleanFailure(r, 4, /requires an Authority token/);
    }
  });
});

describe('export from the store with a token', () => {
  let store: string;
  beforeAll(() => {
    store = join(dir, 'export-store');
    const src = join(dir, 'export-src');
    for (const [tenant, env] of [['acme', 'prod'], ['acme', 'dev'], ['globex', 'prod']] as const) {
      const d = join(src, tenant, env);
      mkdirSync(d, { recursive: true });
      writeFileSync(join(d, `${tenant}-${env}.txt`), `${tenant} evidence for ${env}\n`);
      const r = runCli(['store', 'add', '--tenant', tenant, '--scope', `environment=${env}`, '--store', store, '--config', config, d], {
        env: baseEnv({ STELLA_EVIDENCE_ACTOR: 'seeder' }),
      });
      expect(r.status, r.stderr).toBe(0);
    }
  });

  const storeExport = async (jwt: string, args: string[], keys: string[] = [KEYS.acme.key]): Promise<Run> => {
    const out = join(dir, `store-out-${n++}.tar`);
    const r = runCli(
      ['export', '--store', store, '--config', config, '--token', auth.tokenFile('sx', jwt), '--created-at', '2026-11-01T00:00:00Z', '--out', out, ...keys.flatMap((k) => ['--key', k]), ...args],
      { env: baseEnv({ STELLA_EVIDENCE_STORE: undefined, XDG_DATA_HOME: undefined }) },
    );
    return { r, out };
  };
  const events = (tenant: string): Array<{ type: string; actor: string; authorization?: unknown }> => {
    const r = runCli(['audit', 'list', '--tenant', tenant, '--store', store, '--config', config, '--json'], { env: baseEnv() });
    expect(r.status, r.stderr).toBe(0);
    return (JSON.parse(r.stdout) as { events: Array<{ type: string; actor: string; authorization?: unknown }> }).events;
  };
  const exportScope = ['export:run'];

  it('records the authorization in the manifest and the export event; ABAC narrows the selection', async () => {
    const jwt = await auth.mint({ claims: { scope: 'export:run', jti: 'store-export-1', 'stellaops:environment': 'prod' } });
    const run = await storeExport(jwt, []);
    expect(run.r.status, run.r.stderr).toBe(0);
    const m = await readManifest(run.out);
    const p = m.predicate as unknown as Record<string, unknown>;
    expect(m.predicate.artifacts.map((a) => a.name)).toEqual(['acme-prod.txt']);
    expect(p.selection).toEqual({ selectors: { environment: ['prod'] } });
    const record = { token: true, issuer: ISSUER, subject: 'alice@acme', jti: 'store-export-1', scopes: exportScope };
    expect(p.authorization).toEqual(record);
    const last = events('acme').at(-1)!;
    expect(last).toMatchObject({ type: 'export', actor: 'alice@acme', authorization: record });
    const v = runCli(['verify', run.out, '--trust', trust, '--tenant', 'acme', '--json']);
    expect(v.status, v.stderr).toBe(0);
    expect(JSON.parse(v.stdout)).toMatchObject({ verified: true, authorization: record });
  });

  it('refuses a selector outside the ABAC claim, a missing scope and another actor, logging nothing', async () => {
    const before = events('acme').length;
    const prod = await auth.mint({ claims: { scope: 'export:run', 'stellaops:environment': 'prod' } });
    expectRefused(await storeExport(prod, ['--select', 'environment=dev']), 4, /ABAC check failed/);
    const noExport = await auth.mint({ claims: { scope: 'evidence:read' } });
    expectRefused(await storeExport(noExport, []), 4, /lacks the scope export:run/);
    expectRefused(await storeExport(await auth.mint(), ['--actor', 'mallory']), 4, /actor check failed/);
    expect(events('acme')).toHaveLength(before);
  });

  it('cross-tenant: needs export:cross-tenant and every tenant in stellaops:allowed_tenants', async () => {
    const both = ['--cross-tenant', '--tenant', 'acme', '--tenant', 'globex', '--reason', 'joint incident 42'];
    const keys = [KEYS.acme.key, KEYS.globex.key];
    const before = { acme: events('acme').length, globex: events('globex').length };
    const plain = await auth.mint({ claims: { scope: 'export:run', 'stellaops:allowed_tenants': ['acme', 'globex'] } });
    expectRefused(await storeExport(plain, both, keys), 4, /lacks the scope export:cross-tenant/);
    const narrow = await auth.mint({ claims: { scope: 'export:run export:cross-tenant', 'stellaops:allowed_tenants': ['acme'] } });
    expectRefused(await storeExport(narrow, both, keys), 4, /allowed_tenants.*missing: globex/);
    const full = await auth.mint({ claims: { scope: 'export:run export:cross-tenant', 'stellaops:allowed_tenants': 'acme globex', jti: 'x-1' } });
    expectRefused(await storeExport(full, ['--tenant', 'acme', '--tenant', 'globex'], keys), 4, /several tenants/);
    expectRefused(await storeExport(full, ['--cross-tenant', '--tenant', 'globex', '--tenant', 'acme', '--reason', 'r'], keys), 4, /tenant mismatch/);
    expect({ acme: events('acme').length, globex: events('globex').length }).toEqual(before);

    const run = await storeExport(full, both, keys);
    expect(run.r.status, run.r.stderr).toBe(0);
    const record = { token: true, issuer: ISSUER, subject: 'alice@acme', jti: 'x-1', scopes: ['export:cross-tenant', 'export:run'] };
    expect((await readManifest(run.out)).predicate).toMatchObject({ tenant: 'acme', authorization: record });
    for (const t of ['acme', 'globex']) {
      expect(events(t).at(-1)).toMatchObject({ type: 'cross-tenant-export', actor: 'alice@acme', authorization: record });
    }
  });
});

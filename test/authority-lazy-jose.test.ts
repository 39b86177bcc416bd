/**
 * jose is loaded only when a token is actually presented: commands that check
 * authorization without one must not pay for it at start-up. A module-resolution hook
 * registered in the child records every jose module the CLI resolves; the runs with a
 * token show the hook does see jose when it is loaded, so an empty record means something.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUDIENCE, ISSUER, makeAuthority, type TestAuthority } from './helpers/authority.js';
import { EVIDENCE, KEYS, CREATED_AT, type CliResult } from './helpers/cli.js';
import { inStore, mustInStore } from './helpers/store.js';
import { writeResolveLogger } from './helpers/resolve-log.js';
import { removeTempDirs, tempDir } from './helpers/tmp.js';

const ACME = join(EVIDENCE, 'acme');

let dir: string;
let store: string;
let auth: TestAuthority;
let config: string;
let emptyXdg: string;
let register: string;
let n = 0;

beforeAll(async () => {
  dir = tempDir('se-lazy-jose-');
  store = join(dir, 'store');
  emptyXdg = tempDir('se-lazy-jose-xdg-');
  auth = await makeAuthority(dir);
  config = join(dir, 'config.json');
  writeFileSync(config, JSON.stringify({ authority: { jwks: auth.jwksPath, issuer: ISSUER, audience: AUDIENCE } }));

  register = writeResolveLogger(dir, '/node_modules/jose/', 'LAZY_JOSE_LOG');

  mustInStore(store, ['store', 'add', '--tenant', 'acme', ACME], { env: { STELLAOPS_TOKEN: undefined, STELLAOPS_TENANT: undefined } });
});
afterAll(removeTempDirs);

/** Run the CLI against the store with the hook in place; returns the result and the jose modules it resolved. */
function traced(args: readonly string[], env: Record<string, string | undefined> = {}): { r: CliResult; jose: string[] } {
  const log = join(dir, `jose-${n++}.log`);
  const r = inStore(store, args, {
    env: {
      STELLAOPS_TOKEN: undefined,
      STELLAOPS_TENANT: undefined,
      STELLA_EVIDENCE_CONFIG: undefined,
      XDG_CONFIG_HOME: emptyXdg,
      NODE_OPTIONS: `--import "${register}"`,
      LAZY_JOSE_LOG: log,
      ...env,
    },
  });
  const jose = existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter((l) => l !== '') : [];
  return { r, jose };
}

describe('without a token, jose is never loaded', () => {
  it('store list', () => {
    const { r, jose } = traced(['store', 'list', '--tenant', 'acme']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('record(s) of tenant acme');
    expect(jose).toEqual([]);
  });

  it('export from the store, with a config that names an Authority key set', () => {
    const out = join(dir, 'no-token.tar');
    const { r, jose } = traced(['export', '--tenant', 'acme', '--key', KEYS.acme.key, '--created-at', CREATED_AT, '--out', out, '--config', config]);
    expect(r.status, r.stderr).toBe(0);
    expect(existsSync(out)).toBe(true);
    expect(jose).toEqual([]);
  });
});

describe('with a token, jose is loaded and the token checked', () => {
  it('store list with a valid token', async () => {
    const token = auth.tokenFile('ok', await auth.mint());
    const { r, jose } = traced(['store', 'list', '--token', token, '--config', config]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('record(s) of tenant acme');
    expect(jose.length).toBeGreaterThan(0);
  });

  it('a token signed by an unknown key is still refused as before (exit 4)', async () => {
    const token = auth.tokenFile('rogue', await auth.mint({ key: 'rogue', kid: 'authority-ed25519' }));
    const { r, jose } = traced(['store', 'list', '--token', token, '--config', config]);
    expect(r.status, r.stderr).toBe(4);
    expect(r.stderr).toMatch(/signature check failed/);
    expect(jose.length).toBeGreaterThan(0);
  });
});

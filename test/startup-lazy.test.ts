/**
 * `--help`, `CMD --help` and `--version` run on the CommonJS entry and the help text the
 * build stored: no ES module of the library loads, nor commander (start-up stays near
 * bare node).
 * A resolution hook in the child logs every module of dist/ resolved as an ES module
 * (import), and a preloaded script logs, at exit, every one that require() loaded
 * (Node 20.19 can require ES modules); a real command, run the same way, shows the hook
 * sees them when they do load, and a require() of the library is shown to be seen too.
 */
import { spawnSync } from './helpers/spawn.js';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO } from './helpers/cli.js';
import { removeTempDirs, tempDir } from './helpers/tmp.js';
import { writeResolveLogger } from './helpers/resolve-log.js';

afterAll(removeTempDirs);

let dir: string;
let register: string;
let preload: string;

beforeAll(() => {
  dir = tempDir('se-startup-');
  register = writeResolveLogger(dir, '/dist/', 'STARTUP_LOG');
  preload = join(dir, 'preload.cjs');
  writeFileSync(
    preload,
    [
      "const { appendFileSync } = require('node:fs');",
      "process.on('exit', () => {",
      "  const esm = Object.keys(require.cache).filter((k) => k.includes('/dist/') && !k.endsWith('.cjs') && !k.endsWith('.json'));",
      "  if (esm.length) appendFileSync(process.env.STARTUP_LOG, esm.map((k) => 'require:' + k).join('\\n') + '\\n');",
      // commander too: help and version are printed from stored text without it.
      "  if (Object.keys(require.cache).some((k) => k.includes('/node_modules/commander/'))) appendFileSync(process.env.STARTUP_LOG, 'commander\\n');",
      '});',
      // Stands in for a library module required at start-up, when the test asks for one.
      "if (process.env.STARTUP_REQUIRE) require(process.env.STARTUP_REQUIRE);",
    ].join('\n'),
  );
});

function loadedBy(args: string[], requireFirst?: string): { status: number | null; stdout: string; loaded: string[] } {
  const log = join(dir, `log-${args.join('-').replace(/[^a-z-]/g, '')}${requireFirst ? '-req' : ''}.txt`);
  rmSync(log, { force: true });
  const r = spawnSync(process.execPath, ['--import', register, '--require', preload, join(REPO, 'bin', 'stella-evidence.js'), ...args], {
    encoding: 'utf8',
    env: { ...process.env, STARTUP_LOG: log, STARTUP_REQUIRE: requireFirst ?? '' },
  });
  const loaded = existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : [];
  return { status: r.status, stdout: r.stdout, loaded };
}

describe('start-up', () => {
  it('--help, verify --help and --version load no ES module of the library, nor commander', () => {
    for (const args of [['--help'], ['verify', '--help'], ['export', '--help'], ['--version']]) {
      const r = loadedBy(args);
      expect(r.status, args.join(' ')).toBe(0);
      expect(r.stdout).toMatch(args[0] === '--version' ? /^\d+\.\d+\.\d+/ : /^Usage: stella-evidence/);
      expect(r.loaded, args.join(' ')).toEqual([]);
    }
  });

  it('a library module loaded with require() is seen as well', () => {
    const r = loadedBy(['--help'], join(REPO, 'dist', 'errors.js'));
    expect(r.status).toBe(0);
    expect(r.loaded).toContain(`require:${join(REPO, 'dist', 'errors.js')}`);
  });

  it('a command that runs loads its modules, as the hook shows', () => {
    const r = loadedBy(['verify', join(dir, 'missing.tar'), '--trust', join(dir, 'missing.json'), '--tenant', 'acme']);
    expect(r.status).toBe(2);
    expect(r.loaded.some((u) => u.endsWith('/dist/cli/verify.js'))).toBe(true);
    expect(r.loaded).toContain('commander');
    expect(r.loaded.some((u) => u.endsWith('/dist/errors.js'))).toBe(true);
  });
});

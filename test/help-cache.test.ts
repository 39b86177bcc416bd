import { spawnSync } from 'node:child_process';
import { cpSync, readFileSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO } from './helpers/cli.js';
import { removeTempDirs, tempDir } from './helpers/tmp.js';

afterAll(removeTempDirs);

/** A private copy of the built CLI, so the test may edit its cache and its main.js. */
function builtCopy(): string {
  const dir = tempDir('stella-help-');
  cpSync(join(REPO, 'bin'), join(dir, 'bin'), { recursive: true });
  cpSync(join(REPO, 'dist'), join(dir, 'dist'), { recursive: true, preserveTimestamps: true });
  cpSync(join(REPO, 'schemas'), join(dir, 'schemas'), { recursive: true });
  writeFileSync(join(dir, 'package.json'), readFileSync(join(REPO, 'package.json')));
  symlinkSync(join(REPO, 'node_modules'), join(dir, 'node_modules'));
  cpSync(join(REPO, 'scripts', 'gen-help.mjs'), join(dir, 'scripts', 'gen-help.mjs'));
  const r = spawnSync(process.execPath, [join(dir, 'scripts', 'gen-help.mjs')], { stdio: 'pipe', encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return dir;
}

const run = (dir: string, args: string[]) =>
  spawnSync(process.execPath, [join(dir, 'bin', 'stella-evidence.js'), ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

describe('build-time help pages', () => {
  it('are what commander prints, for the root, a command and a subcommand', () => {
    const dir = builtCopy();
    const cache = JSON.parse(readFileSync(join(dir, 'dist', 'cli', 'help-cache.json'), 'utf8')) as { pages: Record<string, string> };
    for (const args of [['--help'], ['verify', '--help'], ['trust', 'add', '--help'], ['export', '-h']]) {
      const viaCommander = spawnSync(
        process.execPath,
        ['--input-type=module', '-e', `const m = await import(${JSON.stringify(join(dir, 'dist', 'cli', 'main.js'))}); process.exitCode = await m.main(['node', 'x', ...${JSON.stringify(args)}]);`],
        { encoding: 'utf8' },
      );
      expect(viaCommander.status).toBe(0);
      const r = run(dir, args);
      expect(r.status).toBe(0);
      expect(r.stdout).toBe(viaCommander.stdout);
      expect(cache.pages[[...args.slice(0, -1), '--help'].join(' ')]).toBe(viaCommander.stdout);
    }
  });

  it('are used when they match the main.js on disk, and ignored once it changes', () => {
    const dir = builtCopy();
    const cacheFile = join(dir, 'dist', 'cli', 'help-cache.json');
    const cache = JSON.parse(readFileSync(cacheFile, 'utf8')) as { pages: Record<string, string> };
    cache.pages['verify --help'] = 'MARKER PAGE\n';
    writeFileSync(cacheFile, JSON.stringify(cache));
    expect(run(dir, ['verify', '--help']).stdout).toBe('MARKER PAGE\n');
    // A rebuild without the help step changes main.js: the cache no longer applies.
    utimesSync(join(dir, 'dist', 'cli', 'main.js'), new Date(), new Date(Date.now() + 5000));
    const r = run(dir, ['verify', '--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^Usage: stella-evidence verify/);
  });

  it('do not change anything but plain help requests', () => {
    const dir = builtCopy();
    const r = run(dir, ['verify']);
    expect(r.status).toBe(2); // a missing argument is still a usage error, from the parser
    expect(run(dir, ['--version']).stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });
});

/**
 * `[CMD] --help` and `--version` are printed from text the build stored
 * (dist/cli/help.json, by scripts/gen-help.mjs), without loading commander. The stored
 * text must be what the program itself prints, for every command.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO, runCli } from './helpers/cli.js';

const require = createRequire(import.meta.url);
const stored = JSON.parse(readFileSync(join(REPO, 'dist', 'cli', 'help.json'), 'utf8')) as Record<string, string>;
const { helpTexts } = require(join(REPO, 'dist', 'cli', 'main.cjs')) as { helpTexts: () => Record<string, string> };
const { staticOutput } = require(join(REPO, 'dist', 'cli', 'static-help.cjs')) as { staticOutput: (args: string[]) => string | null };
const paths = Object.keys(stored).map((k) => JSON.parse(k) as string[]);

describe('stored help', () => {
  it('is what the program prints now, for the program and every command', () => {
    expect(stored).toEqual(helpTexts());
    expect(paths).toContainEqual([]);
    expect(paths).toContainEqual(['verify']);
    expect(paths).toContainEqual(['store', 'add']);
    expect(paths).toContainEqual(['trust', 'revoke']);
    expect(paths.length).toBe(18);
  });

  it('is printed for CMD --help, exit 0, and nothing on stderr', () => {
    for (const path of paths) {
      const r = runCli([...path, '--help']);
      expect(r.status, path.join(' ')).toBe(0);
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe(stored[JSON.stringify(path)]);
    }
    expect(runCli(['store', 'list', '-h']).stdout).toBe(stored['["store","list"]']);
  });

  it('matches what commander prints where the stored text is not used', () => {
    // Not a command followed by --help alone: commander parses it, and shows the same text.
    expect(staticOutput(['verify', 'bundle.tar', '--help'])).toBeNull();
    const r = runCli(['verify', 'bundle.tar', '--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(stored['["verify"]']);
  });

  it('is used only for exactly a known command and --help or -h, and --version alone', () => {
    const version = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version;
    expect(staticOutput(['--version'])).toBe(`${version}\n`);
    expect(staticOutput(['-V'])).toBe(`${version}\n`);
    expect(staticOutput(['verify', '--help'])).toBe(stored['["verify"]']);
    expect(staticOutput(['store', 'add', '-h'])).toBe(stored['["store","add"]']);
    for (const args of [[], ['verify'], ['--help', 'verify'], ['nosuch', '--help'], ['__proto__', '--help'], ['store add', '--help'], ['--version', 'x'], ['verify', '--version']]) {
      expect(staticOutput(args), JSON.stringify(args)).toBeNull();
    }
  });
});

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hasStackTrace, REPO, runCli } from './helpers/cli.js';

const PKG_VERSION = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version;

const COMMANDS: readonly string[][] = [[], ['keygen'], ['trust'], ['trust', 'add'], ['export'], ['verify'], ['diff']];

describe('CLI surface', () => {
  it.each(COMMANDS.map((c) => [c.join(' ') || '(top level)', c]))('%s --help: exit 0, usage with an Example', (_label, cmd) => {
    const r = runCli([...cmd, '--help']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Usage: stella-evidence/);
    expect(r.stdout).toMatch(/\nExamples?:\n\s+stella-evidence /);
    // The example uses the command it documents.
    if (cmd.length) expect(r.stdout).toContain(`stella-evidence ${cmd.join(' ')}`);
  });

  it('-h is --help', () => {
    const r = runCli(['export', '-h']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('Example');
  });

  it('"help export" shows the export help (exit 0)', () => {
    const r = runCli(['help', 'export']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('--tenant');
  });

  it.each([['--version'], ['-V']])('%s prints the package.json version', (flag) => {
    const r = runCli([flag]);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`${PKG_VERSION}\n`);
  });

  it.each([[['--bogus']], [['keygen', '--out', 'x', '--bogus']], [['trust', 'add', '--trust', 't.json', '--key', 'k.pub', '--no-such-flag']], [['export', '--tenant', 'acme', '--key', 'k', '--out', 'o.tar', '--bogus', 'x']], [['verify', 'a.tar', '--trust', 't.json', '--bogus']], [['diff', 'a', 'b', '--bogus']]])(
    'unknown flag %j: exit 2, named on stderr, no stack trace',
    (args) => {
      const r = runCli(args);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/unknown option '--(bogus|no-such-flag)'/);
      expect(hasStackTrace(r.stderr)).toBe(false);
      expect(r.stdout).toBe('');
    },
  );

  it('an unknown command: exit 2', () => {
    const r = runCli(['frobnicate']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/unknown command/);
  });

  it('no command at all: exit 2 with usage on stderr', () => {
    const r = runCli([]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/Usage: stella-evidence/);
  });

  it('"trust" without a subcommand: exit 2', () => {
    expect(runCli(['trust']).status).toBe(2);
  });

  it('a missing required option: exit 2, named on stderr', () => {
    const r = runCli(['verify', 'x.tar']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--trust/);
  });
});

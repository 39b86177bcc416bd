import { spawnSync } from './helpers/spawn.js';
import { describe, expect, it } from 'vitest';
import { BIN } from './helpers/cli.js';

describe('stdout closed early', () => {
  it('a reader that stops after one line gets no EPIPE stack trace on stderr', () => {
    // A long help text through `head -1`: the CLI keeps writing after the pipe closed.
    const r = spawnSync('sh', ['-c', `for i in 1 2 3; do node "${BIN}" export --help; done | head -1 >/dev/null; node "${BIN}" verify --help | head -c 10`], {
      encoding: 'utf8',
    });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('Usage: ste');
    expect(r.stderr).not.toMatch(/EPIPE|Error|\bat\s/);
  });

  it('the same through commander (help for a command line it parses, not stored)', () => {
    // The second and third writer find the pipe closed.
    const r = spawnSync('sh', ['-c', `for i in 1 2 3; do node "${BIN}" verify x.tar --help; done | head -c 10`], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('Usage: ste');
    expect(r.stderr).not.toMatch(/EPIPE|Error|\bat\s/);
  });
});

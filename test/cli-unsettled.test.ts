/**
 * The entry is CommonJS, so no top-level await: a command whose promise never settles
 * lets the event loop run dry. That must fail closed (one line, exit 1), never exit 0
 * as if the command had succeeded. A load hook in the child stands in for such a bug by
 * replacing the inspect command with one that waits forever on nothing.
 */
import { spawnSync } from './helpers/spawn.js';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN } from './helpers/cli.js';
import { removeTempDirs, tempDir } from './helpers/tmp.js';

afterAll(removeTempDirs);

describe('CLI entry', () => {
  it('a command that never settles exits 1 with one line, not 0', () => {
    const dir = tempDir('se-unsettled-');
    const hooks = join(dir, 'hooks.mjs');
    writeFileSync(
      hooks,
      [
        'export async function load(url, context, next) {',
        "  if (url.endsWith('/dist/cli/inspect.js')) {",
        "    return { format: 'module', shortCircuit: true, source: 'export async function inspectCommand() { await new Promise(() => {}); }' };",
        '  }',
        '  return next(url, context);',
        '}',
      ].join('\n'),
    );
    const register = join(dir, 'register.mjs');
    writeFileSync(register, `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`);
    const r = spawnSync(process.execPath, ['--import', pathToFileURL(register).href, BIN, 'inspect', join(dir, 'any.tar')], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.signal).toBeNull();
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('stella-evidence: internal error: the command stopped before it finished (please report this)\n');
  });
});

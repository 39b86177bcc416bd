/**
 * `[CMD] --help` and `--version` are printed from text the build stored
 * (dist/cli/help.json, by scripts/gen-help.mjs), without loading commander. The stored
 * text must be what the program itself prints, for every command.
 */
import { appendFileSync, copyFileSync, mkdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO, runCli } from './helpers/cli.js';
import { spawnSync } from './helpers/spawn.js';
import { removeTempDirs, tempDir } from './helpers/tmp.js';

afterAll(removeTempDirs);

type StaticOutput = (args: string[]) => string | null;
const require = createRequire(import.meta.url);
const CLI = join(REPO, 'dist', 'cli');
const stored = JSON.parse(readFileSync(join(CLI, 'help.json'), 'utf8')) as { texts: Record<string, string> };
const { helpTexts } = require(join(CLI, 'main.cjs')) as { helpTexts: () => Record<string, string> };
const { staticOutput } = require(join(CLI, 'static-help.cjs')) as { staticOutput: StaticOutput };
const paths = Object.keys(stored.texts).map((k) => JSON.parse(k) as string[]);
const textOf = (path: string[]) => stored.texts[JSON.stringify(path)];

describe('stored help', () => {
  it('is what the program gives now, for the program and every command', () => {
    expect(stored.texts).toEqual(helpTexts());
    expect(paths).toContainEqual([]);
    expect(paths).toContainEqual(['verify']);
    expect(paths).toContainEqual(['store', 'add']);
    expect(paths).toContainEqual(['trust', 'revoke']);
    expect(paths.length).toBe(18);
  });

  it('is what commander prints when it parses CMD --help, for every command', () => {
    // main() itself, in a child: each command line parsed by commander, its stdout kept.
    const script = [
      'process.setMaxListeners(0); process.stdout.setMaxListeners(0);',
      `const { main } = require(${JSON.stringify(join(CLI, 'main.cjs'))});`,
      `const paths = ${JSON.stringify(paths)};`,
      '(async () => {',
      '  const write = process.stdout.write.bind(process.stdout);',
      '  const out = {};',
      '  for (const p of paths) {',
      "    let text = '';",
      '    process.stdout.write = (s) => ((text += s), true);',
      "    const code = await main(['node', 'stella-evidence', ...p, '--help']);",
      '    process.stdout.write = write;',
      '    out[JSON.stringify(p)] = { code, text };',
      '  }',
      '  write(JSON.stringify(out));',
      '})();',
    ].join('\n');
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    const live = JSON.parse(r.stdout) as Record<string, { code: number; text: string }>;
    for (const path of paths) expect(live[JSON.stringify(path)], path.join(' ')).toEqual({ code: 0, text: textOf(path) });
  });

  it('is printed for CMD --help and -h, exit 0, nothing on stderr', () => {
    for (const [path, flag] of [[[], '--help'], [['verify'], '--help'], [['store', 'list'], '-h'], [['audit', 'verify'], '--help']] as const) {
      const r = runCli([...path, flag]);
      expect(r.status, path.join(' ')).toBe(0);
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe(textOf([...path]));
    }
    // Not a command followed by --help alone: commander parses it, and shows the same text.
    expect(staticOutput(['verify', 'bundle.tar', '--help'])).toBeNull();
    const r = runCli(['verify', 'bundle.tar', '--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(textOf(['verify']));
  });

  it('is used only for exactly a known command and --help or -h, and --version alone', () => {
    const version = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version;
    expect(staticOutput(['--version'])).toBe(`${version}\n`);
    expect(staticOutput(['-V'])).toBe(`${version}\n`);
    expect(staticOutput(['verify', '--help'])).toBe(textOf(['verify']));
    expect(staticOutput(['store', 'add', '-h'])).toBe(textOf(['store', 'add']));
    for (const args of [[], ['verify'], ['--help', 'verify'], ['nosuch', '--help'], ['__proto__', '--help'], ['store add', '--help'], ['--version', 'x'], ['verify', '--version']]) {
      expect(staticOutput(args), JSON.stringify(args)).toBeNull();
    }
  });

  it('is not used with a main.cjs other than the one it came from, nor when it is missing or damaged', () => {
    // A copy of dist/cli's two files with texts stored for the copied main.cjs, as the build does.
    const dir = join(tempDir(), 'dist', 'cli');
    mkdirSync(dir, { recursive: true });
    for (const f of ['static-help.cjs', 'main.cjs']) copyFileSync(join(CLI, f), join(dir, f));
    const main = join(dir, 'main.cjs');
    const storeFor = () => {
      const { size, mtimeMs } = statSync(main);
      writeFileSync(join(dir, 'help.json'), JSON.stringify({ from: { size, mtimeMs }, texts: stored.texts }));
      delete require.cache[join(dir, 'help.json')];
    };
    storeFor();
    const copied = (require(join(dir, 'static-help.cjs')) as { staticOutput: StaticOutput }).staticOutput;
    expect(copied(['verify', '--help'])).toBe(textOf(['verify']));
    // Rebuilt with the same bytes (tsc alone rewrites it): its time changed.
    utimesSync(main, new Date(), new Date(statSync(main).mtimeMs + 5000));
    expect(copied(['verify', '--help'])).toBeNull();
    storeFor();
    expect(copied(['verify', '--help'])).toBe(textOf(['verify']));
    appendFileSync(main, '\n// rebuilt\n');
    expect(copied(['verify', '--help'])).toBeNull();
    storeFor();
    expect(copied(['verify', '--help'])).toBe(textOf(['verify']));
    rmSync(join(dir, 'help.json'));
    delete require.cache[join(dir, 'help.json')];
    expect(copied(['verify', '--help'])).toBeNull();
    writeFileSync(join(dir, 'help.json'), '{');
    expect(copied(['verify', '--help'])).toBeNull();
  });
});

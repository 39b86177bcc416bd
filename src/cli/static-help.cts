import { statSync } from 'node:fs';
import { join } from 'node:path';

/** dist/cli/help.json, as scripts/gen-help.mjs writes it. */
interface StoredHelp {
  /**
   * Size and modification time of the main.cjs the texts came from (any rebuild by tsc
   * rewrites it). Hashing it instead cost about 9 ms of a start-up of about 120.
   */
  from: { size: number; mtimeMs: number };
  texts: Record<string, string>;
}

/**
 * `--help` and `--version` without commander, whose loading is about a fifth of the
 * start-up: the build stores every command's help text (scripts/gen-help.mjs, from
 * helpTexts() in main.cts), and this prints it when the command line is exactly a command
 * followed by --help or -h. Anything else goes to commander, which prints the same text;
 * so does everything when the stored texts are missing or come from another main.cjs
 * (rebuilt by tsc alone, without the build's last step).
 */
export function staticOutput(args: readonly string[]): string | null {
  if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
    return `${(require('../../package.json') as { version: string }).version}\n`;
  }
  const last = args[args.length - 1];
  if (last !== '--help' && last !== '-h') return null;
  let stored: StoredHelp;
  try {
    stored = require('./help.json') as StoredHelp;
    const main = statSync(join(__dirname, 'main.cjs'));
    if (main.size !== stored.from.size || main.mtimeMs !== stored.from.mtimeMs) return null;
  } catch {
    return null;
  }
  const key = JSON.stringify(args.slice(0, -1));
  return Object.hasOwn(stored.texts, key) ? stored.texts[key]! : null;
}

/**
 * `--help` and `--version` without commander, whose loading is about a fifth of the
 * start-up: the build stores every command's help text (scripts/gen-help.mjs, from
 * helpTexts() in main.cts), and this prints it when the command line is exactly a command
 * followed by --help or -h. Anything else, or no stored text, goes to commander, which
 * prints the same text.
 */
export function staticOutput(args: readonly string[]): string | null {
  if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
    return `${(require('../../package.json') as { version: string }).version}\n`;
  }
  const last = args[args.length - 1];
  if (last !== '--help' && last !== '-h') return null;
  let texts: Record<string, string>;
  try {
    texts = require('./help.json') as Record<string, string>;
  } catch {
    return null;
  }
  const key = JSON.stringify(args.slice(0, -1));
  return Object.hasOwn(texts, key) ? texts[key]! : null;
}

#!/usr/bin/env node
/**
 * Build step after tsc: render every `--help` page once, through the real CLI parser,
 * into dist/cli/help-cache.json (used by bin/stella-evidence.js), keyed to the main.js it
 * came from. Rendered as for a pipe (80 columns), the only case the cache serves.
 */
import { statSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const cacheFile = fileURLToPath(new URL('../dist/cli/help-cache.json', import.meta.url));
const mainJs = new URL('../dist/cli/main.js', import.meta.url);
const { main } = await import(mainJs.href);

process.setMaxListeners(0);
process.stdout.setMaxListeners(0);
Object.defineProperty(process.stdout, 'isTTY', { value: false, configurable: true });
const write = process.stdout.write.bind(process.stdout);

async function render(args) {
  let page = '';
  process.stdout.write = (chunk) => {
    page += chunk;
    return true;
  };
  try {
    const code = await main(['node', 'stella-evidence', ...args, '--help']);
    if (code !== 0) throw new Error(`stella-evidence ${args.join(' ')} --help exited ${code}`);
  } finally {
    process.stdout.write = write;
  }
  return page;
}

/** Subcommand names from a help page's "Commands:" section. */
const commandsOf = (page) => {
  const at = page.indexOf('\nCommands:\n');
  if (at < 0) return [];
  return page
    .slice(at + 11)
    .split('\n')
    .map((l) => /^ {2}([a-z][a-z-]*)/.exec(l)?.[1])
    .filter((n) => n && n !== 'help');
};

const pages = {};
const walk = async (args) => {
  const page = await render(args);
  pages[[...args, '--help'].join(' ')] = page;
  if (args.length < 2) for (const c of commandsOf(page)) await walk([...args, c]);
};
await walk([]);
const st = statSync(mainJs);
writeFileSync(cacheFile, JSON.stringify({ main: { size: st.size, mtimeMs: st.mtimeMs }, pages }) + '\n');
process.stderr.write(`gen-help: ${Object.keys(pages).length} help pages in dist/cli/help-cache.json\n`);

#!/usr/bin/env node
/**
 * Build step after tsc: store every command's --help text in dist/cli/help.json, so that
 * `stella-evidence [CMD] --help` prints it without loading commander
 * (src/cli/static-help.cts). The texts come from the program itself (helpTexts() in
 * src/cli/main.cts), with the size and time of the main.cjs they came from: they are
 * used only with that main.cjs, not after a rebuild by tsc alone.
 * test/static-help.test.ts holds them equal to what the program prints.
 */
import { statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const main = fileURLToPath(new URL('../dist/cli/main.cjs', import.meta.url));
const { helpTexts } = require(main);
const { size, mtimeMs } = statSync(main);
const out = fileURLToPath(new URL('../dist/cli/help.json', import.meta.url));
const texts = helpTexts();
writeFileSync(out, JSON.stringify({ from: { size, mtimeMs }, texts }, null, 1) + '\n');
console.log(`gen-help: ${Object.keys(texts).length} help texts in dist/cli/help.json`);

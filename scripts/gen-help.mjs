#!/usr/bin/env node
/**
 * Build step after tsc: store every command's --help text in dist/cli/help.json, so that
 * `stella-evidence [CMD] --help` prints it without loading commander
 * (src/cli/static-help.cts). The texts come from the program itself (helpTexts() in
 * src/cli/main.cts); test/static-help.test.ts holds them equal to what it prints live.
 */
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const { helpTexts } = require('../dist/cli/main.cjs');
const out = fileURLToPath(new URL('../dist/cli/help.json', import.meta.url));
const texts = helpTexts();
writeFileSync(out, JSON.stringify(texts, null, 1) + '\n');
console.log(`gen-help: ${Object.keys(texts).length} help texts in dist/cli/help.json`);

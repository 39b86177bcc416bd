#!/usr/bin/env node
/**
 * Build step after tsc: compile every JSON Schema in schemas/ (the single source) into
 * standalone validator code, dist/manifest/validators.cjs, with the SHA-256 of each
 * schema file it came from. src/manifest/schemas.ts uses a validator only while the
 * schema on disk still has that digest, so compiling ajv at start-up (about 100 ms of
 * a verify here) is skipped without ever validating against a stale schema.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { Ajv } = require('ajv');
const standaloneCode = require('ajv/dist/standalone').default;

const dir = new URL('../schemas/', import.meta.url);
const out = fileURLToPath(new URL('../dist/manifest/validators.cjs', import.meta.url));
// Same options as the runtime compiler in src/manifest/schemas.ts.
const ajv = new Ajv({ strict: true, allErrors: false, code: { source: true } });
const exportsMap = {};
const digests = {};
for (const file of readdirSync(dir).filter((f) => f.endsWith('.schema.json')).sort()) {
  const name = file.slice(0, -'.schema.json'.length);
  const bytes = readFileSync(new URL(file, dir));
  ajv.addSchema(JSON.parse(bytes.toString('utf8')), `stella:${name}`);
  exportsMap[name] = `stella:${name}`;
  digests[name] = createHash('sha256').update(bytes).digest('hex');
}
const code = standaloneCode(ajv, exportsMap);
writeFileSync(out, `${code}\nexports.__digests = ${JSON.stringify(digests)};\n`);
process.stderr.write(`gen-validators: ${Object.keys(digests).length} schemas in dist/manifest/validators.cjs\n`);

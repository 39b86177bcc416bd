import { spawnSync } from './helpers/spawn.js';
import { cpSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { CREATED_AT, EVIDENCE, KEYS, mustRun, REPO, SCHEMAS } from './helpers/cli.js';
import { writeTrustFile } from './helpers/keys.js';
import { removeTempDirs, tempDir } from './helpers/tmp.js';

afterAll(removeTempDirs);

/** A private built copy whose schemas and validators the test may change. */
function builtCopy(): string {
  const dir = tempDir('stella-validators-');
  for (const d of ['bin', 'dist', 'schemas', 'scripts']) cpSync(join(REPO, d), join(dir, d), { recursive: true });
  writeFileSync(join(dir, 'package.json'), readFileSync(join(REPO, 'package.json')));
  symlinkSync(join(REPO, 'node_modules'), join(dir, 'node_modules'));
  const r = spawnSync(process.execPath, [join(dir, 'scripts', 'gen-validators.mjs')], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return dir;
}

describe('validators compiled at build time', () => {
  it('decide and report exactly as ajv compiling the schema at run time', () => {
    const dir = builtCopy();
    const built = createRequire(import.meta.url)(join(dir, 'dist', 'manifest', 'validators.cjs')) as Record<string, ValidateFunction>;
    const ajv = new Ajv({ strict: true, allErrors: false });
    // Real documents: a bundle's manifest and envelope, a trust file, export and verify reports.
    const out = join(dir, 'acme.tar');
    const exp = mustRun(['export', '--tenant', 'acme', '--key', KEYS.acme.key, '--created-at', CREATED_AT, '--out', out, '--json', join(EVIDENCE, 'acme')]);
    const trust = writeTrustFile(join(dir, 'trust.json'), { acme: [KEYS.acme.pub] });
    const ver = mustRun(['verify', out, '--trust', trust, '--json']);
    spawnSync('tar', ['-xf', out, '-C', dir, 'manifest.json', 'manifest.dsse.json']);
    const real: Record<string, unknown[]> = {
      manifest: [JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'))],
      envelope: [JSON.parse(readFileSync(join(dir, 'manifest.dsse.json'), 'utf8'))],
      trust: [JSON.parse(readFileSync(trust, 'utf8'))],
      'export-result': [JSON.parse(exp.stdout)],
      'verify-report': [JSON.parse(ver.stdout)],
    };
    const names = readdirSync(SCHEMAS).filter((f) => f.endsWith('.schema.json')).map((f) => f.slice(0, -12));
    expect(names.length).toBeGreaterThan(5);
    const ids = new Map<string, string>();
    for (const name of names) {
      const schema = JSON.parse(readFileSync(join(SCHEMAS, `${name}.schema.json`), 'utf8')) as { $id: string };
      ajv.addSchema(schema); // some schemas refer to others by $id
      ids.set(name, schema.$id);
    }
    for (const name of names) {
      const runtime = ajv.getSchema(ids.get(name)!)!;
      const pre = built[name]!;
      expect(typeof pre, name).toBe('function');
      const same = (doc: unknown) => {
        const a = runtime(doc);
        const b = pre(doc);
        expect(b, name).toBe(a);
        expect(pre.errors?.[0] ?? null, name).toEqual(runtime.errors?.[0] ?? null);
        return a;
      };
      for (const doc of real[name] ?? []) {
        expect(same(doc), `${name} accepts a real document`).toBe(true);
        // ...and the same document with one member dropped or mistyped
        for (const k of Object.keys(doc as object)) {
          const { [k]: _, ...rest } = doc as Record<string, unknown>;
          same(rest);
          same({ ...(doc as object), [k]: 42 });
        }
      }
      fc.assert(fc.property(fc.jsonValue({ maxDepth: 3 }), (v) => void same(v)), { numRuns: 200 });
    }
  });

  it('are not used once the schema file differs from the one they were built from', () => {
    const dir = builtCopy();
    const out = join(dir, 'acme.tar');
    mustRun(['export', '--tenant', 'acme', '--key', KEYS.acme.key, '--created-at', CREATED_AT, '--out', out, join(EVIDENCE, 'acme')]);
    const trust = writeTrustFile(join(dir, 'trust.json'), { acme: [KEYS.acme.pub] });
    const verify = () => spawnSync(process.execPath, [join(dir, 'bin', 'stella-evidence.js'), 'verify', out, '--trust', trust, '--json'], { encoding: 'utf8' });
    const ok = verify();
    expect(ok.status, ok.stderr).toBe(0);
    // A stricter manifest schema on disk: a stale built validator would still say yes.
    const file = join(dir, 'schemas', 'manifest.schema.json');
    const schema = JSON.parse(readFileSync(file, 'utf8')) as { required: string[]; properties: Record<string, unknown> };
    schema.required = [...schema.required, 'mustExistNow'];
    schema.properties.mustExistNow = { type: 'string' };
    writeFileSync(file, JSON.stringify(schema, null, 2));
    const r = verify();
    expect(r.status).toBe(1);
    expect(JSON.parse(r.stdout).checks.find((c: { name: string }) => c.name === 'schema').code).toBe('MANIFEST_SCHEMA');
  });
});

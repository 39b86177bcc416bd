import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { extractBundle, type ExtractProgress } from '../src/extract/extract.js';
import { loadTrustFile } from '../src/trust/trust-file.js';
import { EVIDENCE, KEYS, mustRun, runCli } from './helpers/cli.js';
import { writeTrustFile } from './helpers/keys.js';
import { BASE_ENV, inStore, mustInStore } from './helpers/store.js';
import { HAS_SCRIPT, onTerminal } from './helpers/terminal.js';
import { removeTempDirs, tempDir } from './helpers/tmp.js';

afterAll(removeTempDirs);

// Any phase's bar, or any cursor control: none of it may reach stdout or a non-terminal.
const ANY_BAR = /(verify|extract|hashing|writing) \[[#-]{10,30}\]|\r|\x1b\[/;
const ACME = join(EVIDENCE, 'acme');
const ARTIFACTS = 11; // files under fixtures/evidence/acme, two of them with the same content

let dir: string;
let bundle: string;
let gzBundle: string;
let trust: string;
let otherTrust: string;
let store: string;

beforeAll(() => {
  dir = tempDir();
  bundle = join(dir, 'acme.tar');
  gzBundle = join(dir, 'acme.tar.gz');
  for (const out of [bundle, gzBundle]) {
    mustRun(['export', '--tenant', 'acme', '--key', KEYS.acme.key, '--created-at', '2026-11-01T00:00:00Z', '--out', out, ACME]);
  }
  trust = writeTrustFile(join(dir, 'trust.json'), { acme: [KEYS.acme.pub] });
  otherTrust = writeTrustFile(join(dir, 'other-trust.json'), { acme: [KEYS.globex.pub] });
  store = join(dir, 'store');
  mustInStore(store, ['store', 'add', '--tenant', 'acme', ACME]);
});

let n = 0;
const fresh = (what: string) => join(dir, `${++n}-${what}`);
const extractArgs = (b: string, to: string, extra: string[] = []) => ['extract', b, '--trust', trust, '--to', to, ...extra];
const storeExportArgs = (out: string, extra: string[] = []) => [
  'export', '--tenant', 'acme', '--key', KEYS.acme.key, '--created-at', '2026-11-01T00:00:00Z', '--out', out, '--store', store, ...extra,
];

describe('extract reports both passes to its caller', () => {
  const run = async (b: string, t: string) => {
    const seen: ExtractProgress[] = [];
    const r = await extractBundle({ bundle: b, trust: loadTrustFile(t), to: fresh('lib'), onProgress: (p) => seen.push({ ...p }) });
    return { r, seen };
  };

  it.each([
    ['a plain tar', () => bundle],
    ['a gzip tar (compressed bytes)', () => gzBundle],
  ])('%s: verify, then extract, each ending at the whole file', async (_, b) => {
    const { r, seen } = await run(b(), trust);
    expect(r.extracted?.files).toBe(ARTIFACTS);
    const size = statSync(b()).size;
    const firstExtract = seen.findIndex((p) => p.phase === 'extract');
    expect(firstExtract).toBeGreaterThan(0);
    const verifying = seen.slice(0, firstExtract);
    const extracting = seen.slice(firstExtract);
    expect(verifying.every((p) => p.phase === 'verify')).toBe(true);
    expect(extracting.every((p) => p.phase === 'extract')).toBe(true);
    for (const pass of [verifying, extracting]) {
      for (let k = 1; k < pass.length; k++) {
        expect(pass[k]!.bytes).toBeGreaterThanOrEqual(pass[k - 1]!.bytes);
        expect(pass[k]!.files).toBeGreaterThanOrEqual(pass[k - 1]!.files);
      }
      expect(pass.every((p) => p.totalBytes === size)).toBe(true);
      expect(pass.at(-1)!.bytes).toBe(size);
    }
    expect(verifying.at(-1)!.files).toBe(16); // every entry of the archive: 11 artifacts hold 10 blobs, plus 6 more files
    expect(extracting.every((p) => p.totalFiles === ARTIFACTS)).toBe(true);
    expect(extracting.at(-1)!.files).toBe(ARTIFACTS);
  });

  it('reports no extract pass when verification fails', async () => {
    const { r, seen } = await run(bundle, otherTrust);
    expect(r.extracted).toBeNull();
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every((p) => p.phase === 'verify')).toBe(true);
  });
});

describe('extract: progress on stderr', () => {
  it('is absent when stderr is not a terminal', () => {
    const r = runCli(extractArgs(bundle, fresh('piped')));
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).not.toMatch(ANY_BAR);
  });

  it.skipIf(!HAS_SCRIPT)('draws the verify pass, then the extract pass, on a terminal stderr and never on stdout', () => {
    const stdout = join(dir, `extract-stdout-${++n}.txt`);
    const to = fresh('tty');
    const t = onTerminal(extractArgs(bundle, to), { stdoutTo: stdout });
    expect(t.status).toBe(0);
    const v = t.stdout.search(/\rverify \[#{10,30}\] 100% [0-9.]+ KiB\/[0-9.]+ KiB 16 files [0-9.]+ K?i?B\/s ETA 0:00\x1b\[K/);
    const x = t.stdout.search(new RegExp(`\\rextract \\[#{10,30}\\] 100% [0-9.]+ KiB/[0-9.]+ KiB ${ARTIFACTS}/${ARTIFACTS} files [0-9.]+ K?i?B/s ETA 0:00\\x1b\\[K`));
    expect(v).toBeGreaterThanOrEqual(0);
    expect(x).toBeGreaterThan(v);
    expect(t.stdout.endsWith('\r\x1b[K')).toBe(true); // erased: the terminal is left as it was
    const report = readFileSync(stdout, 'utf8');
    expect(report).toContain(`extracted ${ARTIFACTS} artifact(s)`);
    expect(report).not.toMatch(ANY_BAR);
  });

  it.skipIf(!HAS_SCRIPT)('erases the bar before the report when both share the terminal', () => {
    const t = onTerminal(extractArgs(gzBundle, fresh('shared')));
    expect(t.status).toBe(0);
    expect(t.stdout).toMatch(/\rextract \[#{10,30}\] 100% /);
    expect(t.stdout).toMatch(/\r\x1b\[KPASS  archive/);
    const failed = onTerminal(['extract', bundle, '--trust', otherTrust, '--to', fresh('refused')]);
    expect(failed.status).toBe(3);
    expect(failed.stdout).toMatch(/\rverify \[/);
    expect(failed.stdout).not.toMatch(/\rextract \[/);
    expect(failed.stdout).toMatch(/\r\x1b\[KPASS  archive/);
  });

  it.skipIf(!HAS_SCRIPT)('stays off on a terminal with --quiet, or when only stdout is a terminal', () => {
    const q = onTerminal(extractArgs(bundle, fresh('quiet'), ['--quiet']));
    expect(q.status).toBe(0);
    expect(q.stdout).toMatch(/extracted 11 artifact\(s\)/);
    expect(q.stdout).not.toMatch(/(verify|extract) \[/);
    expect(q.stdout).not.toMatch(/\x1b\[/);
    const stderr = join(dir, `extract-stderr-${++n}.txt`);
    const s = onTerminal(extractArgs(bundle, fresh('stdout-tty')), { stderrTo: stderr });
    expect(s.status).toBe(0);
    expect(s.stdout).toMatch(/extracted 11 artifact\(s\)/);
    expect(s.stdout).not.toMatch(/\x1b\[/);
    expect(readFileSync(stderr, 'utf8')).toBe('');
  });
});

describe('export from the store: progress on stderr', () => {
  const env = { env: BASE_ENV };

  it('is absent when stderr is not a terminal', () => {
    const r = inStore(store, ['export', '--tenant', 'acme', '--key', KEYS.acme.key, '--created-at', '2026-11-01T00:00:00Z', '--out', fresh('piped.tar')]);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).not.toMatch(ANY_BAR);
  });

  it.skipIf(!HAS_SCRIPT)('draws the writing pass on a terminal stderr and never on stdout', () => {
    const stdout = join(dir, `store-stdout-${++n}.txt`);
    const t = onTerminal(storeExportArgs(fresh('tty.tar')), { ...env, stdoutTo: stdout });
    expect(t.status).toBe(0);
    // 3 metadata files, VERIFY.md, verify.sh, the key and 10 distinct blobs, and the audit run.
    expect(t.stdout).toMatch(/\rwriting \[#{10,30}\] 100% [0-9.]+ KiB\/[0-9.]+ KiB 17\/17 files [0-9.]+ K?i?B\/s ETA 0:00\x1b\[K/);
    expect(t.stdout.endsWith('\r\x1b[K')).toBe(true);
    const report = readFileSync(stdout, 'utf8');
    expect(report).toMatch(/^wrote /);
    expect(report).not.toMatch(ANY_BAR);
  });

  it.skipIf(!HAS_SCRIPT)('stays off on a terminal with --quiet or --json; --json keeps stdout one JSON document', () => {
    const q = onTerminal(storeExportArgs(fresh('quiet.tar'), ['--quiet']), env);
    expect(q.status).toBe(0);
    expect(q.stdout).toMatch(/wrote /);
    expect(q.stdout).not.toMatch(/writing \[|\x1b\[/);
    const j = onTerminal(storeExportArgs(fresh('json.tar'), ['--json']), env);
    expect(j.status).toBe(0);
    expect(j.stdout).not.toMatch(/writing \[|\x1b\[/);
    const doc = JSON.parse(j.stdout.replace(/\r\n/g, '\n')) as { artifacts: number };
    expect(doc.artifacts).toBe(ARTIFACTS);
    // stdout to a file, stderr alone on the terminal: still nothing there, and the file is the document.
    const stdout = join(dir, `store-json-${++n}.txt`);
    const s = onTerminal(storeExportArgs(fresh('json2.tar'), ['--json']), { ...env, stdoutTo: stdout });
    expect(s.status).toBe(0);
    expect(s.stdout).toBe('');
    expect((JSON.parse(readFileSync(stdout, 'utf8')) as { artifacts: number }).artifacts).toBe(ARTIFACTS);
  });

  it.skipIf(!HAS_SCRIPT)('stays off when only stdout is a terminal', () => {
    const stderr = join(dir, `store-stderr-${++n}.txt`);
    const s = onTerminal(storeExportArgs(fresh('stdout-tty.tar')), { ...env, stderrTo: stderr });
    expect(s.status).toBe(0);
    expect(s.stdout).toMatch(/wrote /);
    expect(s.stdout).not.toMatch(/\x1b\[/);
    expect(readFileSync(stderr, 'utf8')).toBe('');
  });
});

import { spawn, type ChildProcess } from 'node:child_process';
import { spawnSync } from './helpers/spawn.js';
import { createHash, randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, EVIDENCE, expectCleanFailure } from './helpers/cli.js';
import { removeTempDirs, tempDir } from './helpers/tmp.js';
import { BASE_ENV, blobFile, inStore, listEvents, listRecords, mustInStore, tenantDir, type RecordJson } from './helpers/store.js';

afterAll(removeTempDirs);

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Many small files (many commit batches) and a few large ones (long blob writes). */
function makeFileSet(dir: string, small: number, large: number, tag: string): string {
  mkdirSync(dir, { recursive: true });
  for (let k = 0; k < small; k++) {
    const sub = join(dir, `d${k % 16}`);
    mkdirSync(sub, { recursive: true });
    writeFileSync(join(sub, `${tag}-${k}.json`), JSON.stringify({ tag, k, pad: randomBytes(600).toString('hex') }));
  }
  for (let k = 0; k < large; k++) writeFileSync(join(dir, `${tag}-large-${k}.bin`), randomBytes(6 * 1024 * 1024));
  return dir;
}

function startAdd(store: string, tenant: string, dir: string): ChildProcess {
  return spawn(process.execPath, [BIN, 'store', 'add', '--tenant', tenant, '--store', store, dir], {
    env: { ...process.env, ...BASE_ENV, STELLA_EVIDENCE_STORE: '' } as NodeJS.ProcessEnv,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
}

/** Resolves once the process has exited and been reaped (its pid is then free). */
const exited = (p: ChildProcess): Promise<{ code: number | null; signal: string | null; stderr: string }> =>
  new Promise((resolve) => {
    let stderr = '';
    p.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('close', (code, signal) => resolve({ code, signal, stderr }));
  });

/**
 * What "consistent" means: the store reads without error, the audit chain verifies, and
 * every visible record has its blob with the right digest and the ingest event that
 * committed it.
 */
function expectConsistent(store: string, tenant: string): RecordJson[] {
  const verify = inStore(store, ['audit', 'verify', '--tenant', tenant]);
  expect(verify.status, verify.stderr).toBe(0);
  const records = listRecords(store, tenant);
  const events = listEvents(store, tenant);
  const bySeq = new Map(events.map((e) => [e.seq, e]));
  for (const r of records) {
    const blob = readFileSync(blobFile(store, tenant, r.sha256));
    expect(sha(blob), r.name).toBe(r.sha256);
    expect(blob.length).toBe(r.size);
    const ev = bySeq.get(r.seq);
    expect(ev?.type, r.name).toBe('ingest');
    expect(ev?.record).toBe(r.id);
  }
  expect(new Set(records.map((r) => r.id)).size).toBe(records.length);
  return records;
}

describe('two writers at once lose nothing and corrupt nothing', () => {
  it('different inputs for the same tenant: every record kept, one unbroken chain', async () => {
    const d = tempDir();
    const store = join(d, 'store');
    const a = makeFileSet(join(d, 'a'), 700, 0, 'a');
    const b = makeFileSet(join(d, 'b'), 700, 0, 'b');
    const [ra, rb] = await Promise.all([exited(startAdd(store, 'acme', a)), exited(startAdd(store, 'acme', b))]);
    expect(ra.code, ra.stderr).toBe(0);
    expect(rb.code, rb.stderr).toBe(0);
    const records = expectConsistent(store, 'acme');
    expect(records).toHaveLength(1400);
    expect(listEvents(store, 'acme')).toHaveLength(1400);
    const names = new Set(records.map((r) => r.name));
    expect(names.has('d3/a-3.json') && names.has('d3/b-3.json')).toBe(true);
  });

  it('the same input twice at once: each record exactly once, the other attempt logged as a duplicate', async () => {
    const d = tempDir();
    const store = join(d, 'store');
    const a = makeFileSet(join(d, 'a'), 600, 0, 'same');
    const [r1, r2] = await Promise.all([exited(startAdd(store, 'acme', a)), exited(startAdd(store, 'acme', a))]);
    expect(r1.code, r1.stderr).toBe(0);
    expect(r2.code, r2.stderr).toBe(0);
    expect(expectConsistent(store, 'acme')).toHaveLength(600);
    const events = listEvents(store, 'acme');
    expect(events.filter((e) => e.type === 'ingest')).toHaveLength(600);
    expect(events.filter((e) => e.type === 'ingest-duplicate')).toHaveLength(600);
  });

  it('two tenants at once stay in their own namespaces', async () => {
    const d = tempDir();
    const store = join(d, 'store');
    const a = makeFileSet(join(d, 'a'), 400, 0, 'x');
    const [r1, r2] = await Promise.all([exited(startAdd(store, 'acme', a)), exited(startAdd(store, 'globex', a))]);
    expect(r1.code, r1.stderr).toBe(0);
    expect(r2.code, r2.stderr).toBe(0);
    expect(expectConsistent(store, 'acme').every((r) => r.tenant === 'acme')).toBe(true);
    expect(expectConsistent(store, 'globex').every((r) => r.tenant === 'globex')).toBe(true);
  });
});

describe('a writer killed with SIGKILL mid-ingest leaves the store readable and consistent', () => {
  it('at several points of a long ingest, and a later ingest completes the work', async () => {
    const d = tempDir();
    const store = join(d, 'store');
    const input = makeFileSet(join(d, 'in'), 2000, 3, 'k');
    const total = 2003;
    let killedMidway = 0;
    let seen = 0;
    for (const delay of [250, 600, 1000, 1500, 2200, 3000, 4000]) {
      const p = startAdd(store, 'acme', input);
      const done = exited(p);
      await new Promise((r) => setTimeout(r, delay));
      p.kill('SIGKILL');
      const r = await done;
      if (r.signal === 'SIGKILL') killedMidway++;
      if (!existsSync(join(store, 'store.json'))) continue; // killed before the store existed
      const records = expectConsistent(store, 'acme');
      // Committed work is never lost by a later crash.
      expect(records.length).toBeGreaterThanOrEqual(seen);
      seen = records.length;
    }
    expect(killedMidway).toBeGreaterThan(0);
    const r = await exited(startAdd(store, 'acme', input));
    expect(r.code, r.stderr).toBe(0);
    const records = expectConsistent(store, 'acme');
    expect(records).toHaveLength(total);
    // Every input is there with its own bytes.
    for (const rec of records.filter((x) => x.name.endsWith('.bin'))) {
      expect(sha(readFileSync(join(input, rec.name)))).toBe(rec.sha256);
    }
    // Temporary files of the killed writers were removed by the writers that followed.
    expect(readdirSync(join(tenantDir(store, 'acme'), 'tmp'))).toEqual([]);
    expect(readdirSync(tenantDir(store, 'acme')).filter((n) => n.startsWith('lock'))).toEqual([]);
  });
});

describe('recovery rules, state by state', () => {
  const FILES = join(EVIDENCE, 'acme', 'sbom');
  const one = join(EVIDENCE, 'acme', 'policy', 'decision-2026-10-14.json');
  const build = () => {
    const store = join(tempDir(), 'store');
    mustInStore(store, ['store', 'add', '--tenant', 'acme', FILES]);
    return store;
  };
  const audit = (s: string) => join(tenantDir(s, 'acme'), 'audit.jsonl');
  const records = (s: string) => join(tenantDir(s, 'acme'), 'records.jsonl');
  const lines = (p: string) => readFileSync(p, 'utf8').split('\n');

  it('a record whose audit event was never written is invisible, and the next writer replaces it', () => {
    const store = build();
    const a = lines(audit(store));
    // Drop the last event: the state a crash between record and event leaves.
    writeFileSync(audit(store), a.slice(0, -2).join('\n') + '\n');
    const visible = listRecords(store, 'acme');
    expect(visible).toHaveLength(2);
    expect(inStore(store, ['audit', 'verify', '--tenant', 'acme']).status).toBe(0);
    mustInStore(store, ['store', 'add', '--tenant', 'acme', FILES]);
    const after = expectConsistent(store, 'acme');
    expect(after).toHaveLength(3);
    expect(lines(records(store)).filter(Boolean)).toHaveLength(3);
  });

  it('half-written lines at the end of either log are ignored by readers and cut off by the next writer', () => {
    const store = build();
    appendFileSync(audit(store), '{"actor":"test-operator","artifacts":["ab');
    appendFileSync(records(store), '{"id":"12');
    expect(expectConsistent(store, 'acme')).toHaveLength(3);
    mustInStore(store, ['store', 'add', '--tenant', 'acme', one]);
    expect(expectConsistent(store, 'acme')).toHaveLength(4);
    for (const p of [audit(store), records(store)]) {
      const text = readFileSync(p, 'utf8');
      expect(text.endsWith('\n')).toBe(true);
      for (const l of text.split('\n').filter(Boolean)) expect(() => JSON.parse(l) as unknown).not.toThrow();
    }
  });

  it('a blob without a record is unreachable and reused by the next ingest of the same bytes', () => {
    const store = build();
    const bytes = readFileSync(one);
    const hex = sha(bytes);
    mkdirSync(join(tenantDir(store, 'acme'), 'blobs', 'sha256', hex.slice(0, 2)), { recursive: true });
    writeFileSync(blobFile(store, 'acme', hex), bytes);
    expect(listRecords(store, 'acme').some((r) => r.sha256 === hex)).toBe(false);
    mustInStore(store, ['store', 'add', '--tenant', 'acme', one]);
    expect(expectConsistent(store, 'acme').some((r) => r.sha256 === hex)).toBe(true);
  });

  it("a dead writer's lock and temporary files are cleared; a live process's are not", () => {
    const store = build();
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const deadPid = Number(dead.stdout);
    const tag = createHash('sha256').update(hostname()).digest('hex').slice(0, 8);
    const tmp = join(tenantDir(store, 'acme'), 'tmp');
    writeFileSync(join(tmp, `${tag}.${deadPid}.00ff00ff00ff00ff.blob`), 'half a blob');
    writeFileSync(join(tmp, `${tag}.${process.pid}.00ff00ff00ff00ff.blob`), 'still being written');
    writeFileSync(join(tenantDir(store, 'acme'), 'lock'), JSON.stringify({ pid: deadPid, host: hostname(), since: '2026-01-01T00:00:00Z' }) + '\n');
    mustInStore(store, ['store', 'add', '--tenant', 'acme', one]);
    expect(readdirSync(tmp)).toEqual([`${tag}.${process.pid}.00ff00ff00ff00ff.blob`]);
    expect(existsSync(join(tenantDir(store, 'acme'), 'lock'))).toBe(false);
    expect(expectConsistent(store, 'acme')).toHaveLength(4);
  });

  it('a lock held from another host is not broken: the writer gives up with the file to remove', () => {
    const store = build();
    const lock = join(tenantDir(store, 'acme'), 'lock');
    writeFileSync(lock, JSON.stringify({ pid: 1, host: 'elsewhere.example', since: '2026-01-01T00:00:00Z' }) + '\n');
    const r = inStore(store, ['store', 'add', '--tenant', 'acme', one], { env: { STELLA_EVIDENCE_LOCK_TIMEOUT_MS: '300' } });
    expectCleanFailure(r, 2, /locked by process 1 on elsewhere\.example.*remove .*lock/);
    expect(existsSync(lock)).toBe(true);
    expect(listRecords(store, 'acme')).toHaveLength(3);
    // Readers never need the lock.
    expect(inStore(store, ['audit', 'verify', '--tenant', 'acme']).status).toBe(0);
  });
});

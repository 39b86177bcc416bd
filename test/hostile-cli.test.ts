/**
 * Hostile archives through the CLI, as a reviewer would meet them: `verify` exits 1 with
 * one line on stderr naming the archive check, prints no stack trace, and writes nothing
 * (it never extracts, so a `../` or absolute name cannot land anywhere).
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { archive, file, gnuLongName, header, paxHeader, simpleEntries, special, type SimpleEntry } from './helpers/tar-craft.js';
import { acmeTrustFile, cli, exportAcmeBundle } from './helpers/fixture-bundle.js';
import { BIN } from './helpers/cli.js';
import { spawnSync } from './helpers/spawn.js';

/** Each case spawns the CLI; a busy machine makes that slow, and time is not what we test. */
const SPAWN_TIMEOUT = 60_000;

let base: string;
let work: string;
let trust: string;
let original: SimpleEntry[];

beforeAll(() => {
  base = mkdtempSync(join(tmpdir(), 'hostile-cli-'));
  work = join(base, 'work');
  mkdirSync(work);
  const made = join(base, 'made');
  mkdirSync(made);
  original = simpleEntries(readFileSync(exportAcmeBundle(join(made, 'acme.tar'))))!;
  trust = acmeTrustFile(join(made, 'trust.json'));
}, 2 * SPAWN_TIMEOUT);
afterAll(() => rmSync(base, { recursive: true, force: true }));

const repack = (extra: Buffer[] = []): Buffer => archive(...original.map((e) => file(e.name, e.content)), ...extra);

/** Everything under `dir`, recursively, to prove a run left the tree as it was. */
function tree(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort();
}

function verifyHostile(name: string, bytes: Buffer, extraArgs: string[] = []) {
  const bundle = join(work, name);
  writeFileSync(bundle, bytes);
  const before = { base: tree(base) };
  const r = cli(['verify', bundle, '--trust', trust, ...extraArgs], work);
  expect(tree(base), 'verify must not write anything').toEqual(before.base);
  rmSync(bundle);
  return r;
}

function expectArchiveRefusal(r: ReturnType<typeof cli>, why: RegExp): void {
  expect(r.status, r.stderr).toBe(1);
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^stella-evidence: verification failed: archive: /);
  expect(lines[0]).toMatch(why);
  expect(r.stderr).not.toMatch(/^\s+at\s|\.js:\d+|internal error/m);
  expect(r.stdout).not.toMatch(/^\s+at\s|\.js:\d+/m);
}

describe('verify refuses hostile archives with exit 1 and one line', () => {
  it('the re-packed baseline verifies (so each case below fails for its own reason)', () => {
    const r = verifyHostile('baseline.tar', repack());
    expect(r.status, r.stderr).toBe(0);
  }, SPAWN_TIMEOUT);

  it.each([
    ['parent directory', () => repack([file('../../escaped.txt', 'x')]), /unsafe entry name .*"\.\." path segment/],
    ['absolute path', () => repack([file('/tmp/stella-absolute-evil', 'x')]), /absolute path/],
    ['backslash', () => repack([file('..\\..\\evil', 'x')]), /backslash/],
    ['drive letter', () => repack([file('C:evil', 'x')]), /drive letter/],
    ['control character', () => repack([file('evil\u001b[31m', 'x')]), /control character/],
    ['NUL in a pax path', () => repack([paxHeader([['path', 'VERIFY.md\u0000x']]), file('x', 'x')]), /control character/],
    ['symbolic link', () => repack([special('keys/link.pub', '2', { linkname: '/etc/passwd' })]), /symbolic link entries are not allowed/],
    ['hard link', () => repack([special('copy.md', '1', { linkname: 'VERIFY.md' })]), /hard link entries are not allowed/],
    ['device', () => repack([special('null', '3')]), /character device entries are not allowed/],
    ['FIFO', () => repack([special('pipe', '6')]), /FIFO entries are not allowed/],
    ['directory', () => repack([special('blobs/', '5')]), /directory entries are not allowed/],
    ['duplicate name', () => repack([file('VERIFY.md', 'the other story')]), /duplicate entry "VERIFY\.md"/],
    ['names equal but for case', () => repack([file('Verify.md', 'x')]), /differ only in case/],
    ['names equal after NFC', () => archive(file('caf\u00e9', 'a'), file('cafe\u0301', 'b')), /not in Unicode NFC form/],
    ['data after the end marker', () => Buffer.concat([repack(), Buffer.from('smuggled payload')]), /data after the end-of-archive marker/],
    ['a header after one zero block', () => Buffer.concat([repack().subarray(0, -512), repack()]), /a header after a zero block/],
    ['missing end marker', () => repack().subarray(0, -1024), /missing end-of-archive marker/],
    ['truncated', () => repack().subarray(0, 20_000), /truncated/],
    ['bad header checksum', () => repack([header({ name: 'x', size: 0, checksum: 'bad' })]), /bad header checksum/],
    ['absurd pax record length', () => repack([paxHeader(Buffer.from('99999999999 path=x\n')), file('x', '')]), /pax record length 99999999999 does not match/],
    ['huge pax header', () => repack([header({ name: 'p', type: 'x', size: 0o7777777777 })]), /pax header of \d+ bytes exceeds the limit/],
    ['two long names for one entry', () => repack([gnuLongName('a'.repeat(200)), gnuLongName('b'.repeat(200)), file('x', '', { format: 'gnu' })]), /two GNU long name records/],
    ['not a tar at all', () => Buffer.from('{"this":"is not a bundle"}\n'.repeat(50)), /bad header checksum|truncated/],
    ['empty file', () => Buffer.alloc(0), /empty input/],
  ])('%s', (_what, make, why) => {
    expectArchiveRefusal(verifyHostile('hostile.tar', make()), why);
  }, SPAWN_TIMEOUT);

  it.skipIf(!existsSync('/dev/zero'))('an endless stream of zeros (/dev/zero) ends with a refusal, not a hang', () => {
    const before = tree(base);
    const r = cli(['verify', '/dev/zero', '--trust', trust], work);
    expectArchiveRefusal(r, /more than 1048576 bytes of padding after the end-of-archive marker/);
    expect(tree(base)).toEqual(before);
  }, SPAWN_TIMEOUT);

  it('a bundle piped in (/dev/stdin) is refused with exit 2 in one line that says what to do', () => {
    const bundle = join(base, 'made', 'acme.tar');
    const r = spawnSync('sh', ['-c', `cat "${bundle}" | "${process.execPath}" "${BIN}" verify /dev/stdin --trust "${trust}" --tenant acme`], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('stella-evidence: cannot read bundle /dev/stdin: it is a pipe, and a bundle is read by position; save it to a file first\n');
  }, SPAWN_TIMEOUT);

  it('gzip-level smuggling and damage', () => {
    const gz = gzipSync(repack());
    expectArchiveRefusal(verifyHostile('trailing.tar.gz', Buffer.concat([gz, Buffer.alloc(3), Buffer.from('hidden')])), /9 bytes after the end of the gzip stream/);
    const crc = Buffer.from(gz);
    crc[crc.length - 5]! ^= 0x10;
    expectArchiveRefusal(verifyHostile('crc.tar.gz', crc), /gzip stream is corrupt/);
    expectArchiveRefusal(verifyHostile('cut.tar.gz', gz.subarray(0, gz.length >> 1)), /gzip stream is corrupt or truncated|truncated/);
  }, 3 * SPAWN_TIMEOUT);

  it('with --json: the report on stdout names the archive check, stderr still one line', () => {
    const r = verifyHostile('json.tar', repack([special('keys/link.pub', '2', { linkname: '/etc/passwd' })]), ['--json']);
    expectArchiveRefusal(r, /symbolic link/);
    const report = JSON.parse(r.stdout) as { verified: boolean; exitCode: number; checks: { name: string; status: string; message: string }[] };
    expect(report.verified).toBe(false);
    expect(report.exitCode).toBe(1);
    const check = report.checks.find((c) => c.name === 'archive')!;
    expect(check.status).toBe('fail');
    expect(check.message).toMatch(/symbolic link entries are not allowed/);
  }, SPAWN_TIMEOUT);
});

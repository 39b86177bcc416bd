/**
 * Helpers for the store, audit and cross-tenant tests: run the CLI against one store
 * directory, and validate JSON output against schemas that $ref each other.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { expect } from 'vitest';
import { mustRun, runCli, SCHEMAS, type CliResult, type RunOptions } from './cli.js';

const ajv = new Ajv({ strict: true, allErrors: true });
for (const f of readdirSync(SCHEMAS).filter((n) => n.endsWith('.schema.json'))) {
  ajv.addSchema(JSON.parse(readFileSync(join(SCHEMAS, f), 'utf8')) as object);
}

export function expectStoreSchema(name: string, doc: unknown): void {
  const validate = ajv.getSchema(`https://stella-ops.org/schemas/stella-evidence/${name}.schema.json`);
  if (!validate) throw new Error(`no schema ${name}`);
  expect(validate(doc), `${name} schema: ${ajv.errorsText(validate.errors)}`).toBe(true);
}

/** A fixed actor and no ambient store, so every test names its store and actor explicitly. */
export const BASE_ENV: Record<string, string | undefined> = {
  STELLA_EVIDENCE_ACTOR: 'test-operator',
  STELLA_EVIDENCE_STORE: undefined,
  XDG_DATA_HOME: undefined,
};

export function inStore(store: string, args: readonly string[], opts: RunOptions = {}): CliResult {
  return runCli([...args, '--store', store], { ...opts, env: { ...BASE_ENV, ...opts.env } });
}

export function mustInStore(store: string, args: readonly string[], opts: RunOptions = {}): CliResult {
  return mustRun([...args, '--store', store], { ...opts, env: { ...BASE_ENV, ...opts.env } });
}

export interface RecordJson {
  id: string;
  tenant: string;
  seq: number;
  name: string;
  sha256: string;
  size: number;
  kind: string;
  mediaType: string;
  labels: Record<string, string>;
  scope: Record<string, string>;
  ingestedAt: string;
}

export interface EventJson {
  seq: number;
  prev: string;
  hash: string;
  type: string;
  time: string;
  tenant: string;
  actor: string;
  artifacts: string[];
  record?: string;
  recordSha256?: string;
  manifestSha256?: string;
  tenants?: string[];
  reason?: string;
}

export function listRecords(store: string, tenant: string, select: readonly string[] = []): RecordJson[] {
  const args = ['store', 'list', '--tenant', tenant, '--json'];
  for (const s of select) args.push('--select', s);
  const r = mustInStore(store, args);
  return (JSON.parse(r.stdout) as { records: RecordJson[] }).records;
}

export function listEvents(store: string, tenant: string): EventJson[] {
  const r = mustInStore(store, ['audit', 'list', '--tenant', tenant, '--json']);
  return (JSON.parse(r.stdout) as { events: EventJson[] }).events;
}

export const tenantDir = (store: string, tenant: string): string => join(store, 'tenants', tenant);
export const blobFile = (store: string, tenant: string, hex: string): string =>
  join(store, 'tenants', tenant, 'blobs', 'sha256', hex.slice(0, 2), hex);

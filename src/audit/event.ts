import { canonicalBytes } from '../json/canonical.js';
import { sha256Hex } from '../crypto/sha256.js';
import type { Authorization } from '../authority/record.js';

/**
 * One line of a tenant's audit.jsonl. The chain: `prev` is the previous event's `hash`
 * (64 zeros for the first), and `hash` is the SHA-256 of the RFC 8785 canonical JSON of
 * the event without its `hash` member. Changing, removing, inserting or reordering any
 * event therefore breaks a link that `audit verify` and `verify` detect.
 */
export const GENESIS_HASH = '0'.repeat(64);

export const EVENT_TYPES = ['ingest', 'ingest-duplicate', 'export', 'cross-tenant-export'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** The fields a caller chooses; the log supplies seq, prev, hash, tenant, time and actor. */
export interface AuditEventDraft {
  type: EventType;
  /** SHA-256 of the artifacts concerned, sorted and unique. */
  artifacts: string[];
  /** The record an ingest created or found already present. */
  record?: string;
  /** SHA-256 of the canonical record line an ingest committed. */
  recordSha256?: string;
  /** SHA-256 of the exported bundle's manifest.json. */
  manifestSha256?: string;
  /** The selection an export asked for (normal form, see store/selector.ts). */
  selection?: Record<string, unknown>;
  /** Cross-tenant exports: all tenants involved (sorted), the requesting one and why. */
  tenants?: string[];
  requestingTenant?: string;
  reason?: string;
  /** Who authorized the command (issue 4): the token's identity, or that none was presented. */
  authorization?: Authorization;
}

export interface AuditEvent extends AuditEventDraft {
  seq: number;
  prev: string;
  hash: string;
  time: string;
  tenant: string;
  actor: string;
}

/** What a bundle carries for an event it must not disclose: enough to keep the chain linked. */
export interface AuditStub {
  seq: number;
  tenant: string;
  prev: string;
  hash: string;
}

export type BundleAuditLine = AuditEvent | AuditStub;

/** A full event structurally is also a stub, so this tells them apart by content. */
export const isStub = (e: BundleAuditLine): boolean => !('type' in e);

export function eventHash(e: Omit<AuditEvent, 'hash'> | AuditEvent): string {
  const { hash: _omit, ...rest } = e as AuditEvent;
  void _omit;
  return sha256Hex(canonicalBytes(rest));
}

export function sealEvent(
  draft: AuditEventDraft,
  head: { seq: number; hash: string },
  tenant: string,
  actor: string,
  time: string,
  authorization?: Authorization,
): AuditEvent {
  const body: Omit<AuditEvent, 'hash'> = { ...draft, ...(authorization ? { authorization } : {}), seq: head.seq + 1, prev: head.hash, tenant, actor, time };
  return { ...body, hash: eventHash(body) };
}

export const stubOf = (e: AuditEvent): AuditStub => ({ seq: e.seq, tenant: e.tenant, prev: e.prev, hash: e.hash });

export function eventLine(e: BundleAuditLine): Buffer {
  return Buffer.concat([canonicalBytes(e), Buffer.from('\n')]);
}

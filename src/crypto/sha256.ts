import { createHash } from 'node:crypto';

// node:crypto uses the CPU's SHA extensions: roughly ten times a pure-JS SHA-256 here.
export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

export function sha256Bytes(data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(data).digest());
}

export const SHA256_HEX = /^[0-9a-f]{64}$/;

import { createHash, createPrivateKey, createPublicKey, sign } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';

/** SPKI DER of a PEM public key (or of a private key's public half), via node:crypto. */
export function spkiDer(pemFile: string): Buffer {
  return createPublicKey(readFileSync(pemFile, 'utf8')).export({ type: 'spki', format: 'der' });
}

export const sha256Hex = (data: Uint8Array | string): string => createHash('sha256').update(data).digest('hex');

export const keyidOf = (pemFile: string): string => sha256Hex(spkiDer(pemFile));

/**
 * Write a trust file directly (not through the CLI), so verify is tested against a file
 * the tool under test did not produce. `tenants` maps a tenant to public key files.
 */
export function writeTrustFile(path: string, tenants: Record<string, readonly string[]>, threshold = 1): string {
  const doc: { version: 1; tenants: Record<string, unknown> } = { version: 1, tenants: {} };
  for (const [tenant, pubs] of Object.entries(tenants)) {
    doc.tenants[tenant] = {
      threshold,
      keys: pubs.map((p) => ({ keyid: keyidOf(p), publicKey: spkiDer(p).toString('base64') })),
    };
  }
  writeFileSync(path, JSON.stringify(doc, null, 2) + '\n');
  return path;
}

/** DSSE v1 pre-authentication encoding, written independently of src/. */
export function pae(payloadType: string, payload: Buffer): Buffer {
  const t = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([Buffer.from(`DSSEv1 ${t.length} `), t, Buffer.from(` ${payload.length} `), payload]);
}

/** A DSSE envelope over `payload`, signed with the given Ed25519 PKCS#8 PEM key files. */
export function signEnvelope(payload: Buffer, keyFiles: readonly string[], payloadType = 'application/vnd.in-toto+json') {
  return {
    payload: payload.toString('base64'),
    payloadType,
    signatures: keyFiles.map((f) => ({
      keyid: keyidOf(f),
      sig: sign(null, pae(payloadType, payload), createPrivateKey(readFileSync(f, 'utf8'))).toString('base64'),
    })),
  };
}

import { existsSync } from 'node:fs';
import { usageError } from '../errors.js';
import { generateKeyPair } from '../crypto/keys.js';
import { writeFileAtomic } from '../util/atomic-file.js';
import { out, passphraseFrom, printJson } from './io.js';

export function keygenCommand(o: { out: string; force?: boolean; passphraseFile?: string; json?: boolean }): void {
  const keyFile = `${o.out}.key`;
  const pubFile = `${o.out}.pub`;
  if (!o.force) {
    for (const f of [keyFile, pubFile]) {
      if (existsSync(f)) throw usageError('OUTPUT_EXISTS', `${f} already exists: choose another --out or pass --force`);
    }
  }
  const passphrase = passphraseFrom(o.passphraseFile);
  const pair = generateKeyPair(passphrase);
  writeFileAtomic(keyFile, pair.privatePem, { mode: 0o600, overwrite: !!o.force });
  writeFileAtomic(pubFile, pair.publicPem, { mode: 0o644, overwrite: !!o.force });
  if (o.json) printJson({ keyid: pair.keyid, privateKey: keyFile, publicKey: pubFile, encrypted: passphrase !== undefined });
  else out(pair.keyid);
  process.stderr.write(`wrote ${keyFile} (${passphrase !== undefined ? 'encrypted' : 'unencrypted'}, mode 0600) and ${pubFile}\n`);
}

import { parsePrivateKeyPem } from '../crypto/keys.js';
import { cosignBundle } from '../sign/cosign.js';
import { out, passphraseFrom, printJson, readTextFile, warn } from './io.js';

export interface SignFlags {
  key: string;
  out?: string;
  force?: boolean;
  passphraseFile?: string;
  json?: boolean;
}

export async function signCommand(bundle: string, o: SignFlags): Promise<void> {
  const key = parsePrivateKeyPem(readTextFile(o.key, 'key file'), o.key, passphraseFrom(o.passphraseFile));
  const r = await cosignBundle({ bundle, key, out: o.out, force: !!o.force });
  if (r.alreadySigned) warn(`${r.keyid} had already signed this bundle: the new signature is appended but counts once`);
  if (o.json) {
    printJson(r);
    return;
  }
  out(`signed ${r.bundle} for tenant ${r.tenant} with ${r.keyid}; ${r.signatures} signature(s) now`);
  out(`  wrote     ${r.out}${r.out === r.bundle ? ' (replaced in place)' : ''}`);
  out(`  manifest  sha256:${r.manifestSha256} (unchanged: only the envelope has a new signature)`);
  out('  reviewers count this signature only if their trust file holds the key for this tenant (stella-evidence trust add)');
}

import { extractBundle } from '../extract/extract.js';
import { loadTrustFile } from '../trust/trust-file.js';
import { requireTenantId } from '../util/tenant.js';
import { parseRfc3339 } from '../util/time.js';
import { humanBytes, out } from './io.js';
import { limitsFromFlags } from './limits.js';
import { progressBar, wantProgress } from './progress.js';
import { printVerifyReport, reportFailure } from './verify.js';

export interface ExtractFlags {
  trust: string;
  to: string;
  tenant?: string;
  at?: string;
  allowCrossTenant?: boolean;
  maxArchiveBytes?: string;
  maxEntries?: string;
  quiet?: boolean;
}

export async function extractCommand(bundle: string, o: ExtractFlags): Promise<number> {
  const tenant = o.tenant === undefined ? undefined : requireTenantId(o.tenant);
  const at = o.at === undefined ? undefined : parseRfc3339(o.at, '--at');
  const trust = loadTrustFile(o.trust);
  const bar = progressBar(wantProgress(o));
  let r;
  try {
    r = await extractBundle({
      bundle,
      trust,
      tenant,
      at,
      to: o.to,
      allowCrossTenant: !!o.allowCrossTenant,
      limits: limitsFromFlags(o),
      onProgress: (p) => bar.update({ label: p.phase, ...p }),
    });
  } finally {
    bar.done();
  }
  printVerifyReport(r.report);
  if (!r.extracted) {
    reportFailure('verification failed, nothing was extracted', r.report);
    return r.report.exitCode;
  }
  const x = r.extracted;
  out(`extracted ${x.files} artifact(s), ${humanBytes(x.bytes)}, into ${x.to} under their logical names`);
  return 0;
}

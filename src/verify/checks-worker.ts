import { parentPort, workerData } from 'node:worker_threads';
import { TrustStore } from '../trust/trust-file.js';
import { BundleChecks } from './checks.js';
import type { FromWorker, RemoteInit, ToWorker } from './remote-checks.js';

/** Worker thread of RemoteChecks: BundleChecks fed by messages, the report sent back. */
const { opts, trust } = workerData as RemoteInit;
const checks = new BundleChecks({ ...opts, trust: trust ? new TrustStore(trust) : null });
const port = parentPort!;

port.on('message', (m: ToWorker) => {
  switch (m.t) {
    case 'file': {
      const bytes = Buffer.from(m.bytes.buffer, m.bytes.byteOffset, m.bytes.byteLength);
      (m.audit ? checks.auditFiles : checks.meta).set(m.name, bytes);
      // The point of this thread: the costly metadata steps while blobs are still hashed.
      if (!m.audit) checks.precompute();
      break;
    }
    case 'entries': {
      const names = m.names.split('\n');
      for (let k = 0; k < names.length; k++) {
        checks.entries.set(names[k]!, { sha256: m.digests.slice(64 * k, 64 * k + 64), size: m.sizes[k]! });
      }
      break;
    }
    case 'finish': {
      let reply: FromWorker;
      try {
        reply = { report: checks.finish(null).report };
      } catch (e) {
        reply = { error: e instanceof Error ? e.message : String(e) };
      }
      port.postMessage(reply);
      break;
    }
  }
});

import { parentPort, workerData } from 'node:worker_threads';
import { TrustStore } from '../trust/trust-file.js';
import { BundleChecks, checkSignaturesAhead, readEnvelope, type EnvelopeRead } from './checks.js';
import type { FromWorker, RemoteInit, ToWorker } from './remote-checks.js';

/**
 * Worker thread of RemoteChecks. Role 'checks': BundleChecks fed by messages, the report
 * sent back. Role 'envelope': reads the one envelope it is sent and sends back the result.
 */
const { role, opts, trust } = workerData as RemoteInit;
const port = parentPort!;
const asBuffer = (b: Uint8Array): Buffer => Buffer.from(b.buffer, b.byteOffset, b.byteLength);

if (role === 'envelope') {
  port.once('message', (m: ToWorker) => {
    if (m.t !== 'file') return;
    const read = readEnvelope(asBuffer(m.bytes), opts.maxSignatures);
    const checked = trust ? checkSignaturesAhead(read, new TrustStore(trust)) : [];
    const { envelope, transfer } = portable(read);
    port.postMessage({ envelope, checked } satisfies FromWorker, transfer);
  });
} else {
  const checks = new BundleChecks({ ...opts, trust: trust ? new TrustStore(trust) : null });
  port.on('message', (m: ToWorker) => {
    switch (m.t) {
      case 'file':
        (m.audit ? checks.auditFiles : checks.meta).set(m.name, asBuffer(m.bytes));
        // The point of this thread: the costly metadata steps while entries are still read.
        if (!m.audit) checks.precompute();
        break;
      case 'envelope-elsewhere':
        checks.envelopeReadElsewhere();
        break;
      case 'envelope-read': {
        const r = m.read;
        checks.setEnvelopeRead(typeof r === 'string' ? r : { envelope: r.envelope, payload: asBuffer(r.payload) }, m.checked);
        checks.precompute();
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
}

/**
 * The read as it crosses threads: the payload's memory handed over, not copied (this
 * thread is done with it; fresh pages for a copy of many MiB are slow to come by), and
 * the envelope without its base64 text, which nothing after decoding needs (the checks
 * use its type and signatures).
 */
function portable(read: EnvelopeRead): { envelope: EnvelopeRead; transfer: ArrayBuffer[] } {
  if (typeof read === 'string') return { envelope: read, transfer: [] };
  const p = read.payload;
  const own = p.byteOffset === 0 && p.buffer.byteLength === p.length && p.buffer instanceof ArrayBuffer;
  // A small payload may share the allocation pool, which must not go: copy that one.
  const payload = own ? p : Buffer.from(new Uint8Array(p).buffer);
  return { envelope: { envelope: { ...read.envelope, payload: '' }, payload }, transfer: [payload.buffer as ArrayBuffer] };
}

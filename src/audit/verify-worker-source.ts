/**
 * Source of the signature-verification worker, run with `new Worker(src, { eval: true })`.
 * It is a string so that it works unchanged from the TypeScript sources (tests),
 * from dist/ and from a single-file bundle, with no path to resolve at run time.
 *
 * Protocol: workerData.keys is an array of DER SPKI public keys. Each message
 * { id, buf } carries a packed batch of jobs: u16le key index, u32le message
 * length, message bytes, 64 signature bytes. The reply { id, fail } names the
 * index of the first job whose signature does not verify, or -1.
 */
export const VERIFY_WORKER_SOURCE = `
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const crypto = require('node:crypto');
const keys = workerData.keys.map((der) => crypto.createPublicKey({ key: Buffer.from(der), format: 'der', type: 'spki' }));
parentPort.on('message', (msg) => {
  const buf = Buffer.from(msg.buf);
  let off = 0;
  let index = 0;
  let fail = -1;
  while (off < buf.length) {
    const k = buf.readUInt16LE(off);
    const n = buf.readUInt32LE(off + 2);
    off += 6;
    const data = buf.subarray(off, off + n);
    off += n;
    const sig = buf.subarray(off, off + 64);
    off += 64;
    const key = keys[k];
    if (key === undefined || !crypto.verify(null, data, key, sig)) { fail = index; break; }
    index++;
  }
  parentPort.postMessage({ id: msg.id, fail });
});
`;

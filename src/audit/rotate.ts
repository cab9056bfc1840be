/**
 * Key rotation: one record, signed by BOTH the old and the new key, that hands
 * the log over. From the record after it, only the new key is valid; the old key
 * can no longer sign anything later in this log (a verifier reports it as
 * 'key-out-of-range', cf. journald CVE-2023-31439). The new key must also be in
 * the verifier's trusted set: the rotation record names it but cannot vouch for it.
 */
import { ZtError } from '../errors.js';
import type { SigningKey } from '../keys/index.js';
import { DEFAULT_LOCK_TIMEOUT_MS, LogFile, type AppendResult } from './writer.js';

export async function rotateKey(opts: { logPath: string; oldKey: SigningKey; newKey: SigningKey; lockTimeoutMs?: number; reason?: string }): Promise<AppendResult> {
  const { oldKey, newKey } = opts;
  if (oldKey.keyId === newKey.keyId) {
    throw new ZtError('usage', `the new audit key is the same key as the old one (${oldKey.keyId})`, {
      hint: 'generate a new key with `zt-ffmpeg keygen --out DIR` and rotate to it',
    });
  }
  const file = await LogFile.open(opts.logPath, opts.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS);
  try {
    const event = { type: 'key-rotation', oldKid: oldKey.keyId, newKid: newKey.keyId, ...(opts.reason !== undefined ? { reason: opts.reason } : {}) };
    return await file.locked(() => file.appendRecord(event, oldKey, [oldKey, newKey], newKey));
  } finally {
    await file.close();
  }
}

/**
 * Opening the audit log for a job. Fail closed: if the key cannot be loaded (or, where the
 * policy demands a provisioned key, was not provisioned) or the log cannot be opened, no job
 * runs (exit 8).
 */
import { loadSigningKey } from '../keys/index.js';
import { openAuditLog, type AuditWriter } from '../audit/writer.js';
import type { AuditEvent } from '../audit/record.js';
import type { Policy } from '../policy/types.js';
import type { StatePaths } from '../util/paths.js';

export type { AuditWriter, AuditEvent };

export async function openAuditSession(paths: StatePaths, policy: Policy | undefined): Promise<AuditWriter> {
  const autoGenerate = policy ? !policy.audit.requireProvisionedKey : false;
  const key = await loadSigningKey(paths.auditKey, { autoGenerate });
  // Appends hold the lock for a few milliseconds, but a loaded machine running many jobs at
  // once can queue them for seconds: wait generously before failing closed.
  return openAuditLog({ logPath: paths.auditLog, key, lockTimeoutMs: 60_000 });
}

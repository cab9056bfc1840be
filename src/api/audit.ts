/**
 * Verifying audit logs, for the CLI's `audit verify` and for library callers alike: which logs,
 * which trusted keys (never the log's own word), then the verifier.
 */
import path from 'node:path';
import { existsSync } from 'node:fs';
import { verifyLogs } from '../audit/verify.js';
import { loadTrustedKeys, publicKeyPathFor } from '../keys/index.js';
import { statePaths, allowListedEnv } from '../util/paths.js';
import { EXIT, ZtError } from '../errors.js';
import { auditVerifyResult, type AuditVerifyResult } from './results.js';

export interface VerifyAuditLogOptions {
  /** Logs to verify (default: the local log, $XDG_STATE_HOME/zt-ffmpeg/audit.log or `auditLog`). */
  readonly logs?: readonly string[];
  /** Trusted public key files (*.pub). */
  readonly keys?: readonly string[];
  /** A directory of trusted *.pub keys. */
  readonly keyring?: string;
  /**
   * A checkpoint kept elsewhere (a CI artifact) to check the one log against; false: verify a
   * log that has no checkpoint at all (otherwise a missing checkpoint fails: records cut off the
   * end would go unnoticed).
   */
  readonly checkpoint?: string | false;
  /** The default log, when `logs` is empty. */
  readonly auditLog?: string;
  /**
   * Without keys or keyring: trust this machine's own audit key (auditKey's .pub). Off by
   * default for library callers: trust should be named.
   */
  readonly trustLocalKey?: boolean;
  readonly auditKey?: string;
  readonly env?: NodeJS.ProcessEnv;
}

export interface VerifyOutcome {
  readonly result: AuditVerifyResult;
  /** Said to a human when the machine's own key was trusted. */
  readonly trustNote?: string;
}

/** What `audit verify` does; the CLI adds the rendering. */
export async function verifyAuditLogs(o: VerifyAuditLogOptions): Promise<VerifyOutcome> {
  const env = allowListedEnv(o.env ?? process.env);
  const paths = statePaths(env, { ...(o.auditLog ? { auditLog: o.auditLog } : {}), ...(o.auditKey ? { auditKey: o.auditKey } : {}) });
  const logPaths = o.logs && o.logs.length > 0 ? o.logs.map((l) => path.resolve(l)) : [paths.auditLog];
  for (const l of logPaths) {
    if (!existsSync(l)) throw new ZtError('audit-invalid', `audit log ${l} does not exist`, { hint: 'name the log to verify, or pass --audit-log' });
  }
  let keyFiles = [...(o.keys ?? [])];
  let trustNote: string | undefined;
  if (keyFiles.length === 0 && !o.keyring) {
    const local = publicKeyPathFor(paths.auditKey);
    if (o.trustLocalKey !== true || !existsSync(local)) {
      throw new ZtError('usage', 'no trusted key given', { hint: 'pass --key FILE.pub (repeatable) or --keyring DIR; trust never comes from the log itself' });
    }
    keyFiles = [local];
    trustNote = `trusting this machine's own audit key ${local} (pass --key or --keyring to verify against keys you hold)`;
  }
  const trusted = await loadTrustedKeys({ keyFiles, ...(o.keyring ? { keyringDir: o.keyring } : {}) });
  const report = await verifyLogs({
    logPaths,
    trusted,
    ...(typeof o.checkpoint === 'string' ? { checkpointPath: path.resolve(o.checkpoint) } : {}),
    requireCheckpoint: o.checkpoint !== false,
  });
  const result = auditVerifyResult(report, [...trusted.keys()], report.ok ? EXIT.ok : EXIT.auditFailed);
  return { result, ...(trustNote ? { trustNote } : {}) };
}

/** Verify audit logs against the keys you trust: every signature, link, sequence number and the checkpoint. */
export async function verifyAuditLog(o: VerifyAuditLogOptions): Promise<AuditVerifyResult> {
  return (await verifyAuditLogs(o)).result;
}

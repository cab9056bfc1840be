/**
 * `zt-ffmpeg check`: the inspection alone, one verdict per file, nothing processed. Each
 * verdict is recorded in the audit log.
 */
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { EXIT, ZtError, isZtError, type ExitCode, type Violation } from '../errors.js';
import { statePaths, type Env } from '../util/paths.js';
import { openAuditSession, type AuditWriter } from './audit-session.js';
import { loadJobPolicy, prepareTools, type JobTools } from './context.js';
import { inspectInput, inspectionSummary, deepCheck, summarizeProbe } from '../inspect/inspect.js';
import { inspectPlanner } from '../plan/inspect-planner.js';
import type { JobOutcome } from './outcome.js';
import type { LoadedPolicy } from '../policy/types.js';
import { osPrincipal, ciContext } from '../identity/principal.js';
import { VERSION } from '../version.js';

export interface CheckRequest {
  readonly inputs: readonly string[];
  readonly policy: string | undefined;
  readonly policyKeyring?: string;
  readonly env: Env;
  readonly auditLog?: string;
  readonly auditKey?: string;
}

export interface CheckResult {
  readonly exitCode: ExitCode;
  readonly files: JobOutcome[];
  /** Set when nothing could be checked (policy, audit or sandbox unavailable). */
  readonly error?: ZtError;
}

const SEVERITY: readonly ExitCode[] = [EXIT.ok, EXIT.inputRefused, EXIT.unauthorized, EXIT.ffmpegFailed, EXIT.limitBreached, EXIT.usage, EXIT.internal, EXIT.sandboxUnavailable, EXIT.policyInvalid, EXIT.auditFailed];

/** The most severe of several exit codes (0 only when all are 0). */
export function mostSevere(codes: readonly ExitCode[]): ExitCode {
  let worst: ExitCode = EXIT.ok;
  for (const c of codes) if (SEVERITY.indexOf(c) > SEVERITY.indexOf(worst)) worst = c;
  return worst;
}

export async function checkFiles(req: CheckRequest): Promise<CheckResult> {
  const paths = statePaths(req.env, { ...(req.auditLog ? { auditLog: req.auditLog } : {}), ...(req.auditKey ? { auditKey: req.auditKey } : {}) });
  let loaded: LoadedPolicy;
  let audit: AuditWriter | undefined;
  let tools: JobTools | undefined;
  try {
    const keyring = req.policyKeyring ?? req.env['ZT_FFMPEG_POLICY_KEYRING'];
    loaded = await loadJobPolicy(req.policy ?? req.env['ZT_FFMPEG_POLICY'], keyring ? { keyring } : {});
    audit = await openAuditSession(paths, loaded.policy);
    tools = await prepareTools(loaded.policy, paths, { ffmpeg: loaded.policy.input.deepCheck });
  } catch (e) {
    await audit?.close().catch(() => undefined);
    if (!isZtError(e)) throw e;
    return { exitCode: e.exitCode, files: [], error: e };
  }
  const policy = loaded.policy;
  const os_ = osPrincipal();
  const ci = ciContext(req.env);
  const principal = { user: os_.user, uid: os_.uid, groups: os_.groups, ...(ci ? { ci } : {}) };
  const files: JobOutcome[] = [];
  try {
    for (const input of req.inputs) {
      const started = performance.now();
      const jobId = randomUUID();
      let violations: Violation[] = [];
      let warnings: Violation[] = [];
      let inputRec: NonNullable<JobOutcome['input']> = { path: path.resolve(input) };
      let err: ZtError | undefined;
      try {
        const r = await inspectInput(input, policy, tools, inspectPlanner, { digestNow: true });
        try {
          violations = r.violations;
          warnings = r.warnings;
          if (violations.length === 0 && policy.input.deepCheck) violations = await deepCheck(r, policy, tools, inspectPlanner);
          inputRec = { path: r.input.path, size: r.input.stat.size, ...(r.digest ? { sha256: r.digest.sha256 } : {}), ...(r.magic.type ? { magic: r.magic.type } : {}), ...(r.probe ? { probe: summarizeProbe(r.probe) } : {}), ...inspectionSummary(r) };
        } finally {
          await r.input.handle.close();
        }
        if (violations.length > 0) {
          err = new ZtError('input-refused', `input refused by policy: ${violations.map((v) => v.message).join('; ')}`, { hint: violations[0]?.hint, violations });
        }
      } catch (e) {
        if (!isZtError(e)) throw e;
        err = e;
        violations = [...e.violations];
      }
      const enforce = policy.mode === 'enforce';
      const refused = err !== undefined && (enforce || err.reason !== 'input-refused');
      const verdict = err === undefined ? 'ok' : refused ? (err.reason === 'input-refused' ? 'refused' : 'failed') : 'ok';
      const exitCode: ExitCode = refused && err ? err.exitCode : EXIT.ok;
      if (!refused && err) warnings = [...warnings, ...violations.map((v) => ({ ...v, message: `[${policy.mode}] would refuse: ${v.message}` }))];
      const seqs: number[] = [];
      let auditError: string | undefined;
      try {
        const rec = await audit.append({
          type: 'check',
          jobId,
          command: 'check',
          tool: { name: 'zt-ffmpeg', version: VERSION },
          host: os.hostname(),
          policy: { path: loaded.path, sha256: loaded.sha256, stage: policy.stage, mode: policy.mode },
          principal,
          input: inputRec,
          verdict,
          exitCode,
          violations: refused ? violations : [],
          warnings,
          timings: { totalMs: Math.round(performance.now() - started) },
        });
        seqs.push(rec.seq);
      } catch (e) {
        auditError = e instanceof Error ? e.message : String(e);
      }
      files.push({
        command: 'check',
        verdict: auditError ? 'failed' : verdict,
        exitCode: auditError ? EXIT.auditFailed : exitCode,
        ...(refused && err ? { reason: err.reason, message: err.message, ...(err.hint ? { hint: err.hint } : {}) } : {}),
        ...(auditError ? { reason: 'audit-unavailable' as const, message: `the audit record could not be written: ${auditError}` } : {}),
        jobId,
        violations: refused ? violations : [],
        warnings,
        policy: { path: loaded.path, sha256: loaded.sha256, stage: policy.stage, mode: policy.mode },
        principal,
        input: inputRec,
        degraded: tools.sandbox.degraded,
        timings: { totalMs: Math.round(performance.now() - started) },
        audit: { log: paths.auditLog, seqs, ...(auditError ? { error: auditError } : {}) },
      });
    }
  } finally {
    await audit.close().catch(() => undefined);
    await tools.cleanup().catch(() => undefined);
  }
  return { exitCode: mostSevere(files.map((f) => f.exitCode)), files };
}

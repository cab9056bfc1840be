import path from 'node:path';
import { existsSync } from 'node:fs';
import { verifyAuditLogs } from '../../api/audit.js';
import { readRecords, filterRecords, auditStats, type RecordFilter, type ParsedRecord } from '../../audit/query.js';
import { statePaths } from '../../util/paths.js';
import { JSON_SCHEMA_VERSION } from '../render.js';
import type { CommandContext } from '../context.js';
import { stdoutOpen } from '../streams.js';
import { EXIT, ZtError, type ExitCode } from '../../errors.js';

function defaultLog(ctx: CommandContext, logs: readonly string[]): string[] {
  if (logs.length > 0) return logs.map((l) => path.resolve(l));
  return [statePaths(ctx.env, ctx.flags.auditLog ? { auditLog: ctx.flags.auditLog } : {}).auditLog];
}

export interface VerifyFlags {
  readonly key?: string[];
  readonly keyring?: string;
  readonly checkpoint?: string;
}

export async function auditVerifyCommand(ctx: CommandContext, logs: readonly string[], flags: VerifyFlags): Promise<ExitCode> {
  const { io } = ctx;
  const { result, trustNote } = await verifyAuditLogs({
    logs,
    ...(flags.key ? { keys: flags.key } : {}),
    ...(flags.keyring ? { keyring: flags.keyring } : {}),
    ...(flags.checkpoint ? { checkpoint: flags.checkpoint } : {}),
    ...(ctx.flags.auditLog ? { auditLog: ctx.flags.auditLog } : {}),
    ...(ctx.flags.auditKey ? { auditKey: ctx.flags.auditKey } : {}),
    trustLocalKey: true,
    env: ctx.env,
  });
  const exitCode = result.exitCode;
  if (io.json) {
    io.emitJson(result);
    return exitCode;
  }
  const report = result;
  if (trustNote) io.info(io.style.dim(trustNote));
  for (const l of report.logs) {
    if (l.ok) {
      io.info(`${io.style.green('✓ intact')} ${l.path}: ${l.records} records, head ${l.headHash.slice(0, 16)}…, checkpoint ${l.checkpoint}`);
    } else {
      const b = l.firstBad;
      io.error(`${io.style.red('✗ TAMPERED')} ${l.path}: ${b ? `line ${b.line}${b.seq !== undefined ? ` (seq ${b.seq})` : ''}: ${b.fault}: ${b.message}` : 'invalid'}`);
      io.error(io.style.dim(`  ${l.records} records before it verify; checkpoint ${l.checkpoint}${l.checkpointMessage ? ` (${l.checkpointMessage})` : ''}`));
    }
    for (const j of l.unfinishedJobs) io.info(io.style.yellow(`  ! unfinished job ${j}: a decision record without a result (the process died mid-job; not tampering)`));
  }
  return exitCode;
}

export interface ShowFlags {
  readonly since?: string;
  readonly until?: string;
  readonly principal?: string;
  readonly verdict?: string;
  readonly operation?: string;
  readonly input?: string;
  readonly last?: string;
}

function filterOf(f: ShowFlags): RecordFilter {
  return {
    ...(f.since ? { since: f.since } : {}),
    ...(f.until ? { until: f.until } : {}),
    ...(f.principal ? { principal: f.principal } : {}),
    ...(f.verdict ? { verdict: f.verdict } : {}),
    ...(f.operation ? { operation: f.operation } : {}),
    ...(f.input ? { inputSha256: f.input } : {}),
  };
}

export async function auditShowCommand(ctx: CommandContext, logs: readonly string[], flags: ShowFlags): Promise<ExitCode> {
  const { io } = ctx;
  const last = flags.last !== undefined ? Number(flags.last) : undefined;
  if (last !== undefined && (!Number.isInteger(last) || last < 1)) throw new ZtError('usage', `--last takes a positive whole number, got "${flags.last}"`, {});
  const rows: ParsedRecord[] = [];
  for (const log of defaultLog(ctx, logs)) {
    if (!existsSync(log)) throw new ZtError('audit-invalid', `audit log ${log} does not exist`, { hint: 'name the log, or pass --audit-log' });
    for await (const r of filterRecords(readRecords(log), filterOf(flags))) {
      rows.push(r);
      if (last !== undefined && rows.length > last) rows.shift();
    }
  }
  if (io.json) {
    io.emitJson({ schemaVersion: JSON_SCHEMA_VERSION, command: 'audit show', exitCode: EXIT.ok, records: rows });
    return EXIT.ok;
  }
  for (const r of rows) {
    if (!stdoutOpen()) break;
    const e = r.event as Record<string, unknown>;
    const input = (e['input'] as Record<string, unknown> | undefined) ?? {};
    const principal = (e['principal'] as Record<string, unknown> | undefined) ?? {};
    const verdict = String(e['verdict'] ?? e['decision'] ?? '');
    const colour = verdict === 'ok' || verdict === 'allow' ? io.style.green : verdict === 'refused' ? io.style.red : io.style.yellow;
    io.out(`#${r.seq} ${r.ts} ${String(e['type']).padEnd(8)} ${colour(verdict.padEnd(7))} ${String(e['operation'] ?? '-').padEnd(12)} user=${String(principal['user'] ?? '-')} input=${String(input['path'] ?? '-')} sha256=${String(input['sha256'] ?? '-').slice(0, 12)}${e['exitCode'] !== undefined ? ` exit=${String(e['exitCode'])}` : ''}`);
    const v = e['violations'];
    if (Array.isArray(v)) for (const x of v.slice(0, 5) as Array<Record<string, unknown>>) io.out(`      ${String(x['rule'])}: ${String(x['message'])}`);
  }
  return EXIT.ok;
}

export async function auditStatsCommand(ctx: CommandContext, logs: readonly string[], flags: ShowFlags): Promise<ExitCode> {
  const { io } = ctx;
  const all: ParsedRecord[] = [];
  for (const log of defaultLog(ctx, logs)) {
    if (!existsSync(log)) throw new ZtError('audit-invalid', `audit log ${log} does not exist`, { hint: 'name the log, or pass --audit-log' });
    for await (const r of filterRecords(readRecords(log), filterOf(flags))) all.push(r);
  }
  const s = await auditStats(all);
  if (io.json) {
    io.emitJson({ schemaVersion: JSON_SCHEMA_VERSION, command: 'audit stats', exitCode: EXIT.ok, ...s });
    return EXIT.ok;
  }
  io.out(`records ${s.records}  jobs ${s.jobs}  ok ${s.ok}  refused ${s.refused}  failed ${s.failed}  unfinished ${s.unfinished}  anomalies ${s.anomalies}`);
  const rules = Object.entries(s.refusalsByRule).sort((a, b) => b[1] - a[1]);
  if (rules.length > 0) {
    io.out('refusals by rule:');
    for (const [rule, n] of rules) io.out(`  ${String(n).padStart(5)}  ${rule}`);
  }
  const ops = Object.entries(s.timingsByOperation);
  if (ops.length > 0) {
    io.out('time per operation (ms):');
    for (const [op, t] of ops) io.out(`  ${op.padEnd(16)} ${JSON.stringify(t)}`);
  }
  return EXIT.ok;
}

import path from 'node:path';
import { existsSync } from 'node:fs';
import { verifyAuditLogs } from '../../api/audit.js';
import { resealAuditLog } from '../../audit/writer.js';
import { loadSigningKey, loadTrustedKeys, publicKeyPathFor, type TrustedKeys } from '../../keys/index.js';
import { readRecords, filterRecords, auditStats, type RecordFilter, type ParsedRecord } from '../../audit/query.js';
import { printable, printableValue } from '../../util/printable.js';
import { statePaths } from '../../util/paths.js';
import { JSON_SCHEMA_VERSION } from '../render.js';
import type { CommandContext } from '../context.js';
import { stdoutOpen } from '../streams.js';
import { EXIT, ZtError, type ExitCode } from '../../errors.js';

function defaultLog(ctx: CommandContext, logs: readonly string[]): string[] {
  if (logs.length > 0) return logs.map((l) => path.resolve(l));
  return [statePaths(ctx.env, ctx.flags.auditLog ? { auditLog: ctx.flags.auditLog } : {}).auditLog];
}

export interface TrustFlags {
  readonly key?: string[];
  readonly keyring?: string;
}

export interface VerifyFlags extends TrustFlags {
  /** A checkpoint file, or false for --no-checkpoint. */
  readonly checkpoint?: string | false;
}

/** The keys signatures are checked against: the flags, else this machine's own audit key; never the log. */
async function trustedKeysFor(ctx: CommandContext, flags: TrustFlags): Promise<{ trusted: TrustedKeys; note?: string } | undefined> {
  let keyFiles = flags.key ?? [];
  let note: string | undefined;
  if (keyFiles.length === 0 && !flags.keyring) {
    const local = publicKeyPathFor(statePaths(ctx.env, ctx.flags.auditKey ? { auditKey: ctx.flags.auditKey } : {}).auditKey);
    if (!existsSync(local)) return undefined;
    keyFiles = [local];
    note = `trusting this machine's own audit key ${local} (pass --key or --keyring to verify against keys you hold)`;
  }
  const trusted = await loadTrustedKeys({ keyFiles, ...(flags.keyring ? { keyringDir: flags.keyring } : {}) });
  return { trusted, ...(note ? { note } : {}) };
}

export async function auditVerifyCommand(ctx: CommandContext, logs: readonly string[], flags: VerifyFlags): Promise<ExitCode> {
  const { io } = ctx;
  const { result, trustNote } = await verifyAuditLogs({
    logs,
    ...(flags.key ? { keys: flags.key } : {}),
    ...(flags.keyring ? { keyring: flags.keyring } : {}),
    ...(flags.checkpoint !== undefined ? { checkpoint: flags.checkpoint } : {}),
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
      const what = b ? `line ${b.line}${b.seq !== undefined ? ` (seq ${b.seq})` : ''}: ${b.fault}: ${printable(b.message)}` : printable(l.checkpointMessage ?? 'invalid');
      io.error(`${io.style.red(b || l.checkpoint === 'mismatch' ? '✗ TAMPERED' : '✗ UNSEALED')} ${l.path}: ${what}`);
      io.error(io.style.dim(`  ${l.records} records before it verify; checkpoint ${l.checkpoint}${l.checkpointMessage ? ` (${l.checkpointMessage})` : ''}`));
    }
    for (const j of l.unfinishedJobs) io.info(io.style.yellow(`  ! unfinished job ${j}: a decision record without a result (the process died mid-job; not tampering)`));
  }
  return exitCode;
}

export interface ShowFlags extends TrustFlags {
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
  const trust = await trustedKeysFor(ctx, flags);
  for (const log of defaultLog(ctx, logs)) {
    if (!existsSync(log)) throw new ZtError('audit-invalid', `audit log ${log} does not exist`, { hint: 'name the log, or pass --audit-log' });
    for await (const r of filterRecords(readRecords(log, trust ? { trusted: trust.trusted } : {}), filterOf(flags))) {
      rows.push(r);
      if (last !== undefined && rows.length > last) rows.shift();
    }
  }
  if (io.json) {
    io.emitJson({ schemaVersion: JSON_SCHEMA_VERSION, command: 'audit show', exitCode: EXIT.ok, signaturesChecked: trust !== undefined, records: rows.map((r) => ({ ...r, verified: r.verified ?? false })) });
    return EXIT.ok;
  }
  if (!trust) io.info(io.style.yellow('! no trusted key (pass --key or --keyring): no record below is verified'));
  else if (trust.note) io.info(io.style.dim(trust.note));
  for (const r of rows) {
    if (!stdoutOpen()) break;
    io.out(showLine(ctx, r));
  }
  return EXIT.ok;
}

/** One record as one line (and its violations): every field read from the log is untrusted. */
function showLine(ctx: CommandContext, r: ParsedRecord): string {
  const { style } = ctx.io;
  const e = r.event as Record<string, unknown>;
  const input = (e['input'] as Record<string, unknown> | undefined) ?? {};
  const principal = (e['principal'] as Record<string, unknown> | undefined) ?? {};
  const verdict = printableValue(e['verdict'] ?? e['decision'] ?? '');
  const colour = verdict === 'ok' || verdict === 'allow' ? style.green : verdict === 'refused' ? style.red : style.yellow;
  const mark = r.verified === true ? '' : `${style.red('UNVERIFIED')} `;
  const f = (v: unknown, fallback = '-'): string => printableValue(v ?? fallback);
  const head = `${mark}#${r.seq} ${printable(r.ts)} ${f(e['type']).padEnd(8)} ${colour(verdict.padEnd(7))} ${f(e['operation']).padEnd(12)} user=${f(principal['user'])} input=${f(input['path'])} sha256=${f(input['sha256']).slice(0, 12)}${e['exitCode'] !== undefined ? ` exit=${f(e['exitCode'])}` : ''}`;
  const v = e['violations'];
  const lines = Array.isArray(v) ? (v.slice(0, 5) as Array<Record<string, unknown>>).map((x) => `      ${f(x['rule'])}: ${f(x['message'])}`) : [];
  return [head, ...lines].join('\n');
}

export async function auditStatsCommand(ctx: CommandContext, logs: readonly string[], flags: ShowFlags): Promise<ExitCode> {
  const { io } = ctx;
  const all: ParsedRecord[] = [];
  const trust = await trustedKeysFor(ctx, flags);
  for (const log of defaultLog(ctx, logs)) {
    if (!existsSync(log)) throw new ZtError('audit-invalid', `audit log ${log} does not exist`, { hint: 'name the log, or pass --audit-log' });
    // Without a trusted key nothing is verified: every record counts as unverified, none as a job outcome.
    for await (const r of filterRecords(readRecords(log, { trusted: trust?.trusted ?? new Map() }), filterOf(flags))) all.push(r);
  }
  const s = await auditStats(all);
  if (io.json) {
    io.emitJson({ schemaVersion: JSON_SCHEMA_VERSION, command: 'audit stats', exitCode: EXIT.ok, signaturesChecked: trust !== undefined, ...s });
    return EXIT.ok;
  }
  if (!trust) io.info(io.style.yellow('! no trusted key (pass --key or --keyring): every record counts as unverified'));
  io.out(`records ${s.records}  jobs ${s.jobs}  ok ${s.ok}  refused ${s.refused}  failed ${s.failed}  unfinished ${s.unfinished}  anomalies ${s.anomalies}  unverified ${s.unverified}`);
  const rules = Object.entries(s.refusalsByRule).sort((a, b) => b[1] - a[1]);
  if (rules.length > 0) {
    io.out('refusals by rule:');
    for (const [rule, n] of rules) io.out(`  ${String(n).padStart(5)}  ${printable(rule)}`);
  }
  const ops = Object.entries(s.timingsByOperation);
  if (ops.length > 0) {
    io.out('time per operation (ms):');
    for (const [op, t] of ops) io.out(`  ${printable(op).padEnd(16)} ${JSON.stringify(t)}`);
  }
  return EXIT.ok;
}

/**
 * `zt-ffmpeg audit reseal`: the deliberate recovery when the writer refuses a log that is not
 * exactly what its checkpoint records (a crash between a record and its checkpoint, or a log
 * whose checkpoint went missing). It accepts only complete records, chained and signed by this
 * machine's audit key, and says what it sealed.
 */
export async function auditResealCommand(ctx: CommandContext, log: string | undefined): Promise<ExitCode> {
  const { io } = ctx;
  const paths = statePaths(ctx.env, { ...(ctx.flags.auditLog ? { auditLog: ctx.flags.auditLog } : {}), ...(ctx.flags.auditKey ? { auditKey: ctx.flags.auditKey } : {}) });
  const logPath = log !== undefined ? path.resolve(log) : paths.auditLog;
  if (!existsSync(logPath)) throw new ZtError('audit-invalid', `audit log ${logPath} does not exist`, { hint: 'name the log, or pass --audit-log' });
  const key = await loadSigningKey(paths.auditKey, { autoGenerate: false });
  const r = await resealAuditLog({ logPath, key });
  const before = r.before ? `${r.before.size} records` : 'a different log (or it had none)';
  if (io.json) io.emitJson({ schemaVersion: JSON_SCHEMA_VERSION, command: 'audit reseal', exitCode: EXIT.ok, log: logPath, records: r.after.size, bytes: r.after.bytes, before: r.before?.size ?? null });
  else io.info(`${io.style.green('✓ sealed')} ${logPath}: ${r.after.size} records (${r.after.bytes} bytes), head ${r.after.head.slice(0, 16)}…; the checkpoint covered ${before}`);
  return EXIT.ok;
}

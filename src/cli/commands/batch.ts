/**
 * `zt-ffmpeg batch`: flags → BatchRequest → runBatch → per-job lines, a summary table,
 * JSON lines (--json) or GitHub Actions annotations (--format github).
 *
 * Output streams: human lines on stderr as everywhere; with --json, stdout carries JSON lines
 * (one object per job as it finishes, then one summary object) — the one command whose stdout
 * holds several JSON documents; with --format github, stdout carries `::error ...` workflow
 * commands for refused and failed jobs (the runner reads workflow commands from stdout).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { githubData, githubProperty, printable, printableValue } from '../../util/printable.js';
import { runBatch, parseInputList, parseShard, shardInputs, defaultConcurrency, type BatchJob, type BatchSummary } from '../../job/batch.js';
import { resolveSettings } from '../settings.js';
import { batchJobLine as jobLine, batchSummaryLine as summaryLine } from '../../api/results.js';
import type { CommandContext } from '../context.js';
import type { CliIo } from '../io.js';
import { ZtError, type ExitCode } from '../../errors.js';

export interface BatchFlags {
  readonly outDir: string;
  readonly policy?: string;
  readonly operation?: string;
  readonly ext?: string;
  readonly concurrency?: string;
  readonly failFast?: boolean;
  readonly overwrite?: boolean;
  readonly skipExisting?: boolean;
  readonly from?: string;
  readonly null?: boolean;
  readonly shard?: string;
  readonly format?: string;
  readonly token?: string;
  readonly tokenFile?: string;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

export async function gatherInputs(positional: readonly string[], from: string | undefined, nul: boolean, readStdinText: () => Promise<string> = readStdin): Promise<string[]> {
  const inputs = [...positional];
  if (from !== undefined) {
    let text: string;
    if (from === '-') text = await readStdinText();
    else {
      try {
        text = await readFile(from, 'utf8');
      } catch (e) {
        throw new ZtError('usage', `cannot read the input list ${from}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, { hint: 'pass --from a file with one path per line, or --from - to read stdin' });
      }
    }
    inputs.push(...parseInputList(text, nul));
  } else if (nul) {
    throw new ZtError('usage', '-0 applies to the list read with --from', { hint: 'e.g. find in -type f -print0 | zt-ffmpeg batch --from - -0 --out-dir out' });
  }
  return inputs;
}

function parseConcurrency(v: string | undefined): number {
  if (v === undefined) return defaultConcurrency();
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 256) {
    throw new ZtError('usage', `--concurrency expects a whole number from 1 to 256, found "${v}"`, { hint: `omit it to use the number of cores (${defaultConcurrency()})` });
  }
  return n;
}

export { escapeData, githubProperty as escapeProperty } from '../../util/printable.js';

/** One `::error` annotation for a refused or failed job, with the file relative to the working directory. */
export function githubAnnotation(job: BatchJob, cwd: string): string | undefined {
  if (job.verdict === 'ok' || job.verdict === 'skipped') return undefined;
  const o = job.outcome;
  const rel = path.relative(cwd, path.resolve(job.input));
  const file = rel.startsWith('..') || path.isAbsolute(rel) ? path.resolve(job.input) : rel;
  const rules = [...new Set((o?.violations ?? []).map((v) => v.rule))];
  const title = `zt-ffmpeg ${job.verdict}${rules.length > 0 ? ` (${rules.join(' ')})` : o?.reason ? ` (${o.reason})` : ''}`;
  const headline = (o?.message ?? job.verdict).split('\n')[0] ?? '';
  const details = (o?.violations ?? []).slice(0, 10).map((v) => `${v.rule}: ${v.message} (actual ${JSON.stringify(v.actual)}, limit ${truncate(JSON.stringify(v.limit) ?? '', 120)})`);
  // Every piece is untrusted (file names, ffmpeg's words): made inert, then encoded.
  const message = [headline, ...details, ...(o?.hint ? [`hint: ${o.hint}`] : []), `exit ${job.exitCode}`];
  return `::error file=${githubProperty(file)},title=${githubProperty(title)}::${githubData(message)}`;
}

function renderJobLine(io: CliIo, job: BatchJob, done: number, total: number): void {
  const s = io.style;
  const tag = `[${String(done).padStart(String(total).length)}/${total}]`;
  const o = job.outcome;
  if (job.verdict === 'skipped') {
    io.info(`${tag} ${s.dim('- skipped')} ${job.input} → ${job.output}${s.dim(job.skipped === 'exists' ? '  (output exists; --skip-existing)' : '  (--fail-fast)')}`);
    return;
  }
  if (job.verdict === 'ok') {
    io.info(`${tag} ${s.green('✓ ok     ')} ${printable(job.input)} → ${printable(job.output)}${o ? s.dim(`  ${Math.round(o.timings['totalMs'] ?? 0)} ms, audit seq ${o.audit.seqs.join(',')}`) : ''}`);
    return;
  }
  const word = job.verdict === 'refused' ? 'refused' : 'failed ';
  io.error(`${tag} ${s.red(`✗ ${word}`)} ${printable(job.input)}: ${printable((o?.message ?? '').split('\n')[0] ?? '')}${s.dim(`  (exit ${job.exitCode})`)}`);
  for (const v of (o?.violations ?? []).slice(0, 5)) io.error(s.dim(`      ${v.rule}: actual ${printableValue(v.actual)}, limit ${truncate(printableValue(v.limit), 80)}`));
}

function truncate(x: string, n: number): string {
  return x.length > n ? x.slice(0, n - 1) + '…' : x;
}

export function summaryTable(s: BatchSummary): string[] {
  const lines = [
    'verdict   jobs',
    `ok        ${s.ok}`,
    `refused   ${s.refused}`,
    `failed    ${s.failed}`,
    ...(s.skipped > 0 ? [`skipped   ${s.skipped}`] : []),
    `total     ${s.total}`,
  ];
  const rules = Object.entries(s.byRule).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  if (rules.length > 0) {
    lines.push('', 'refused or failed, by rule:');
    for (const [rule, n] of rules) lines.push(`  ${String(n).padStart(4)}  ${rule}`);
  }
  lines.push('', `exit ${s.exitCode}`);
  return lines;
}

export async function batchCommand(ctx: CommandContext, positional: readonly string[], flags: BatchFlags): Promise<ExitCode> {
  const { io } = ctx;
  const format = flags.format ?? 'human';
  if (format !== 'human' && format !== 'github') {
    throw new ZtError('usage', `--format expects human or github, found "${format}"`, { hint: 'use --json for JSON lines' });
  }
  if (format === 'github' && io.json) {
    throw new ZtError('usage', '--format github and --json both write to stdout; choose one', { hint: 'in a GitHub workflow use --format github; in scripts use --json' });
  }
  const concurrency = parseConcurrency(flags.concurrency);
  const shard = flags.shard !== undefined ? parseShard(flags.shard) : undefined;
  const inputs = await gatherInputs(positional, flags.from, flags.null === true);
  const settings = await resolveSettings(ctx, flags);
  if (shard && shardInputs(inputs, shard).length === 0 && inputs.length > 0) {
    // An empty shard is not an error: a worker of an indexed Job may get no inputs.
    io.info(`shard ${shard.index}/${shard.count} has no inputs; nothing to do`);
  }
  let ok = 0;
  let bad = 0;
  const cwd = process.cwd();
  const result = await runBatch({
    inputs,
    outDir: flags.outDir,
    settings,
    operation: flags.operation,
    ext: flags.ext,
    concurrency,
    ...(shard ? { shard } : {}),
    failFast: flags.failFast === true,
    overwrite: flags.overwrite === true,
    skipExisting: flags.skipExisting === true,
    signal: ctx.cancellation(),
    onJobDone: (job, p) => {
      if (job.verdict === 'ok') ok++;
      else bad++;
      if (io.json) io.out(JSON.stringify(jobLine(job)));
      else {
        renderJobLine(io, job, p.done, p.total);
        if (format === 'github') {
          const a = githubAnnotation(job, cwd);
          if (a) io.out(a);
        }
        io.progress(`batch: ${p.done}/${p.total} done, ${p.running} running, ${ok} ok, ${bad} not ok`);
      }
    },
  });
  io.progress(undefined);
  if (io.json) {
    // Jobs --fail-fast never started have no onJobDone: list them before the summary.
    for (const j of result.jobs) if (j.skipped === 'fail-fast') io.out(JSON.stringify(jobLine(j)));
    io.out(JSON.stringify(summaryLine(result)));
  } else {
    for (const l of summaryTable(result.summary)) io.info(l);
    io.info(io.style.dim(`outputs in ${result.outDir}; audit log ${result.auditLog}`));
  }
  return result.summary.exitCode;
}

/** Rendering outcomes for humans (stderr); the JSON results are built in src/api/results.ts. */
import type { ZtError, Violation } from '../errors.js';
import type { JobOutcome } from '../job/outcome.js';
import type { CliIo } from './io.js';
import { printable, printableLines, printableValue } from '../util/printable.js';

export { JSON_SCHEMA_VERSION, runResult as jobJson, errorResult as errorJson } from '../api/results.js';

/**
 * A message as lines for the terminal. Messages carry untrusted words (file names, ffmpeg's
 * diagnostics), so a line break inside one is escaped like any control character; only a
 * policy's list of diagnostics is several lines of our own making.
 */
function messageLines(message: string, reason: string | undefined): string[] {
  return reason === 'policy-invalid' ? printableLines(message) : [printable(message)];
}

export function renderViolations(io: CliIo, list: readonly Violation[], kind: 'error' | 'warning'): void {
  const s = io.style;
  for (const v of list) {
    const tag = kind === 'error' ? s.red('✗') : s.yellow('!');
    const line = `  ${tag} ${s.bold(printable(v.rule))}: ${printable(v.message)}`;
    if (kind === 'error') io.error(line);
    else io.info(line);
    const detail = `      actual: ${printableValue(v.actual)}   limit: ${truncate(printableValue(v.limit), 160)}${v.hint ? `\n      what to do: ${printable(v.hint)}` : ''}`;
    if (kind === 'error') io.error(s.dim(detail));
    else io.info(s.dim(detail));
  }
}

function truncate(s: string, n: number): string {
  return s.length > n ? s.slice(0, n - 1) + '…' : s;
}

export function renderError(io: CliIo, e: ZtError): void {
  const s = io.style;
  const [headline, ...rest] = messageLines(e.message, e.reason);
  io.error(`${s.red('zt-ffmpeg:')} ${headline ?? ''}`);
  for (const l of rest) io.error(l);
  if (e.violations.length > 0 && rest.length === 0) renderViolations(io, e.violations, 'error');
  if (e.hint) io.error(`${s.cyan('hint:')} ${printable(e.hint)}`);
  io.error(s.dim(`exit ${e.exitCode} (${e.reason})`));
}

export function renderJob(io: CliIo, o: JobOutcome): void {
  const s = io.style;
  const name = printable(o.input?.path ?? '');
  if (o.warnings.length > 0) renderViolations(io, o.warnings, 'warning');
  if (o.verdict === 'ok') {
    if (o.command === 'check') {
      io.info(`${s.green('✓ allowed')} ${name}${o.input?.probe ? s.dim(`  (${describeProbe(o.input.probe)})`) : ''}`);
    } else if (o.dryRun) {
      io.info(`${s.green('✓ would run')} (dry run; nothing was executed)`);
    } else {
      io.info(`${s.green('✓ done')} ${printable(o.output?.path ?? '')}  ${s.dim(`sha256 ${o.output?.sha256.slice(0, 16) ?? ''}…  ${o.output?.size ?? 0} bytes  ${Math.round(o.timings['totalMs'] ?? 0)} ms`)}`);
    }
  } else {
    const word = o.verdict === 'refused' ? 'refused' : 'failed';
    const [headline, ...more] = messageLines(o.message ?? '', o.reason);
    io.error(`${s.red(`✗ ${word}`)} ${name}: ${headline ?? ''}`);
    for (const l of more) io.error(l);
    const listed = o.violations.length > 0 && more.length === 0;
    if (listed) renderViolations(io, o.violations, 'error');
    // The hint is usually the first violation's; say it once.
    if (o.hint && !(listed && o.violations.some((v) => v.hint === o.hint))) io.error(`${s.cyan('hint:')} ${printable(o.hint)}`);
    io.error(s.dim(`exit ${o.exitCode}${o.reason ? ` (${o.reason})` : ''}`));
  }
  if (o.audit.seqs.length > 0) io.info(s.dim(`audit: ${o.audit.log} seq ${o.audit.seqs.join(', ')}`));
  else if (o.audit.error) io.error(s.red(`audit: ${printable(o.audit.error)}`));
}

function describeProbe(p: Record<string, unknown>): string {
  const streams = Array.isArray(p['streams']) ? (p['streams'] as Array<Record<string, unknown>>) : [];
  const parts = streams.map((st) => `${String(st['codec'])}${st['width'] ? ` ${String(st['width'])}x${String(st['height'])}` : ''}`);
  const d = typeof p['duration'] === 'number' ? `, ${p['duration'].toFixed(1)} s` : '';
  return printable(`${String(p['format'])}: ${parts.join(', ')}${d}`);
}

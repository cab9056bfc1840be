import { runJob } from '../../job/run-job.js';
import type { JobListener } from '../../job/events.js';
import { renderJob, renderViolations, jobJson } from '../render.js';
import type { CommandContext } from '../context.js';
import type { CliIo } from '../io.js';
import { resolveSettings } from '../settings.js';
import { renderDryRun } from '../render-dry-run.js';
import type { ExitCode } from '../../errors.js';

export interface RunFlags {
  readonly input: string;
  readonly output: string;
  readonly policy?: string;
  readonly operation?: string;
  readonly overwrite?: boolean;
  readonly dryRun?: boolean;
  readonly token?: string;
  readonly tokenFile?: string;
}

/** The terminal as a consumer of the job's events: warnings as they happen, a progress bar on a TTY. */
function terminalRenderer(io: CliIo): JobListener {
  return (e) => {
    if (e.type === 'warning' && !io.json) renderViolations(io, [e.warning], 'warning');
    else if (e.type === 'progress') io.progress(progressLine(e.progress.seconds, e.progress.total, e.progress.speed));
  };
}

export async function runCommand(ctx: CommandContext, flags: RunFlags, ffmpegArgs: readonly string[]): Promise<ExitCode> {
  const { io } = ctx;
  const outcome = await runJob({
    input: flags.input,
    output: flags.output,
    settings: await resolveSettings(ctx, flags),
    operation: flags.operation,
    rawArgs: ffmpegArgs.length > 0 ? ffmpegArgs : undefined,
    overwrite: flags.overwrite === true,
    dryRun: flags.dryRun === true,
    progress: io.isTty && !io.json && !io.quiet,
    onEvent: terminalRenderer(io),
    signal: ctx.cancellation(),
  });
  io.progress(undefined);
  if (io.json) io.emitJson(jobJson(outcome));
  else {
    renderJob(io, { ...outcome, warnings: [] });
    if (outcome.dryRun) renderDryRun(io, outcome.dryRun);
  }
  return outcome.exitCode;
}

function progressLine(seconds: number, total: number | undefined, speed: string | undefined): string {
  const width = 30;
  if (total && total > 0) {
    const frac = Math.min(1, seconds / total);
    const filled = Math.round(frac * width);
    const sp = speed ? Number.parseFloat(speed) : NaN;
    const eta = Number.isFinite(sp) && sp > 0 ? ` ETA ${Math.max(0, Math.round((total - seconds) / sp))}s` : '';
    return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${Math.round(frac * 100)}% ${speed ?? ''}${eta}`;
  }
  return `transcoding… ${seconds.toFixed(1)} s ${speed ?? ''}`;
}

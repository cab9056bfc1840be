import { runJob } from '../../job/run-job.js';
import { readTokenInput } from '../../identity/token-input.js';
import { renderJob, renderViolations, jobJson } from '../render.js';
import type { CommandContext } from '../context.js';
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

export async function runCommand(ctx: CommandContext, flags: RunFlags, ffmpegArgs: readonly string[]): Promise<ExitCode> {
  const { io } = ctx;
  const token = await readTokenInput({
    ...(flags.token !== undefined ? { flag: flags.token } : {}),
    ...(flags.tokenFile !== undefined ? { file: flags.tokenFile } : {}),
    ...(ctx.env['ZT_FFMPEG_TOKEN'] !== undefined ? { env: ctx.env['ZT_FFMPEG_TOKEN'] } : {}),
  });
  const outcome = await runJob({
    input: flags.input,
    output: flags.output,
    policy: flags.policy,
    ...(ctx.flags.policyKeyring ? { policyKeyring: ctx.flags.policyKeyring } : {}),
    operation: flags.operation,
    rawArgs: ffmpegArgs.length > 0 ? ffmpegArgs : undefined,
    overwrite: flags.overwrite === true,
    dryRun: flags.dryRun === true,
    token,
    env: ctx.env,
    ...(ctx.flags.auditLog ? { auditLog: ctx.flags.auditLog } : {}),
    ...(ctx.flags.auditKey ? { auditKey: ctx.flags.auditKey } : {}),
    ...(io.isTty && !io.json && !io.quiet
      ? {
          onProgress: ({ seconds, speed, total }) => {
            io.progress(progressLine(seconds, total, speed));
          },
        }
      : {}),
    onWarning: (v) => {
      if (!io.json) renderViolations(io, [v], 'warning');
    },
  });
  io.progress(undefined);
  if (io.json) io.emitJson(jobJson(outcome));
  else {
    renderJob(io, { ...outcome, warnings: [] });
    if (outcome.dryRun) io.out(JSON.stringify(outcome.dryRun, null, 2));
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

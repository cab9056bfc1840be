import { checkFiles } from '../../job/check-inputs.js';
import { renderJob, renderError, errorJson } from '../render.js';
import { checkResult } from '../../api/results.js';
import type { CommandContext } from '../context.js';
import { resolveBaseSettings } from '../settings.js';
import type { ExitCode } from '../../errors.js';

export async function checkCommand(ctx: CommandContext, inputs: readonly string[], flags: { policy?: string; operation?: string }): Promise<ExitCode> {
  const { io } = ctx;
  const r = await checkFiles({ inputs, settings: resolveBaseSettings(ctx, flags), operation: flags.operation, signal: ctx.cancellation() });
  if (r.error) {
    if (io.json) io.emitJson(errorJson('check', r.error));
    else renderError(io, r.error);
    return r.exitCode;
  }
  if (io.json) {
    io.emitJson(checkResult(r.exitCode, r.files));
  } else {
    for (const f of r.files) renderJob(io, f);
    const ok = r.files.filter((f) => f.verdict === 'ok').length;
    if (r.files.length > 1) io.info(`${ok} of ${r.files.length} allowed`);
  }
  return r.exitCode;
}

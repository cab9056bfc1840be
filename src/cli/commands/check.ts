import { checkFiles } from '../../job/check-inputs.js';
import { renderJob, renderError, jobJson, errorJson, JSON_SCHEMA_VERSION } from '../render.js';
import type { CommandContext } from '../context.js';
import { resolveBaseSettings } from '../settings.js';
import type { ExitCode } from '../../errors.js';

export async function checkCommand(ctx: CommandContext, inputs: readonly string[], flags: { policy?: string }): Promise<ExitCode> {
  const { io } = ctx;
  const r = await checkFiles({ inputs, settings: resolveBaseSettings(ctx, flags), signal: ctx.cancellation() });
  if (r.error) {
    if (io.json) io.emitJson(errorJson('check', r.error));
    else renderError(io, r.error);
    return r.exitCode;
  }
  if (io.json) {
    io.emitJson({
      schemaVersion: JSON_SCHEMA_VERSION,
      command: 'check',
      exitCode: r.exitCode,
      verdict: r.files.every((f) => f.verdict === 'ok') ? 'ok' : r.files.some((f) => f.verdict === 'failed') ? 'failed' : 'refused',
      files: r.files.map(jobJson),
    });
  } else {
    for (const f of r.files) renderJob(io, f);
    const ok = r.files.filter((f) => f.verdict === 'ok').length;
    if (r.files.length > 1) io.info(`${ok} of ${r.files.length} allowed`);
  }
  return r.exitCode;
}

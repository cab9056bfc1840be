import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { PACKAGE_ROOT } from '../../util/package-root.js';
import { loadJobPolicy } from '../../policy/load-trusted.js';
import { resolvePolicyPath } from '../../policy/load.js';
import { renderError, errorJson, JSON_SCHEMA_VERSION } from '../render.js';
import { policyResult } from '../../api/results.js';
import type { CommandContext } from '../context.js';
import { resolveBaseSettings } from '../settings.js';
import { EXIT, isZtError, type ExitCode } from '../../errors.js';
import { mostSevere } from '../../errors.js';

export const SCHEMA_PATH = path.join(PACKAGE_ROOT, 'schema', 'policy.schema.json');

export async function policyValidateCommand(ctx: CommandContext, files: readonly string[]): Promise<ExitCode> {
  const { io } = ctx;
  const results: Array<Record<string, unknown>> = [];
  const codes: ExitCode[] = [];
  const { keyring } = resolveBaseSettings(ctx).policy;
  for (const f of files.length > 0 ? files : [undefined]) {
    try {
      const l = await loadJobPolicy(f, keyring ? { keyring } : {});
      results.push({ path: l.path, valid: true, stage: l.policy.stage, mode: l.policy.mode, sha256: l.sha256, ...(l.signedBy ? { signedBy: l.signedBy } : {}) });
      codes.push(EXIT.ok);
      if (!io.json) io.info(`${io.style.green('✓ valid')} ${l.path} ${io.style.dim(`(stage ${l.policy.stage}, mode ${l.policy.mode}${l.signedBy ? `, signed by ${l.signedBy}` : ''})`)}`);
    } catch (e) {
      if (!isZtError(e)) throw e;
      codes.push(e.exitCode);
      results.push({ path: resolvePolicyPath(f).path, valid: false, ...errorJson('policy validate', e) });
      if (!io.json) renderError(io, e);
    }
  }
  const exitCode = mostSevere(codes);
  if (io.json) io.emitJson({ schemaVersion: JSON_SCHEMA_VERSION, command: 'policy validate', exitCode, policies: results });
  return exitCode;
}

export async function policyShowCommand(ctx: CommandContext, file: string | undefined): Promise<ExitCode> {
  const l = await loadJobPolicy(file);
  if (ctx.io.json) ctx.io.emitJson(policyResult(l));
  else {
    ctx.io.info(ctx.io.style.dim(`# ${l.path} (sha256 ${l.sha256})`));
    ctx.io.out(await readFile(l.path, 'utf8'));
  }
  return EXIT.ok;
}

export async function policySchemaCommand(ctx: CommandContext): Promise<ExitCode> {
  ctx.io.out(await readFile(SCHEMA_PATH, 'utf8'));
  return EXIT.ok;
}

import { loadJobPolicy } from '../../policy/load-trusted.js';
import { gatherFacts } from '../../doctor/facts.js';
import { evaluateControls, highestStageMet, PILLARS, type Control } from '../../doctor/controls.js';
import { resolveBaseSettings } from '../settings.js';
import { JSON_SCHEMA_VERSION } from '../render.js';
import type { CommandContext } from '../context.js';
import { EXIT, isZtError, type ExitCode } from '../../errors.js';
import { loadPolicy } from '../../policy/load.js';
import type { LoadedPolicy } from '../../policy/types.js';
import { STAGES } from '../../policy/types.js';

/** Which exit code an unmet control maps to: the machine (7), the evidence (8), or the policy (9). */
function exitFor(failing: readonly Control[]): ExitCode {
  if (failing.some((c) => c.pillar === 'devices' || c.pillar === 'networks' || c.id === 'data.sandboxed-probe' || c.id === 'workloads.sandbox-uid')) return EXIT.sandboxUnavailable;
  if (failing.some((c) => c.id === 'visibility.audit-log' || c.id === 'visibility.checkpoint' || c.id === 'governance.audit-key')) return EXIT.auditFailed;
  return EXIT.policyInvalid;
}

export async function doctorCommand(ctx: CommandContext, flags: { policy?: string }): Promise<ExitCode> {
  const { io } = ctx;
  const settings = resolveBaseSettings(ctx, flags);
  const { keyring, ref: named } = settings.policy;
  let loaded: LoadedPolicy;
  let signatureError: string | undefined;
  try {
    loaded = await loadJobPolicy(named, keyring ? { keyring } : {});
  } catch (e) {
    // A policy whose signature fails is still worth a checklist: the signature control fails.
    if (!isZtError(e) || e.reason !== 'policy-signature') throw e;
    signatureError = e.message;
    loaded = await loadPolicy(named);
  }
  const facts = await gatherFacts(loaded, settings.paths, ctx.env, keyring !== undefined, signatureError);
  const controls = evaluateControls(facts);
  const met = highestStageMet(controls);
  const declared = loaded.policy.stage;
  const failingDeclared = controls.filter((c) => c.status === 'fail' && STAGES.indexOf(c.stage) <= STAGES.indexOf(declared));
  const exitCode: ExitCode = failingDeclared.length === 0 ? EXIT.ok : exitFor(failingDeclared);
  if (io.json) {
    io.emitJson({
      schemaVersion: JSON_SCHEMA_VERSION,
      command: 'doctor',
      exitCode,
      policy: { path: loaded.path, sha256: loaded.sha256, stage: declared, mode: loaded.policy.mode },
      declaredStage: declared,
      highestStageMet: met ?? null,
      declaredStageMet: failingDeclared.length === 0,
      pillars: Object.fromEntries(PILLARS.map((p) => [p, controls.filter((c) => c.pillar === p)])),
    });
    return exitCode;
  }
  const s = io.style;
  io.out(`zt-ffmpeg doctor: ${loaded.path} (declares stage ${declared})`);
  for (const p of PILLARS) {
    io.out(`\n${s.bold(p)}`);
    for (const c of controls.filter((x) => x.pillar === p)) {
      const mark = c.status === 'pass' ? s.green('✓') : c.status === 'fail' ? s.red('✗') : s.dim('-');
      io.out(`  ${mark} ${c.title} ${s.dim(`[${c.stage}] ${c.detail}`)}`);
    }
  }
  io.out(`\nhighest stage fully met here: ${met ?? 'none'}`);
  if (failingDeclared.length > 0) io.out(s.red(`declared stage "${declared}" is NOT met: ${failingDeclared.map((c) => c.id).join(', ')}`));
  else io.out(s.green(`declared stage "${declared}" is met`));
  return exitCode;
}

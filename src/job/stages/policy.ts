/**
 * Stage 1, policy: load and validate the policy, with its signature checked against the trust
 * root that applies (src/policy/load-trusted.ts); then open the audit log it asks for. Without
 * a trustworthy policy the refusal is still recorded if a key already exists (never generated).
 */
import { loadJobPolicy } from '../../policy/load-trusted.js';
import { openAuditSession } from '../../audit/session.js';
import type { LoadedPolicy } from '../../policy/types.js';
import type { JobContext } from '../context.js';
import { ok, type Result } from '../failure.js';

export async function policyStage(ctx: JobContext): Promise<Result<LoadedPolicy>> {
  const { ref, keyring } = ctx.settings.policy;
  const r = await ctx.stage('policy', () => loadJobPolicy(ref, keyring ? { keyring } : {}));
  if (!r.ok) {
    await openAuditForRefusal(ctx);
    return r;
  }
  const l = r.value;
  await ctx.events.emit({ type: 'policy', policy: { path: l.path, sha256: l.sha256, stage: l.policy.stage, mode: l.policy.mode, ...(l.signedBy ? { signedBy: l.signedBy } : {}) } });
  return ok(l);
}

/** Open the audit log under the policy's key rules (fail closed: exit 8 when it cannot be). */
export async function auditStage(ctx: JobContext, loaded: LoadedPolicy): Promise<Result<void>> {
  if (ctx.dryRun || ctx.audit.attached) return ok(undefined);
  const r = await ctx.stage('audit', () => openAuditSession(ctx.settings.paths, loaded.policy));
  if (!r.ok) return r;
  const writer = r.value;
  ctx.audit.attach(writer);
  ctx.deferAfterRecord(() => writer.close());
  return ok(undefined);
}

async function openAuditForRefusal(ctx: JobContext): Promise<void> {
  if (ctx.dryRun || ctx.audit.attached) return;
  const writer = await openAuditSession(ctx.settings.paths, undefined).catch(() => undefined);
  if (!writer) return;
  ctx.audit.attach(writer);
  ctx.deferAfterRecord(() => writer.close());
}

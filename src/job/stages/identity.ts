/**
 * Stage 4, identity and authorization, before any parser sees the input: the principal (the
 * OS user always, the CI context recorded, a token verified where the policy demands one), then
 * the policy's authorization rules for the chosen operation. A token bound to the input needs
 * the input's digest first; hashing bytes parses nothing.
 */
import path from 'node:path';
import { ZtError } from '../../errors.js';
import { establishPrincipal } from '../../identity/establish.js';
import { authorize, DEFAULT_RULE_ID } from '../../identity/authorize.js';
import type { Principal } from '../../identity/types.js';
import { digestInput, openInput } from '../../inspect/file.js';
import type { PrincipalRecord } from '../../audit/job-records.js';
import type { LoadedPolicy } from '../../policy/types.js';
import type { JobContext } from '../context.js';
import { failureFrom, fail, ok, type Result } from '../failure.js';
import { refuseOrWarn } from './enforce.js';

export interface Identified {
  readonly principal: Principal;
  /** The authorization rule that allowed the job (or would have refused it, under warn/audit). */
  readonly authzRule: string;
  /** The input's sha256 when a token was bound to it (re-checked by the inspection). */
  readonly boundDigest: string | undefined;
}

export function principalRecord(p: Principal): PrincipalRecord {
  const t = p.token;
  return {
    user: p.os.user,
    uid: p.os.uid,
    groups: p.os.groups,
    ...(p.ci ? { ci: p.ci } : {}),
    ...(t ? { token: { issuer: t.iss, issuerId: t.issuerId, subject: t.sub, ...(t.jti !== undefined ? { jti: t.jti } : {}), claims: t.claims, ...(t.boundTo ? { boundTo: t.boundTo } : {}) } } : {}),
  };
}

export async function identityStage(ctx: JobContext, loaded: LoadedPolicy, job: { input: string; operation: string; raw: boolean }): Promise<Result<Identified>> {
  const policy = loaded.policy;
  const token = ctx.settings.token;
  let boundDigest: string | undefined;
  if (policy.identity.bindToInput !== false && token !== undefined) {
    const h = await ctx.stage('hash', async () => {
      const opened = await openInput(job.input, policy.input.maxBytes);
      try {
        return (await digestInput(opened.handle, opened.stat.size)).sha256;
      } finally {
        await opened.handle.close();
      }
    });
    if (!h.ok) return h;
    boundDigest = h.value;
  }
  const established = await ctx.stage('identity', () =>
    establishPrincipal({
      identity: policy.identity,
      token,
      env: ctx.settings.env,
      verify: {
        now: ctx.now,
        policyDir: path.dirname(loaded.path),
        operation: job.operation,
        stateDir: ctx.settings.paths.stateDir,
        ...(boundDigest ? { inputSha256: boundDigest } : {}),
      },
    }),
  );
  if (!established.ok) return established;
  const { principal, tokenIgnored } = established.value;
  await ctx.events.emit({ type: 'principal', principal: principalRecord(principal) });
  if (tokenIgnored) {
    await ctx.warn({ rule: 'identity.token', actual: 'a token was presented', limit: 'off', message: 'a token was presented but this policy does not use tokens (identity.token: off); it was ignored', hint: 'drop the token, or use a policy that verifies it' });
  }
  const authz = authorize(principal, policy.authorization, { operation: job.operation, rawArgs: job.raw });
  if (authz.allowed) return ok({ principal, authzRule: authz.ruleId, boundDigest });
  const refusal = failureFrom(new ZtError('unauthorized', authz.reason, { hint: authz.violations[0]?.hint ?? 'check authorization.rules in the policy', violations: authz.violations }));
  const refused = await refuseOrWarn(ctx, policy, refusal);
  if (refused) return fail(refused);
  return ok({ principal, authzRule: authz.ruleId ?? DEFAULT_RULE_ID, boundDigest });
}

/**
 * What each maturity stage demands of a policy. A policy that claims a stage but does not
 * meet it is invalid (exit 9): the stage is a promise, not a label.
 */
import type { Policy, Stage } from './types.js';
import { STAGES } from './types.js';

export interface StageRule {
  readonly id: string;
  /** Lowest stage at which the rule is demanded. */
  readonly from: Stage;
  readonly describe: string;
  readonly holds: (p: Policy) => boolean;
}

export const STAGE_RULES: readonly StageRule[] = [
  { id: 'stage.sandbox-required', from: 'advanced', describe: 'sandbox.required must be true (no degraded mode)', holds: (p) => p.sandbox.required },
  { id: 'stage.seccomp', from: 'advanced', describe: 'sandbox.seccomp must not be "none"', holds: (p) => p.sandbox.seccomp !== 'none' },
  { id: 'stage.seccomp-strict', from: 'optimal', describe: 'sandbox.seccomp must be "strict"', holds: (p) => p.sandbox.seccomp === 'strict' },
  { id: 'stage.default-deny', from: 'advanced', describe: 'authorization.default must be "deny"', holds: (p) => p.authorization.default === 'deny' },
  { id: 'stage.magic-extension', from: 'advanced', describe: 'input.requireMagicMatchesExtension must be true', holds: (p) => p.input.requireMagicMatchesExtension },
  { id: 'stage.magic-format', from: 'advanced', describe: 'input.requireMagicMatchesFormat must be true', holds: (p) => p.input.requireMagicMatchesFormat },
  { id: 'stage.no-attachments', from: 'advanced', describe: 'input.allowAttachments must be false', holds: (p) => !p.input.allowAttachments },
  { id: 'stage.root-owned-binaries', from: 'advanced', describe: 'posture.requireRootOwned must be true', holds: (p) => p.posture.requireRootOwned },
  { id: 'stage.operations-only', from: 'optimal', describe: 'operations.allowRawArgs must be false', holds: (p) => !p.operations.allowRawArgs },
  { id: 'stage.deep-check', from: 'optimal', describe: 'input.deepCheck must be true', holds: (p) => p.input.deepCheck },
  { id: 'stage.token', from: 'optimal', describe: 'identity.token must be "required"', holds: (p) => p.identity.token === 'required' },
  { id: 'stage.signed-policy', from: 'optimal', describe: 'signature.required must be true', holds: (p) => p.signature.required },
  { id: 'stage.provisioned-key', from: 'optimal', describe: 'audit.requireProvisionedKey must be true', holds: (p) => p.audit.requireProvisionedKey },
  { id: 'stage.pinned-jwks', from: 'optimal', describe: 'every identity.issuers[].jwksFile must be pinned with jwksSha256', holds: (p) => p.identity.issuers.every((i) => i.jwksFile === undefined || i.jwksSha256 !== undefined) },
  { id: 'stage.pinned-binaries', from: 'optimal', describe: 'posture.binaries.*.minVersion must be set', holds: (p) => Object.values(p.posture.binaries).every((b) => b.minVersion !== undefined) },
];

export function stageIndex(s: Stage): number {
  return STAGES.indexOf(s);
}

/** The rules a policy claiming `stage` breaks. */
export function unmetStageRules(p: Policy, stage: Stage = p.stage): StageRule[] {
  return STAGE_RULES.filter((r) => stageIndex(r.from) <= stageIndex(stage) && !r.holds(p));
}

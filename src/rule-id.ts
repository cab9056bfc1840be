/**
 * Every rule id a Violation can carry, as one union: each part is declared by the module that
 * owns the rule, so the folder names say where a rule lives:
 *
 *   input.*          src/inspect/rule-ids.ts      the input and what the probe found
 *   output.* (file)  src/verify/rule-ids.ts       the output, verified before publishing, and its
 *                                                bounds (checked before, during and after the run)
 *   output.* (path)  src/publish/rule-ids.ts      where the output may be written
 *   firewall.*       src/plan/firewall/rule-ids.ts raw passthrough arguments
 *   operations.*     src/plan/operation.ts        the vetted operation and its targets
 *   limits.*         src/sandbox/rule-ids.ts      resource limits of a sandboxed run
 *   monitor.*        src/monitor/rule-ids.ts      anomalies seen while it runs
 *   budget.*         src/monitor/rule-ids.ts      cost per second of media, enforced while it runs
 *   posture.*        src/posture/rule-ids.ts      the binaries and their hardening
 *   identity.*, authorization.*  src/identity/rule-ids.ts
 *   policy.*         src/policy/rule-ids.ts       the policy file itself
 */
import type { InputRuleId } from './inspect/rule-ids.js';
import type { OutputRuleId } from './verify/rule-ids.js';
import type { DestinationRuleId } from './publish/rule-ids.js';
import type { FirewallRuleId } from './plan/firewall/rule-ids.js';
import type { OperationRuleId } from './plan/operation.js';
import type { SandboxRuleId } from './sandbox/rule-ids.js';
import type { MonitorRuleId } from './monitor/rule-ids.js';
import type { PostureRuleId } from './posture/rule-ids.js';
import type { IdentityRuleId } from './identity/rule-ids.js';
import type { PolicyRuleId } from './policy/rule-ids.js';

export type RuleId =
  | InputRuleId
  | OutputRuleId
  | DestinationRuleId
  | FirewallRuleId
  | OperationRuleId
  | SandboxRuleId
  | MonitorRuleId
  | PostureRuleId
  | IdentityRuleId
  | PolicyRuleId;

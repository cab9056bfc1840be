/**
 * The maturity checklist: every control the project implements, by CISA ZTMM v2 pillar and
 * cross-cutting capability, judged pass / fail / not-applicable from facts gathered about this
 * machine and this policy. Pure: facts in, verdicts out.
 */
import type { Policy, Stage } from '../policy/types.js';
import { STAGES } from '../policy/types.js';
import type { PostureReport } from '../posture/binaries.js';

export type Pillar =
  | 'identity'
  | 'devices'
  | 'networks'
  | 'applications-workloads'
  | 'data'
  | 'visibility-analytics'
  | 'automation-orchestration'
  | 'governance';

export const PILLARS: readonly Pillar[] = ['identity', 'devices', 'networks', 'applications-workloads', 'data', 'visibility-analytics', 'automation-orchestration', 'governance'];

export type ControlStatus = 'pass' | 'fail' | 'n/a';

export interface Control {
  readonly id: string;
  readonly pillar: Pillar;
  /** Lowest stage that demands it. */
  readonly stage: Stage;
  readonly title: string;
  readonly status: ControlStatus;
  readonly detail: string;
}

export interface DoctorFacts {
  readonly policy: Policy;
  readonly policyPath: string;
  readonly policySignedBy: string | undefined;
  /** Why the policy signature did not verify, when it did not. */
  readonly policySignatureError?: string;
  /** The signature trust root came from outside the policy (--policy-keyring). */
  readonly externalPolicyKeyring: boolean;
  readonly posture: PostureReport;
  readonly sandboxWorks: { ok: boolean; detail: string };
  /** The sandbox's host uid (never 0) and /proc/sys masked, as seen from inside it. */
  readonly sandboxUser: { ok: boolean; detail: string };
  readonly seccompWorks: { ok: boolean; detail: string };
  readonly networkIsolated: { ok: boolean; detail: string };
  readonly auditKey: { exists: boolean; mode?: string; keyId?: string; path: string };
  readonly auditLog: { path: string; writable: boolean; checkpoint: 'ok' | 'absent' | 'mismatch' | 'unverifiable'; detail: string };
  readonly issuerKeys: { ok: boolean; detail: string };
  readonly ci: string | undefined;
}

const c = (id: string, pillar: Pillar, stage: Stage, title: string, ok: boolean | 'n/a', detail: string): Control => ({
  id, pillar, stage, title, status: ok === 'n/a' ? 'n/a' : ok ? 'pass' : 'fail', detail,
});

export function evaluateControls(f: DoctorFacts): Control[] {
  const p = f.policy;
  const bin = f.posture.binaries;
  const postureRule = (prefix: string): boolean => !f.posture.violations.some((v) => v.rule.startsWith(prefix));
  const pinned = Object.values(p.posture.binaries).some((b) => b.sha256 !== undefined);
  return [
    // Identity
    c('identity.os-principal', 'identity', 'initial', 'Every job records the OS user (uid, groups)', true, 'always recorded'),
    c('identity.token', 'identity', 'optimal', 'A signed token (JWT) is required of every caller', p.identity.token === 'required', `identity.token: ${p.identity.token}`),
    c('identity.issuer-keys', 'identity', 'optimal', "Token issuers' keys are configured and readable", p.identity.issuers.length === 0 ? (p.identity.token === 'required' ? false : 'n/a') : f.issuerKeys.ok, f.issuerKeys.detail),
    c('identity.default-deny', 'identity', 'advanced', 'Authorization denies by default', p.authorization.default === 'deny', `authorization.default: ${p.authorization.default}, ${p.authorization.rules.length} rule(s)`),
    c('identity.token-binding', 'identity', 'optimal', 'Tokens are bound to the input digest and operation', p.identity.token === 'off' ? 'n/a' : p.identity.bindToInput !== false, `identity.bindToInput: ${String(p.identity.bindToInput)}`),
    c('identity.single-use', 'identity', 'optimal', 'Token ids (jti) are single-use', p.identity.token === 'off' ? 'n/a' : p.identity.singleUseJti, `identity.singleUseJti: ${String(p.identity.singleUseJti)}`),
    // Devices
    c('devices.binaries-present', 'devices', 'initial', 'ffmpeg, ffprobe, bwrap and prlimit are installed', f.posture.missing.length === 0, f.posture.missing.length === 0 ? Object.values(bin).map((b) => `${b.name} ${b.version} at ${b.path}`).join('; ') : `missing: ${f.posture.missing.join(', ')}`),
    c('devices.min-version', 'devices', 'initial', 'Binaries meet the minimum versions', postureRule('posture.ffmpeg.minVersion') && postureRule('posture.ffprobe.minVersion') && postureRule('posture.bwrap.minVersion'), versionsDetail(f)),
    c('devices.root-owned', 'devices', 'advanced', 'Binaries are root-owned and not writable by others', !Object.values(bin).some((b) => b.owner !== 0 || (parseInt(b.mode, 8) & 0o022) !== 0), Object.values(bin).map((b) => `${b.name} uid ${b.owner} mode ${b.mode}`).join('; ')),
    c('devices.pinned', 'devices', 'optimal', 'Binary hashes are pinned in the policy and match', pinned && postureRule('posture.ffmpeg.sha256') && postureRule('posture.ffprobe.sha256') && postureRule('posture.bwrap.sha256'), pinned ? (f.posture.violations.filter((v) => v.rule.endsWith('.sha256')).map((v) => v.message).join('; ') || 'pins match') : 'no sha256 pins (zt-ffmpeg policy pin FILE)'),
    // Networks
    c('networks.sandbox', 'networks', 'initial', 'bubblewrap can build the sandbox here (user namespaces)', f.sandboxWorks.ok, f.sandboxWorks.detail),
    c('networks.no-network', 'networks', 'initial', 'Sandboxed processes have no network (own empty network namespace)', f.networkIsolated.ok, f.networkIsolated.detail),
    c('networks.protocol-whitelist', 'networks', 'initial', 'ffmpeg/ffprobe may open only local files (-protocol_whitelist file)', true, 'always injected'),
    c('networks.seccomp-sockets', 'networks', 'advanced', 'Seccomp refuses network sockets', p.sandbox.seccomp !== 'none' && f.seccompWorks.ok, `sandbox.seccomp: ${p.sandbox.seccomp}; ${f.seccompWorks.detail}`),
    // Applications & workloads
    c('workloads.sandbox-uid', 'applications-workloads', 'initial', 'The sandbox never runs as host root (a dedicated unprivileged uid) and host-global /proc knobs are masked', f.sandboxUser.ok, f.sandboxUser.detail),
    c('workloads.sandbox-required', 'applications-workloads', 'advanced', 'No degraded (unsandboxed) mode', p.sandbox.required, `sandbox.required: ${String(p.sandbox.required)}`),
    c('workloads.seccomp-strict', 'applications-workloads', 'optimal', 'Seccomp allow-list (strict) profile', p.sandbox.seccomp === 'strict', `sandbox.seccomp: ${p.sandbox.seccomp}`),
    c('workloads.limits', 'applications-workloads', 'initial', 'CPU, memory, file-size, open-file, thread and wall-clock limits', true, `cpu ${p.limits.cpuSeconds}s, as ${p.limits.addressSpaceMiB} MiB, fsize ${p.limits.outputMaxMiB} MiB, nofile ${p.limits.openFiles}, threads ${p.limits.maxThreads}, wall ${p.limits.wallSeconds}s`),
    c('workloads.operations-only', 'applications-workloads', 'optimal', 'Only vetted operations (no raw ffmpeg arguments)', !p.operations.allowRawArgs, `operations.allowRawArgs: ${String(p.operations.allowRawArgs)}`),
    c('workloads.firewall', 'applications-workloads', 'initial', 'Raw arguments pass the argument firewall', true, p.operations.allowRawArgs ? `${p.firewall.options.length} options, ${p.firewall.filters.length} filters allowed` : 'raw arguments refused'),
    c('workloads.no-grants', 'applications-workloads', 'advanced', 'No extra capabilities granted (fonts, GPU)', !p.sandbox.grants.fonts && !p.sandbox.grants.gpu, `fonts ${String(p.sandbox.grants.fonts)}, gpu ${String(p.sandbox.grants.gpu)}`),
    // Data
    c('data.magic-extension', 'data', 'advanced', 'Magic bytes must match the extension', p.input.requireMagicMatchesExtension, `input.requireMagicMatchesExtension: ${String(p.input.requireMagicMatchesExtension)}`),
    c('data.magic-format', 'data', 'advanced', 'Magic bytes must match the demuxer ffprobe picks', p.input.requireMagicMatchesFormat, `input.requireMagicMatchesFormat: ${String(p.input.requireMagicMatchesFormat)}`),
    c('data.sandboxed-probe', 'data', 'initial', 'ffprobe runs inside the sandbox with a format whitelist', f.sandboxWorks.ok, `${p.input.formats.length} formats allowed`),
    c('data.deep-check', 'data', 'optimal', 'Every stream is decoded in the sandbox before the job', p.input.deepCheck, `input.deepCheck: ${String(p.input.deepCheck)}`),
    c('data.no-attachments', 'data', 'advanced', 'Attachment streams are refused', !p.input.allowAttachments, `input.allowAttachments: ${String(p.input.allowAttachments)}`),
    c('data.output-verified', 'data', 'initial', 'Outputs are re-probed in the sandbox and published atomically', true, 'always'),
    // Visibility & analytics
    c('visibility.audit-log', 'visibility-analytics', 'initial', 'The audit log is writable', f.auditLog.writable, f.auditLog.detail),
    c('visibility.checkpoint', 'visibility-analytics', 'initial', "The log's signed checkpoint verifies", f.auditLog.checkpoint === 'ok' || f.auditLog.checkpoint === 'absent', `checkpoint ${f.auditLog.checkpoint}`),
    c('visibility.monitor', 'visibility-analytics', 'initial', 'The sandboxed tree is monitored (CPU, memory, threads, I/O)', true, `every ${p.monitor.sampleMs} ms`),
    c('visibility.escape-kill', 'visibility-analytics', 'advanced', 'Signs of network or out-of-sandbox access kill the job', p.monitor.onEscapeAttempt === 'kill', `monitor.onEscapeAttempt: ${p.monitor.onEscapeAttempt}`),
    // Automation & orchestration
    c('automation.json', 'automation-orchestration', 'initial', 'Machine-readable results (--json, exit codes)', true, 'always'),
    c('automation.ci-context', 'automation-orchestration', 'initial', 'CI context recorded (never trusted)', f.ci === undefined ? 'n/a' : true, f.ci ?? 'not running in CI'),
    c('automation.enforce', 'automation-orchestration', 'advanced', 'The policy enforces (mode: enforce)', p.mode === 'enforce', `mode: ${p.mode}`),
    // Governance
    c('governance.audit-key', 'governance', 'initial', 'An audit signing key exists with mode 0600 (or is generated on first use)', f.auditKey.exists ? f.auditKey.mode === '600' || f.auditKey.mode === '400' : !p.audit.requireProvisionedKey, f.auditKey.exists ? `${f.auditKey.path} mode ${f.auditKey.mode} ${f.auditKey.keyId ?? ''}` : `${f.auditKey.path} missing${p.audit.requireProvisionedKey ? ' (must be provisioned: zt-ffmpeg keygen)' : ' (generated on first job)'}`),
    c('governance.provisioned-key', 'governance', 'optimal', 'The audit key is provisioned, never auto-generated', p.audit.requireProvisionedKey, `audit.requireProvisionedKey: ${String(p.audit.requireProvisionedKey)}`),
    c('governance.policy-signed', 'governance', 'optimal', 'The policy carries a valid signature by a trusted key', f.policySignedBy !== undefined, f.policySignedBy ? `signed by ${f.policySignedBy}` : (f.policySignatureError ?? 'not signed (zt-ffmpeg policy sign)')),
    c('governance.external-trust-root', 'governance', 'optimal', 'The policy signature is checked against keys from outside the policy', f.externalPolicyKeyring, f.externalPolicyKeyring ? '--policy-keyring / ZT_FFMPEG_POLICY_KEYRING' : 'keyring named by the policy itself (pass --policy-keyring)'),
  ];
}

function versionsDetail(f: DoctorFacts): string {
  return Object.values(f.posture.binaries).map((b) => `${b.name} ${b.version}`).join(', ');
}

/** The highest stage all of whose controls pass (n/a counts as pass); undefined if not even initial. */
export function highestStageMet(controls: readonly Control[]): Stage | undefined {
  let met: Stage | undefined;
  for (const s of STAGES) {
    const upTo = STAGES.indexOf(s);
    if (controls.every((x) => STAGES.indexOf(x.stage) > upTo || x.status !== 'fail')) met = s;
    else break;
  }
  return met;
}

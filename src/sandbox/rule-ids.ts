/**
 * The rule ids of the limits a sandboxed run can breach (src/sandbox/, src/monitor/): each is the
 * policy field that set the limit, enforced by the kernel (prlimit), the wall clock or the
 * monitor. `sandbox.required` is the degraded-mode warning.
 */
export const LIMIT_RULES = ['limits.wallSeconds', 'limits.cpuSeconds', 'limits.addressSpaceMiB', 'limits.outputMaxMiB', 'limits.maxThreads'] as const;

export type LimitRuleId = (typeof LIMIT_RULES)[number];

/**
 * `sandbox.stdoutBytes`: a sandboxed command wrote more to stdout than its run's fixed cap (the
 * probes' JSON); it is killed rather than buffered without bound.
 */
export type SandboxRuleId = LimitRuleId | 'sandbox.required' | 'sandbox.tmpfsMiB' | 'sandbox.stdoutBytes';

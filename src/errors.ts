/**
 * Exit codes and typed failures. Every expected failure is a ZtError carrying a
 * reason (one of the literals below), the exit code that reason maps to, a
 * user-facing message and a hint saying what to do next. Anything else that is
 * thrown is a bug and is reported as an internal error (exit 1).
 */
import type { RuleId } from './rule-id.js';

export const EXIT = {
  ok: 0,
  internal: 1,
  usage: 2,
  inputRefused: 3,
  unauthorized: 4,
  limitBreached: 5,
  ffmpegFailed: 6,
  sandboxUnavailable: 7,
  auditFailed: 8,
  policyInvalid: 9,
  /** 128 + the signal that interrupted the job (SIGHUP 1, SIGINT 2, SIGTERM 15), as shells report it. */
  interruptedHup: 129,
  interrupted: 130,
  interruptedTerm: 143,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export const EXIT_CODE_DOCS: ReadonlyArray<readonly [ExitCode, string]> = [
  [0, 'success'],
  [1, 'internal error (a bug: please report it with the version)'],
  [2, 'usage error (bad flags or arguments)'],
  [3, 'refused by policy: the input, the output path or the raw arguments (--json reason: input-refused, output-refused, args-refused)'],
  [4, 'caller not authenticated or not authorized'],
  [5, 'resource limit breached or job killed by the monitor'],
  [6, 'ffmpeg failed'],
  [7, 'sandbox or a required binary unavailable'],
  [8, 'audit log could not be written or verified'],
  [9, 'policy file invalid or its signature bad'],
  [129, 'interrupted by SIGHUP (nothing published; the result record says interrupted)'],
  [130, 'interrupted by SIGINT (Ctrl-C) or cancelled'],
  [143, 'interrupted by SIGTERM'],
];

const SEVERITY: readonly ExitCode[] = [EXIT.ok, EXIT.inputRefused, EXIT.unauthorized, EXIT.ffmpegFailed, EXIT.limitBreached, EXIT.usage, EXIT.internal, EXIT.sandboxUnavailable, EXIT.policyInvalid, EXIT.auditFailed, EXIT.interruptedHup, EXIT.interrupted, EXIT.interruptedTerm];

/** The most severe of several exit codes (0 only when all are 0). */
export function mostSevere(codes: readonly ExitCode[]): ExitCode {
  let worst: ExitCode = EXIT.ok;
  for (const c of codes) if (SEVERITY.indexOf(c) > SEVERITY.indexOf(worst)) worst = c;
  return worst;
}

/** Why something failed. Each reason maps to exactly one exit code (see REASON_EXIT). */
export type FailureReason =
  | 'internal'
  | 'usage'
  | 'input-refused'
  | 'output-refused'
  /** Raw ffmpeg arguments refused: not allowed by the policy, or by the argument firewall. Exit 3, like an input. */
  | 'args-refused'
  | 'unauthenticated'
  | 'unauthorized'
  | 'limit-breached'
  | 'killed-by-monitor'
  | 'ffmpeg-failed'
  | 'sandbox-unavailable'
  | 'binary-unavailable'
  | 'posture-failed'
  | 'audit-unavailable'
  | 'audit-invalid'
  | 'policy-invalid'
  | 'policy-signature'
  /** The job was cancelled (a signal, or a library caller's AbortSignal): its sandbox killed, nothing published. */
  | 'interrupted';

export const REASON_EXIT: Readonly<Record<FailureReason, ExitCode>> = {
  internal: EXIT.internal,
  usage: EXIT.usage,
  'input-refused': EXIT.inputRefused,
  'output-refused': EXIT.inputRefused,
  'args-refused': EXIT.inputRefused,
  unauthenticated: EXIT.unauthorized,
  unauthorized: EXIT.unauthorized,
  'limit-breached': EXIT.limitBreached,
  'killed-by-monitor': EXIT.limitBreached,
  'ffmpeg-failed': EXIT.ffmpegFailed,
  'sandbox-unavailable': EXIT.sandboxUnavailable,
  'binary-unavailable': EXIT.sandboxUnavailable,
  'posture-failed': EXIT.sandboxUnavailable,
  'audit-unavailable': EXIT.auditFailed,
  'audit-invalid': EXIT.auditFailed,
  'policy-invalid': EXIT.policyInvalid,
  'policy-signature': EXIT.policyInvalid,
  // SIGINT's; a job interrupted by SIGTERM or SIGHUP carries its signal (src/job/failure.ts).
  interrupted: EXIT.interrupted,
};

/** One broken rule: which rule, what was found, what the policy allows, what to do. */
export interface Violation {
  /** Stable rule id, e.g. "input.maxWidth" or "firewall.filter"; see src/rule-id.ts for who owns which. */
  readonly rule: RuleId;
  readonly actual: unknown;
  readonly limit: unknown;
  readonly message: string;
  readonly hint?: string;
}

export interface ZtErrorInit {
  readonly hint?: string;
  readonly violations?: readonly Violation[];
  readonly cause?: unknown;
  /** Extra machine-readable facts for --json and the audit record. */
  readonly details?: Readonly<Record<string, unknown>>;
}

export class ZtError extends Error {
  readonly reason: FailureReason;
  readonly exitCode: ExitCode;
  readonly hint: string | undefined;
  readonly violations: readonly Violation[];
  readonly details: Readonly<Record<string, unknown>>;

  constructor(reason: FailureReason, message: string, init: ZtErrorInit = {}) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = 'ZtError';
    this.reason = reason;
    this.exitCode = REASON_EXIT[reason];
    this.hint = init.hint;
    this.violations = init.violations ?? [];
    this.details = init.details ?? {};
  }
}

export function isZtError(e: unknown): e is ZtError {
  return e instanceof ZtError;
}

/** For exhaustive switches: a compile error if a case is missed. */
export function unreachable(x: never): never {
  throw new Error(`internal error: unreachable value ${JSON.stringify(x)}`);
}

/**
 * Expected failures of a job as values. A stage returns its result or a Failure; the job ends
 * at the first Failure. Each reason maps to one exit code (REASON_EXIT) and to one verdict, and
 * carries the fields that reason needs (the breach that got a job killed, how ffmpeg ended).
 */
import { EXIT, REASON_EXIT, ZtError, isZtError, type ExitCode, type FailureReason, type Violation } from '../errors.js';
import type { Breach } from '../monitor/monitor.js';
import type { InterruptSignal } from '../sandbox/supervise.js';

export type Verdict = 'ok' | 'refused' | 'failed';

/** Reasons that are the job's refusal of the request (the caller can fix them), not a failure to carry it out. */
const REFUSALS: ReadonlySet<FailureReason> = new Set<FailureReason>([
  'usage',
  'input-refused',
  'output-refused',
  'args-refused',
  'unauthenticated',
  'unauthorized',
  'policy-invalid',
  'policy-signature',
]);

export function verdictOf(reason: FailureReason): Exclude<Verdict, 'ok'> {
  return REFUSALS.has(reason) ? 'refused' : 'failed';
}

interface FailureCommon<R extends FailureReason> {
  readonly reason: R;
  readonly message: string;
  readonly hint?: string;
  readonly violations: readonly Violation[];
  /** Extra machine-readable facts for --json and the audit record. */
  readonly details?: Readonly<Record<string, unknown>>;
}

/** What a reason carries beyond the common fields. */
interface ReasonFields {
  readonly 'killed-by-monitor': { readonly breach?: Breach };
  readonly 'limit-breached': { readonly breach?: Breach };
  readonly 'ffmpeg-failed': { readonly ffmpeg?: { readonly exitCode: number | undefined; readonly signal: string | undefined } };
  readonly interrupted: { readonly signal: InterruptSignal };
}

type FieldsOf<R extends FailureReason> = R extends keyof ReasonFields ? ReasonFields[R] : unknown;

export type FailureOf<R extends FailureReason> = FailureCommon<R> & FieldsOf<R>;

/** A union discriminated by `reason`. */
export type Failure = { [R in FailureReason]: FailureOf<R> }[FailureReason];

export type Result<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly failure: Failure };

export function ok<T>(value: T): Result<T> {
  return { ok: true, value };
}

export function fail<T = never>(failure: Failure): Result<T> {
  return { ok: false, failure };
}

const SIGNAL_EXIT: Readonly<Record<InterruptSignal, ExitCode>> = { SIGHUP: EXIT.interruptedHup, SIGINT: EXIT.interrupted, SIGTERM: EXIT.interruptedTerm };

export function exitCodeOf(f: Failure): ExitCode {
  return f.reason === 'interrupted' ? SIGNAL_EXIT[f.signal] : REASON_EXIT[f.reason];
}

/** The job was cancelled: its sandbox was killed and nothing is published. */
export function interruptedFailure(signal: InterruptSignal): Failure {
  return {
    reason: 'interrupted',
    signal,
    message: `interrupted by ${signal}: the sandboxed processes were killed and nothing was published`,
    hint: 'run the job again',
    violations: [],
  };
}

/** A breach as a Failure: the monitor's kill (exit 5) names the rule, the actual value and the limit. */
export function breachFailure(reason: 'killed-by-monitor' | 'limit-breached', breach: Breach, message: string, hint: string): Failure {
  return { reason, message, hint, breach, violations: [{ rule: breach.rule, actual: breach.actual, limit: breach.limit, message: breach.message }] };
}

/** The value form of a ZtError thrown by a pillar module. */
export function failureFrom(e: ZtError): Failure {
  const common = {
    message: e.message,
    ...(e.hint !== undefined ? { hint: e.hint } : {}),
    violations: e.violations,
    ...(Object.keys(e.details).length > 0 ? { details: e.details } : {}),
  };
  return { reason: e.reason, ...common } as Failure;
}

/** Run `f`; a ZtError it throws becomes a Failure, anything else is a bug and propagates. */
export async function attempt<T>(f: () => Promise<T>): Promise<Result<T>> {
  try {
    return ok(await f());
  } catch (e) {
    if (isZtError(e)) return fail(failureFrom(e));
    throw e;
  }
}

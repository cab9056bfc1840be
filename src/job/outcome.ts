/** What one job (or one check) came to: the value the CLI renders and the exit code derives from. */
import type { ExitCode, FailureReason, Violation } from '../errors.js';
import type { InputRecord, JobCommand, OutputRecord, PolicyRef, PrincipalRecord, RunRecord } from '../audit/job-records.js';
import type { Verdict } from './failure.js';

export type { Verdict };

export interface JobOutcome {
  readonly command: JobCommand;
  readonly verdict: Verdict;
  readonly exitCode: ExitCode;
  readonly reason?: FailureReason;
  readonly message?: string;
  readonly hint?: string;
  readonly jobId: string;
  readonly violations: readonly Violation[];
  /** Rules that would refuse under enforce (mode warn/audit) or are advisory. */
  readonly warnings: readonly Violation[];
  readonly details?: Readonly<Record<string, unknown>>;
  readonly policy?: PolicyRef;
  readonly principal?: PrincipalRecord;
  readonly operation?: string;
  readonly input?: InputRecord;
  readonly output?: OutputRecord;
  readonly run?: RunRecord;
  readonly degraded: boolean;
  readonly dryRun?: Readonly<Record<string, unknown>>;
  readonly timings: Readonly<Record<string, number>>;
  readonly audit: { readonly log?: string; readonly seqs: readonly number[]; readonly error?: string };
}

/** What one job (or one check) came to: the value the CLI renders and the exit code derives from. */
import type { ExitCode, FailureReason, Violation } from '../errors.js';
import type { Anomaly, Breach, Peaks } from '../monitor/monitor.js';

export type Verdict = 'ok' | 'refused' | 'failed';

export interface JobOutcome {
  readonly command: 'run' | 'check';
  readonly verdict: Verdict;
  readonly exitCode: ExitCode;
  readonly reason?: FailureReason;
  readonly message?: string;
  readonly hint?: string;
  readonly jobId: string;
  readonly violations: readonly Violation[];
  /** Rules that would refuse under enforce (mode warn/audit) or are advisory. */
  readonly warnings: readonly Violation[];
  readonly policy?: { readonly path: string; readonly sha256: string; readonly stage: string; readonly mode: string };
  readonly principal?: Record<string, unknown>;
  readonly operation?: string;
  readonly input?: { readonly path: string; readonly size?: number; readonly sha256?: string; readonly magic?: string; readonly probe?: Record<string, unknown> };
  readonly output?: { readonly path: string; readonly size: number; readonly sha256: string; readonly probe?: Record<string, unknown>; readonly provenance?: string };
  readonly run?: {
    readonly exitCode: number | undefined;
    readonly signal: string | undefined;
    readonly wallMs: number;
    readonly peaks: Peaks;
    readonly anomalies: readonly Anomaly[];
    readonly breach?: Breach;
    /** Processes of the sandboxed tree still alive after the kill path (always 0). */
    readonly leftBehind?: number;
    /** Media seconds processed and the baseline key, for the learned baseline (src/monitor/baseline.ts). */
    readonly mediaSeconds?: number;
    readonly baselineKey?: string;
  };
  readonly degraded: boolean;
  readonly dryRun?: Record<string, unknown>;
  readonly timings: Readonly<Record<string, number>>;
  readonly audit: { readonly log?: string; readonly seqs: readonly number[]; readonly error?: string };
}

/**
 * One event stream per job. The stages emit typed JobEvents; every consumer sees the same
 * events in the same order: the fold below (the job's facts), the audit writer
 * (src/job/audit-consumer.ts), the terminal renderer of the CLI and, once the job ends, the
 * `--json` outcome, which is built from the facts. What is shown, what is recorded and what
 * is returned therefore cannot drift apart.
 *
 * Consumers are awaited in order: the audit consumer must have written the decision record
 * before the stage that emitted `decision` may start ffmpeg (fail closed), so a consumer that
 * throws makes `emit` throw.
 */
import type { Violation } from '../errors.js';
import type { DecisionRecord, InputRecord, JobCommand, OutputRecord, PolicyRef, PrincipalRecord, RunRecord } from '../audit/job-records.js';
import type { Failure } from './failure.js';

/** What the decision record says beyond the fields every record carries. */
export type DecisionFacts = Pick<DecisionRecord, 'authorization' | 'ffmpegArgv' | 'binaries' | 'sandbox' | 'output'>;

export interface Progress {
  /** Media seconds written so far. */
  readonly seconds: number;
  readonly speed: string | undefined;
  /** The input's duration, when known. */
  readonly total: number | undefined;
}

/** How a job ended. A dry run ends ok with the command lines it would have run. */
export type JobEnd =
  | { readonly verdict: 'ok'; readonly dryRun?: Readonly<Record<string, unknown>> }
  | { readonly verdict: 'refused' | 'failed'; readonly failure: Failure };

export type JobEvent =
  | { readonly type: 'policy'; readonly policy: PolicyRef }
  | { readonly type: 'operation'; readonly operation: string }
  | { readonly type: 'posture'; readonly degraded: boolean }
  | { readonly type: 'principal'; readonly principal: PrincipalRecord }
  | { readonly type: 'input'; readonly input: InputRecord }
  | { readonly type: 'warning'; readonly warning: Violation }
  | { readonly type: 'decision'; readonly decision: DecisionFacts }
  | { readonly type: 'progress'; readonly progress: Progress }
  | { readonly type: 'run'; readonly run: RunRecord }
  | { readonly type: 'output'; readonly output: OutputRecord }
  | { readonly type: 'timing'; readonly stage: string; readonly ms: number }
  | { readonly type: 'end'; readonly end: JobEnd }
  | { readonly type: 'recorded'; readonly record: 'decision' | 'result'; readonly seq: number }
  | { readonly type: 'record-failed'; readonly record: 'decision' | 'result'; readonly error: string };

/** Everything known about a job so far: the fold of its events. */
export interface JobFacts {
  readonly jobId: string;
  readonly command: JobCommand;
  readonly auditLog: string;
  policy?: PolicyRef;
  operation?: string;
  degraded: boolean;
  principal?: PrincipalRecord;
  input: InputRecord;
  readonly warnings: Violation[];
  decision?: DecisionFacts;
  run?: RunRecord;
  output?: OutputRecord;
  readonly timings: Record<string, number>;
  end?: JobEnd;
  readonly seqs: number[];
  /** Set when the decision was recorded (so the last record is a `result`, not a `refusal`). */
  decisionSeq?: number;
  auditError?: string;
}

function fold(f: JobFacts, e: JobEvent): void {
  switch (e.type) {
    case 'policy':
      f.policy = e.policy;
      return;
    case 'operation':
      f.operation = e.operation;
      return;
    case 'posture':
      f.degraded = e.degraded;
      return;
    case 'principal':
      f.principal = e.principal;
      return;
    case 'input':
      f.input = e.input;
      return;
    case 'warning':
      f.warnings.push(e.warning);
      return;
    case 'decision':
      f.decision = e.decision;
      return;
    case 'progress':
      return;
    case 'run':
      f.run = e.run;
      return;
    case 'output':
      f.output = e.output;
      return;
    case 'timing':
      f.timings[e.stage] = Math.round(e.ms * 10) / 10;
      return;
    case 'end':
      f.end = e.end;
      return;
    case 'recorded':
      f.seqs.push(e.seq);
      if (e.record === 'decision') f.decisionSeq = e.seq;
      return;
    case 'record-failed':
      f.auditError = e.error;
      return;
    default:
      unreachableEvent(e);
  }
}

function unreachableEvent(e: never): never {
  throw new Error(`internal error: unknown job event ${JSON.stringify(e)}`);
}

export type JobListener = (event: JobEvent, facts: Readonly<JobFacts>) => void | Promise<void>;

export class JobStream {
  readonly facts: JobFacts;
  private readonly listeners: JobListener[] = [];

  constructor(init: { jobId: string; command: JobCommand; auditLog: string; inputPath: string }) {
    this.facts = {
      jobId: init.jobId,
      command: init.command,
      auditLog: init.auditLog,
      degraded: false,
      input: { path: init.inputPath },
      warnings: [],
      timings: {},
      seqs: [],
    };
  }

  subscribe(l: JobListener): void {
    this.listeners.push(l);
  }

  async emit(e: JobEvent): Promise<void> {
    fold(this.facts, e);
    for (const l of this.listeners) await l(e, this.facts);
  }
}

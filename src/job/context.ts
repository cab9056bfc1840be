/**
 * The context every stage of one job runs over: its id, its settings, its event stream, the
 * audit consumer, the clock, and the clean-ups to run when it ends. Stages receive it and the
 * typed results of earlier stages; they never reach into each other.
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { Violation } from '../errors.js';
import type { AuditWriter } from '../audit/writer.js';
import type { JobCommand } from '../audit/job-records.js';
import { attempt, type Result } from './failure.js';
import { JobStream, type JobEnd, type JobListener } from './events.js';
import { AuditConsumer } from './audit-consumer.js';
import { outcomeOf } from './records.js';
import type { JobOutcome } from './outcome.js';
import type { JobSettings } from './settings.js';
import { monotonicMs } from '../util/clock.js';

export interface JobContext {
  readonly jobId: string;
  readonly settings: JobSettings;
  readonly events: JobStream;
  readonly audit: AuditConsumer;
  /** The time the job's tokens are judged at (a batch fixes it at its start). */
  readonly now: Date;
  readonly dryRun: boolean;
  /** Cancels the job, when the caller gave one. */
  readonly signal: AbortSignal | undefined;
  /**
   * Run `f` when the job ends (last registered, first run), while its last record is being
   * written: nothing a clean-up touches is in a record.
   */
  defer(f: () => Promise<unknown>): void;
  /** Run `f` when the job ends, once its last record is written (the audit writer's close). */
  deferAfterRecord(f: () => Promise<unknown>): void;
  /** Run one stage: timed under `name`; a ZtError it throws becomes its Failure. */
  stage<T>(name: string, f: () => Promise<T>): Promise<Result<T>>;
  warn(v: Violation): Promise<void>;
}

export interface JobOptions {
  readonly command: JobCommand;
  readonly settings: JobSettings;
  readonly input: string;
  readonly dryRun?: boolean;
  readonly now?: Date;
  /** An audit writer shared by the jobs of one process (batch); the job does not close it. */
  readonly audit?: AuditWriter;
  /** A further consumer of the events (the terminal renderer). */
  readonly onEvent?: JobListener;
  readonly signal?: AbortSignal;
}

export function startJob(o: JobOptions): JobContext & { finish(end: JobEnd): Promise<JobOutcome>; abandon(): Promise<void> } {
  const started = monotonicMs();
  const jobId = randomUUID();
  const events = new JobStream({ jobId, command: o.command, auditLog: o.settings.paths.auditLog, inputPath: path.resolve(o.input) });
  const dryRun = o.dryRun === true;
  const audit = new AuditConsumer(events, { ...(o.audit ? { writer: o.audit } : {}), dryRun });
  if (o.onEvent) events.subscribe(o.onEvent);
  const cleanups: Array<() => Promise<unknown>> = [];
  const closers: Array<() => Promise<unknown>> = [];
  /** Each clean-up runs once, last registered first, whatever fails. */
  const runAll = async (list: Array<() => Promise<unknown>>): Promise<void> => {
    for (const f of list.splice(0).reverse()) await f().catch(() => undefined);
  };
  const runCleanups = async (): Promise<void> => {
    await runAll(cleanups);
    await runAll(closers);
  };
  return {
    jobId,
    settings: o.settings,
    events,
    audit,
    now: o.now ?? new Date(),
    dryRun,
    signal: o.signal,
    defer(f) {
      cleanups.push(f);
    },
    deferAfterRecord(f) {
      closers.push(f);
    },
    async stage<T>(name: string, f: () => Promise<T>): Promise<Result<T>> {
      const t = monotonicMs();
      try {
        return await attempt(f);
      } finally {
        await events.emit({ type: 'timing', stage: name, ms: monotonicMs() - t });
      }
    },
    async warn(v) {
      await events.emit({ type: 'warning', warning: v });
    },
    async finish(end) {
      await events.emit({ type: 'timing', stage: 'totalMs', ms: monotonicMs() - started });
      // The result record and the clean-ups share nothing, so they run together (the record
      // mostly waits for its lock and fsyncs); the audit writer is closed once both are done.
      const [recorded] = await Promise.allSettled([events.emit({ type: 'end', end }), runAll(cleanups)]);
      await runAll(closers);
      if (recorded.status === 'rejected') throw recorded.reason;
      return outcomeOf(events.facts);
    },
    // A bug thrown past the stages: no record can say what happened, but nothing made for the
    // job (its directory beside the destination, a private copy) may stay.
    abandon: runCleanups,
  };
}

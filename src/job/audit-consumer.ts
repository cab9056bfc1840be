/**
 * The audit log as a consumer of the job's events: the decision record when the job decides to
 * run ffmpeg (a failure to write it throws, so ffmpeg never starts), the result (or refusal, or
 * check) record when the job ends. Each written record is announced back on the stream
 * (`recorded`), so the outcome lists the same sequence numbers the log holds.
 */
import { ZtError, isZtError } from '../errors.js';
import type { AuditWriter } from '../audit/writer.js';
import type { JobEvent, JobFacts, JobStream } from './events.js';
import { decisionRecord, resultRecord } from './records.js';

export class AuditConsumer {
  private writer: AuditWriter | undefined;

  constructor(private readonly stream: JobStream, opts: { writer?: AuditWriter; dryRun: boolean }) {
    this.writer = opts.writer;
    if (!opts.dryRun) stream.subscribe((e, f) => this.on(e, f));
  }

  /** The log opened by the audit stage (or shared by a batch). */
  attach(writer: AuditWriter): void {
    this.writer = writer;
  }

  get attached(): AuditWriter | undefined {
    return this.writer;
  }

  private async on(e: JobEvent, f: Readonly<JobFacts>): Promise<void> {
    if (e.type === 'decision') {
      if (!this.writer) throw new ZtError('audit-unavailable', 'the audit log is not open', { hint: 'internal ordering error; please report it' });
      const r = await this.writer.append(decisionRecord(f)).catch((err: unknown) => {
        throw isZtError(err) ? err : new ZtError('audit-unavailable', `the decision record could not be written: ${String(err)}`, { hint: 'fix the audit log, then re-run' });
      });
      await this.stream.emit({ type: 'recorded', record: 'decision', seq: r.seq });
      return;
    }
    if (e.type === 'end' && this.writer) {
      try {
        const r = await this.writer.append(resultRecord(f));
        await this.stream.emit({ type: 'recorded', record: 'result', seq: r.seq });
      } catch (err) {
        await this.stream.emit({ type: 'record-failed', record: 'result', error: err instanceof Error ? err.message : String(err) });
      }
    }
  }
}

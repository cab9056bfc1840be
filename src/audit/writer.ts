/**
 * Append-only audit writer. Each append, under the inter-process lock:
 * read the head (checkpoint + tail, O(1)), sign the record, write it with one
 * write(2) on an O_APPEND descriptor, fsync, then atomically replace the signed
 * checkpoint. Any failure is a ZtError('audit-unavailable' | 'audit-invalid'):
 * the caller must not run a job whose record could not be written.
 */
import { constants, promises as fs } from 'node:fs';
import { dirname } from 'node:path';
import { ZtError } from '../errors.js';
import { canonicalize } from './canonical.js';
import { checkpointPathFor, encodeCheckpoint, originFor } from './checkpoint.js';
import { fsyncDir, replaceFileAtomic } from './durable-fs.js';
import { auditUnavailable } from './fs-errors.js';
import { loadHead, type LogHead } from './head.js';
import type { SigningKey } from '../keys/index.js';
import { acquireLock } from './lock.js';
import { encodeRecord, RecordTooLarge, type AuditEvent, type AuditPayload, type EncodedRecord } from './record.js';

export const DEFAULT_LOCK_TIMEOUT_MS = 10_000;

export interface AppendResult {
  readonly seq: number;
  /** sha256 hex of the written line: the next record's prev. */
  readonly hash: string;
  /** The written line, including its "\n". */
  readonly line: string;
}

export interface AuditWriter {
  readonly logPath: string;
  readonly checkpointPath: string;
  readonly keyId: string;
  append(event: AuditEvent): Promise<AppendResult>;
  /** The current head, read under the lock. */
  head(): Promise<LogHead>;
  close(): Promise<void>;
}

export interface OpenAuditLogOptions {
  readonly logPath: string;
  readonly key: SigningKey;
  readonly lockTimeoutMs?: number;
}

/** An open log file; the engine behind AuditWriter and rotateKey. */
export class LogFile {
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly logPath: string,
    private readonly fh: fs.FileHandle,
    private readonly lockTimeoutMs: number,
  ) {}

  static async open(logPath: string, lockTimeoutMs: number): Promise<LogFile> {
    const dir = dirname(logPath);
    try {
      await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    } catch (e: unknown) {
      throw auditUnavailable('create the audit log directory', dir, e);
    }
    let fh: fs.FileHandle;
    try {
      fh = await fs.open(logPath, constants.O_RDWR | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
    } catch (e: unknown) {
      throw auditUnavailable('open the audit log', logPath, e);
    }
    try {
      const st = await fh.stat();
      if (!st.isFile()) {
        throw new ZtError('audit-unavailable', `audit log ${logPath} is not a regular file`, {
          hint: 'point --audit-log / ZT_FFMPEG_AUDIT_LOG at a regular file',
        });
      }
      if (st.size === 0) await fsyncDir(dir);
    } catch (e: unknown) {
      await fh.close().catch(() => undefined);
      throw auditUnavailable('open the audit log', logPath, e);
    }
    return new LogFile(logPath, fh, lockTimeoutMs);
  }

  get checkpointPath(): string {
    return checkpointPathFor(this.logPath);
  }

  /** Run `fn` with the inter-process lock held and in-process calls serialized. */
  locked<T>(fn: () => Promise<T>): Promise<T> {
    const run = async (): Promise<T> => {
      const lock = await acquireLock(`${this.logPath}.lock`, this.lockTimeoutMs);
      try {
        return await fn();
      } finally {
        await lock.release();
      }
    };
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  private async size(): Promise<number> {
    try {
      return (await this.fh.stat()).size;
    } catch (e: unknown) {
      throw auditUnavailable('stat the audit log', this.logPath, e);
    }
  }

  /** Read the head; a log that is not exactly what its checkpoint records is refused. Only an answer read under the lock counts. */
  async readHead(headKey: SigningKey): Promise<LogHead> {
    return (await loadHead(this.logPath, await this.size(), headKey)).head;
  }

  /**
   * The deliberate recovery (`zt-ffmpeg audit reseal`): accept the records past the checkpoint
   * (or all of them, without one) if they are complete, chained and signed by `key`, and write
   * a checkpoint for the log as it stands. Lock must be held.
   */
  async reseal(key: SigningKey): Promise<{ before: LogHead | undefined; after: LogHead }> {
    const size = await this.size();
    const before = await loadHead(this.logPath, size, key).then((r) => r.head, () => undefined);
    const { head } = await loadHead(this.logPath, size, key, { acceptTail: true });
    await this.writeCheckpoint(head, new Date().toISOString(), key);
    return { before, after: head };
  }

  /** Append one record signed by `signers`; the checkpoint is signed by `checkpointKey`. Lock must be held. */
  async appendRecord(event: AuditEvent, headKey: SigningKey, signers: readonly SigningKey[], checkpointKey: SigningKey): Promise<AppendResult> {
    const head = await this.readHead(headKey);
    const payload: AuditPayload = { v: 1, seq: head.size, prev: head.head, ts: new Date().toISOString(), kid: headKey.keyId, event };
    const rec = encodeOrRefuse(payload, signers, this.logPath);
    await this.writeDurably(rec.bytes, head.bytes);
    const next: LogHead = {
      size: head.size + 1,
      bytes: head.bytes + rec.bytes.length,
      head: rec.hash,
      origin: head.origin ?? originFor(rec.hash),
    };
    await this.writeCheckpoint(next, payload.ts, checkpointKey);
    return { seq: payload.seq, hash: rec.hash, line: rec.line };
  }

  private async writeDurably(bytes: Buffer, sizeBefore: number): Promise<void> {
    try {
      const { bytesWritten } = await this.fh.write(bytes, 0, bytes.length);
      if (bytesWritten !== bytes.length) {
        throw Object.assign(new Error(`short write: ${bytesWritten} of ${bytes.length} bytes`), { code: 'ENOSPC' });
      }
      await this.fh.sync();
    } catch (e: unknown) {
      // Leave no partial record behind if we can help it.
      await this.fh.truncate(sizeBefore).catch(() => undefined);
      throw auditUnavailable('append to the audit log', this.logPath, e);
    }
  }

  private async writeCheckpoint(head: LogHead, ts: string, key: SigningKey): Promise<void> {
    if (head.origin === undefined) return;
    const text = encodeCheckpoint({ origin: head.origin, size: head.size, bytes: head.bytes, head: head.head, ts }, key);
    try {
      await replaceFileAtomic(this.checkpointPath, text, 0o600);
    } catch (e: unknown) {
      throw auditUnavailable('write the audit checkpoint', this.checkpointPath, e);
    }
  }

  async close(): Promise<void> {
    await this.queue;
    await this.fh.close();
  }
}

/** A record the verifier would refuse is never written: the job fails closed (exit 8) instead. */
function encodeOrRefuse(payload: AuditPayload, signers: readonly SigningKey[], logPath: string): EncodedRecord {
  try {
    return encodeRecord(payload, signers);
  } catch (e: unknown) {
    if (!(e instanceof RecordTooLarge)) throw e;
    throw new ZtError('audit-unavailable', `cannot write to the audit log ${logPath}: ${e.message}`, { hint: 'the job is not run; report this: a record this large means an input field was not bounded', cause: e });
  }
}

function checkEvent(event: AuditEvent): void {
  if (typeof event !== 'object' || event === null || Array.isArray(event) || typeof event.type !== 'string' || event.type === '') {
    throw new Error('internal error: an audit event must be an object with a non-empty string `type`');
  }
  if (event.type === 'key-rotation') throw new Error('internal error: key-rotation records are written only by rotateKey()');
  if (event.jobId !== undefined && typeof event.jobId !== 'string') throw new Error('internal error: audit event jobId must be a string');
  canonicalize(event); // throws (a bug) on values that are not JSON data
}

/**
 * Open (creating if needed: directory 0700, file 0600) the log at `logPath` for
 * appending with `key`. Validates the head at once, so a damaged log or a wrong
 * key fails before any job starts.
 */
export async function openAuditLog(opts: OpenAuditLogOptions): Promise<AuditWriter> {
  const file = await LogFile.open(opts.logPath, opts.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS);
  const { key } = opts;
  try {
    // Read without the lock first: the answer that counts is the one every append gets under
    // the lock, and this is only the early refusal of a damaged log. A log caught between a
    // writer's record and its checkpoint looks damaged here, so any refusal is asked again
    // under the lock before it stands; a log that reads as sound once was sound then. (Saves
    // a flock(1) and the lock file's note on every job: about 2.5 ms.)
    await file.readHead(key).catch(() => file.locked(() => file.readHead(key)));
  } catch (e: unknown) {
    await file.close().catch(() => undefined);
    throw e;
  }
  return {
    logPath: opts.logPath,
    checkpointPath: file.checkpointPath,
    keyId: key.keyId,
    append: async (event) => {
      checkEvent(event);
      return file.locked(() => file.appendRecord(event, key, [key], key));
    },
    head: () => file.locked(() => file.readHead(key)),
    close: () => file.close(),
  };
}

/** `zt-ffmpeg audit reseal`: seal the log as it stands (see LogFile.reseal), under the lock. */
export async function resealAuditLog(opts: OpenAuditLogOptions): Promise<{ before: LogHead | undefined; after: LogHead }> {
  const file = await LogFile.open(opts.logPath, opts.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS);
  try {
    return await file.locked(() => file.reseal(opts.key));
  } finally {
    await file.close();
  }
}

/**
 * `zt-ffmpeg audit verify`: checks one or more logs against a trust set the
 * caller chose, and names the FIRST bad record of each (line, seq, fault kind).
 *
 * Per record, in file order: complete line; canonical, well-formed record;
 * signer(s) trusted and valid for that seq (key rotation); signature(s) valid;
 * seq contiguous from 0; prev = sha256 of the previous line; timestamps not
 * going back by more than the tolerance. Then the checkpoint: signed by the key
 * active at its size, and its size/byte length/head hash/origin consistent with
 * the log (a log shorter than its checkpoint is 'truncated').
 *
 * A decision record without a result (or refusal) record for the same jobId is
 * reported in unfinishedJobs: a crash, not tampering, so `ok` stays true.
 *
 * Signatures are verified in batches on worker threads (logs ≥ 256 KiB, or when
 * `workers` says so) while the main thread walks the chain; one stream pass,
 * constant memory. Fault classification looks around the bad line only on failure.
 */
import { promises as fs } from 'node:fs';
import { ZtError } from '../errors.js';
import { ChainChecker, DEFAULT_MAX_CLOCK_SKEW_MS, type ChainSnapshot, type FaultKind, type LinkBreak } from './chain.js';
import { checkpointPathFor, checkpointSignatureValid, decodeCheckpoint, originFor, type Checkpoint } from './checkpoint.js';
import { errnoOf } from './fs-errors.js';
import type { TrustedKeys } from '../keys/index.js';
import { IN_FLIGHT_REREADS, lineMayBeInFlight, readLines, type RawLine } from './lines.js';
import { decodeRecord, GENESIS_PREV, lineHash } from './record.js';
import { InlineVerifier, WorkerPoolVerifier, type SignatureVerifier } from './sig-verifier.js';

export type { FaultKind } from './chain.js';

export interface FirstBad {
  /** 1-based line number of the first bad record (for 'truncated': the first missing line). */
  readonly line: number;
  readonly seq?: number;
  readonly fault: FaultKind;
  readonly message: string;
}

export type CheckpointStatus = 'ok' | 'absent' | 'mismatch';

export interface LogReport {
  readonly path: string;
  /** Records in the valid prefix (all records when ok). */
  readonly records: number;
  /** Hash of the last record of the valid prefix (64 zeros for none). */
  readonly headHash: string;
  readonly ok: boolean;
  readonly firstBad?: FirstBad;
  /** Jobs with a decision record and no result/refusal record. Not a failure. */
  readonly unfinishedJobs: string[];
  readonly checkpoint: CheckpointStatus;
  readonly checkpointMessage?: string;
}

export interface VerifyReport {
  readonly ok: boolean;
  readonly logs: LogReport[];
}

export interface VerifyOptions {
  readonly logPaths: readonly string[];
  readonly trusted: TrustedKeys;
  /** A checkpoint to check against (e.g. a witnessed copy); only with one log. Default: `<log>.checkpoint` if present. */
  readonly checkpointPath?: string;
  /** Signature worker threads; default 2 for logs ≥ 256 KiB, else 0 (inline). */
  readonly workers?: number;
  /** How far a timestamp may go back before it is a fault. Default 5 minutes. */
  readonly maxClockSkewMs?: number;
  /**
   * A non-empty log without its checkpoint fails (default): cutting records off the end and
   * deleting the checkpoint would otherwise verify. `false` checks the records alone.
   */
  readonly requireCheckpoint?: boolean;
}

const WORKER_THRESHOLD_BYTES = 256 * 1024;
const DEFAULT_WORKERS = 2;

export async function verifyLogs(opts: VerifyOptions): Promise<VerifyReport> {
  if (opts.checkpointPath !== undefined && opts.logPaths.length !== 1) {
    throw new ZtError('usage', `a checkpoint file can be given for exactly one log; got ${opts.logPaths.length} logs`, {
      hint: 'verify the logs one at a time when passing --checkpoint',
    });
  }
  if (opts.logPaths.length === 0) throw new ZtError('usage', 'no audit log to verify', { hint: 'name at least one log file' });
  const logs: LogReport[] = [];
  for (const path of opts.logPaths) logs.push(await verifyOne(path, opts));
  return { ok: logs.every((l) => l.ok), logs };
}

type CheckpointState =
  | { readonly status: 'absent' }
  | { readonly status: 'bad'; readonly message: string }
  | { readonly status: 'valid'; readonly cp: Checkpoint };

/** A checkpoint is one short line; a bigger file is not read. */
const MAX_CHECKPOINT_BYTES = 64 * 1024;

async function loadCheckpoint(path: string, explicit: boolean, trusted: TrustedKeys): Promise<CheckpointState> {
  let data: Buffer;
  try {
    const st = await fs.stat(path);
    if (!st.isFile()) throw Object.assign(new Error('not a regular file'), { code: 'EINVAL' });
    if (st.size > MAX_CHECKPOINT_BYTES) return { status: 'bad', message: `checkpoint ${path} is ${st.size} bytes, more than the ${MAX_CHECKPOINT_BYTES} a checkpoint may be` };
    data = await fs.readFile(path);
  } catch (e: unknown) {
    if (errnoOf(e) === 'ENOENT' && !explicit) return { status: 'absent' };
    throw new ZtError('usage', `cannot read checkpoint ${path}: ${errnoOf(e)}`, { hint: 'pass an existing checkpoint file, or omit --checkpoint', cause: e });
  }
  const d = decodeCheckpoint(data);
  if (!d.ok) return { status: 'bad', message: `checkpoint ${path}: ${d.message}` };
  const key = trusted.get(d.keyid);
  if (key === undefined) return { status: 'bad', message: `checkpoint ${path} is signed by ${d.keyid}, which is not a trusted key` };
  if (!checkpointSignatureValid(d, key)) return { status: 'bad', message: `checkpoint ${path} has an invalid signature` };
  return { status: 'valid', cp: d.checkpoint };
}

interface Stop {
  readonly line: number;
  readonly seq?: number;
  readonly fault: FaultKind;
  readonly message: string;
  readonly link?: LinkBreak;
  readonly hash?: string;
}

/**
 * Verify one log. A last line without its newline may be a record in flight, seen half-copied
 * while a writer appends (see lineMayBeInFlight): the log is then read again, whole, at most
 * IN_FLIGHT_REREADS times; otherwise it is reported as it is.
 */
async function verifyOne(path: string, opts: VerifyOptions): Promise<LogReport> {
  for (let read = 1; ; read++) {
    const { report, torn } = await verifyOnce(path, opts);
    if (torn === undefined || report.firstBad?.fault !== 'incomplete-last-line' || read > IN_FLIGHT_REREADS) return report;
    if (!(await lineMayBeInFlight(path, torn))) return report;
  }
}

async function verifyOnce(path: string, opts: VerifyOptions): Promise<{ report: LogReport; torn?: Pick<RawLine, 'offset' | 'length'> }> {
  let size: number;
  try {
    const st = await fs.stat(path);
    if (!st.isFile()) throw Object.assign(new Error('not a regular file'), { code: 'EINVAL' });
    size = st.size;
  } catch (e: unknown) {
    throw new ZtError('usage', `cannot read audit log ${path}: ${errnoOf(e)}`, { hint: 'name an existing audit log file', cause: e });
  }
  const cpPath = opts.checkpointPath ?? checkpointPathFor(path);
  const cpState = await loadCheckpoint(cpPath, opts.checkpointPath !== undefined, opts.trusted);
  const cp = cpState.status === 'valid' ? cpState.cp : undefined;

  const workers = opts.workers ?? (size >= WORKER_THRESHOLD_BYTES ? DEFAULT_WORKERS : 0);
  const verifier: SignatureVerifier = workers > 0 ? new WorkerPoolVerifier(opts.trusted, workers) : new InlineVerifier();
  const chain = new ChainChecker(opts.trusted, opts.maxClockSkewMs ?? DEFAULT_MAX_CLOCK_SKEW_MS);
  let atCheckpoint: ChainSnapshot | undefined = cp?.size === 0 ? chain.snapshot() : undefined;
  let stop: Stop | undefined;
  let torn: Pick<RawLine, 'offset' | 'length'> | undefined;
  let firstBad: FirstBad | undefined;
  try {
    for await (const ln of readLines(path)) {
      if (!ln.complete) {
        stop = { line: ln.lineNo, fault: 'incomplete-last-line', message: `the last line (${ln.bytes.length} bytes at offset ${ln.offset}) has no terminating newline: a torn write or a truncation` };
        torn = { offset: ln.offset, length: ln.length };
        break;
      }
      const d = decodeRecord(ln.bytes);
      if (!d.ok) {
        stop = { line: ln.lineNo, ...(d.seq !== undefined ? { seq: d.seq } : {}), fault: d.fault, message: d.message };
        break;
      }
      const seq = d.envelope.payload.seq;
      const hash = lineHash(ln.bytes);
      const r = chain.step(d, hash, ln.bytes.length + 1);
      for (const check of r.sigChecks) await verifier.submit({ line: ln.lineNo, seq }, check);
      if (!r.ok) {
        stop = { line: ln.lineNo, seq, fault: r.fault, message: r.message, hash, ...(r.link !== undefined ? { link: r.link } : {}) };
        break;
      }
      if (cp !== undefined && chain.snapshot().size === cp.size) atCheckpoint = chain.snapshot();
      if (verifier.knownFailureLine() !== undefined) break;
    }
    const sigFail = await verifier.settle();
    if (sigFail !== undefined && (stop === undefined || sigFail.line <= stop.line)) {
      firstBad = {
        line: sigFail.line,
        seq: sigFail.seq,
        fault: 'modified',
        message: `signature by ${sigFail.keyid} does not verify: the record was changed after it was signed`,
      };
    } else if (stop !== undefined) {
      firstBad = await refine(path, stop);
    }
  } finally {
    await verifier.close();
  }

  // Checkpoint.
  let checkpoint: CheckpointStatus = cpState.status === 'absent' ? 'absent' : cpState.status === 'bad' ? 'mismatch' : 'ok';
  let checkpointMessage = cpState.status === 'bad' ? cpState.message : undefined;
  const end = chain.snapshot();
  if (cp !== undefined) {
    const problem = compareCheckpoint(cp, atCheckpoint, chain.genesis, firstBad, end);
    if (problem !== undefined) {
      checkpoint = 'mismatch';
      checkpointMessage = problem.message;
      firstBad ??= problem.firstBad;
    }
  }

  const unsealed = cpState.status === 'absent' && end.size > 0 && opts.requireCheckpoint !== false;
  if (unsealed) {
    checkpointMessage = `no checkpoint ${cpPath} beside a log of ${end.size} records: records may have been cut off its end with the checkpoint deleted (pass --no-checkpoint to check the records alone)`;
  }
  const records = firstBad === undefined ? end.size : firstBad.line - 1;
  const headHash = firstBad === undefined ? end.head : records === 0 ? GENESIS_PREV : await hashOfLine(path, records);
  const report: LogReport = {
    path,
    records,
    headHash,
    ok: firstBad === undefined && checkpoint !== 'mismatch' && !unsealed,
    ...(firstBad !== undefined ? { firstBad } : {}),
    unfinishedJobs: chain.unfinishedJobs(),
    checkpoint,
    ...(checkpointMessage !== undefined ? { checkpointMessage } : {}),
  };
  return { report, ...(torn !== undefined ? { torn } : {}) };
}

function compareCheckpoint(
  cp: Checkpoint,
  at: ChainSnapshot | undefined,
  genesis: string | undefined,
  firstBad: FirstBad | undefined,
  end: ChainSnapshot,
): { message: string; firstBad?: FirstBad } | undefined {
  if (at === undefined) {
    if (firstBad !== undefined) return undefined; // the log broke before the checkpointed size: nothing more to compare
    return {
      message: `the log holds ${end.size} records (${end.bytes} bytes) but its checkpoint records ${cp.size} (${cp.bytes} bytes)`,
      firstBad: {
        line: end.size + 1,
        seq: end.size,
        fault: 'truncated',
        message: `records ${end.size}..${cp.size - 1} are missing from the end of the log: it holds ${end.size} records but its signed checkpoint records ${cp.size}`,
      },
    };
  }
  const forked = (message: string): { message: string; firstBad: FirstBad } => ({
    message,
    firstBad: { line: Math.max(cp.size, 1), ...(cp.size > 0 ? { seq: cp.size - 1 } : {}), fault: 'forked', message },
  });
  if (at.head !== cp.head || at.bytes !== cp.bytes) {
    return forked(`the log's first ${cp.size} records (head ${at.head.slice(0, 16)}…, ${at.bytes} bytes) differ from its signed checkpoint (head ${cp.head.slice(0, 16)}…, ${cp.bytes} bytes): the log was rewritten`);
  }
  if (cp.size > 0 && genesis !== undefined && cp.origin !== originFor(genesis)) {
    return forked(`the checkpoint's origin ${cp.origin} is not this log's (${originFor(genesis)})`);
  }
  if (cp.size > 0 && at.activeKid !== cp.kid) {
    return { message: `the checkpoint is signed by ${cp.kid}, but the key active at size ${cp.size} is ${String(at.activeKid)}` };
  }
  return undefined;
}

/** Sharpen a provisional link fault by looking at the records around it. */
async function refine(path: string, stop: Stop): Promise<FirstBad> {
  const base: FirstBad = { line: stop.line, ...(stop.seq !== undefined ? { seq: stop.seq } : {}), fault: stop.fault, message: stop.message };
  const link = stop.link;
  if (link === undefined || link.kind === 'prev') return base;
  if (link.kind === 'ahead') {
    // A missing seq that turns up later was moved, not deleted.
    for await (const ln of readLines(path, {})) {
      if (ln.lineNo <= stop.line) continue;
      const seq = quickSeq(ln.bytes);
      if (seq !== undefined && seq >= link.expected && seq < link.seq) {
        return { ...base, fault: 'reordered', message: `seq ${link.seq} appears where seq ${link.expected} belongs; seq ${seq} appears later at line ${ln.lineNo}: records were reordered` };
      }
    }
    return base;
  }
  // Behind: the valid prefix holds seq s at line s+1. Same bytes = a replayed copy; other bytes = a fork.
  const earlierHash = await hashOfLine(path, link.seq + 1);
  if (earlierHash === stop.hash) {
    return { ...base, fault: 'inserted', message: `line ${stop.line} is a copy of line ${link.seq + 1} (seq ${link.seq}) inserted after seq ${link.expected - 1}` };
  }
  return {
    ...base,
    fault: 'forked',
    message: `line ${stop.line} is a second, different, validly signed record for seq ${link.seq} (the first is line ${link.seq + 1}): the chain forks`,
  };
}

function quickSeq(bytes: Buffer): number | undefined {
  try {
    const o = JSON.parse(bytes.toString('utf8')) as { payload?: { seq?: unknown } };
    return typeof o.payload?.seq === 'number' ? o.payload.seq : undefined;
  } catch {
    return undefined;
  }
}

async function hashOfLine(path: string, lineNo: number): Promise<string> {
  for await (const ln of readLines(path)) {
    if (ln.lineNo === lineNo) return lineHash(ln.bytes);
  }
  return GENESIS_PREV;
}

/**
 * The writer's view of the log's head (next seq, byte length, last hash), read
 * in O(1): the signed checkpoint plus only the bytes past the offset it records.
 * The writer never extends a log it cannot vouch for: a log shorter than its
 * checkpoint, a non-empty log without one (its tail may have been cut off and the
 * checkpoint deleted with it), and bytes past the checkpoint are all refused
 * ('audit-invalid'). Re-sealing is a deliberate act (`zt-ffmpeg audit reseal`,
 * acceptTail): then bytes past the checkpoint are accepted only if they are
 * complete records, linked and signed by the writer's own key.
 */
import { verify } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { ZtError } from '../errors.js';
import { checkpointPathFor, checkpointSignatureValid, decodeCheckpoint, originFor } from './checkpoint.js';
import { RECORD_PAYLOAD_TYPE } from './dsse.js';
import { auditUnavailable, errnoOf } from './fs-errors.js';
import type { SigningKey } from '../keys/index.js';
import { readLines } from './lines.js';
import { decodeRecord, GENESIS_PREV, lineHash } from './record.js';

export interface LogHead {
  /** Number of records = seq of the next record. */
  readonly size: number;
  /** Byte length of the log. */
  readonly bytes: number;
  /** Hash of the last record line (GENESIS_PREV for an empty log). */
  readonly head: string;
  /** Log identity, fixed by the genesis record; undefined while the log is empty. */
  readonly origin: string | undefined;
}

const EMPTY: LogHead = { size: 0, bytes: 0, head: GENESIS_PREV, origin: undefined };

function invalid(message: string, logPath: string): ZtError {
  return new ZtError('audit-invalid', message, {
    hint: `run \`zt-ffmpeg audit verify ${logPath}\` to find the damage; to keep working, move the log and its .checkpoint aside (keep them as evidence) so a new log starts`,
    details: { path: logPath },
  });
}

async function readCheckpoint(path: string): Promise<Buffer | undefined> {
  try {
    return await fs.readFile(path);
  } catch (e: unknown) {
    if (errnoOf(e) === 'ENOENT') return undefined;
    throw auditUnavailable('read the audit checkpoint', path, e);
  }
}

const RESEAL_HINT = (logPath: string): string =>
  `check the records with \`zt-ffmpeg audit verify ${logPath} --no-checkpoint\`; if they are all yours, seal the log as it stands with \`zt-ffmpeg audit reseal ${logPath}\` (or move the log aside to start a new one)`;

/**
 * `key` is the key that must be active at the head (it signs the checkpoint). Without
 * `acceptTail`, a log that is not exactly what its checkpoint records is refused.
 */
export async function loadHead(logPath: string, fileSize: number, key: SigningKey, opts: { acceptTail?: boolean } = {}): Promise<{ head: LogHead; recovered: boolean }> {
  const cpPath = checkpointPathFor(logPath);
  const data = await readCheckpoint(cpPath);
  let head = EMPTY;
  if (data !== undefined) {
    const d = decodeCheckpoint(data);
    if (!d.ok) throw invalid(`audit checkpoint ${cpPath} is damaged: ${d.message}`, logPath);
    if (d.keyid !== key.keyId) {
      throw invalid(`audit checkpoint ${cpPath} is signed by ${d.keyid}, but this writer signs with ${key.keyId}; the log is kept by another key`, logPath);
    }
    if (!checkpointSignatureValid(d, key.publicKey)) throw invalid(`audit checkpoint ${cpPath} has an invalid signature`, logPath);
    const c = d.checkpoint;
    head = { size: c.size, bytes: c.bytes, head: c.head, origin: c.size > 0 ? c.origin : undefined };
  }
  if (fileSize < head.bytes) {
    throw invalid(`audit log ${logPath} is ${fileSize} bytes but its checkpoint records ${head.bytes} bytes (${head.size} records): the log was truncated`, logPath);
  }
  if (fileSize === head.bytes) return { head, recovered: false };
  if (opts.acceptTail !== true) {
    const message = data === undefined
      ? `audit log ${logPath} holds ${fileSize} bytes but has no checkpoint: its end may have been cut off and the checkpoint deleted with it`
      : `audit log ${logPath} holds ${fileSize - head.bytes} bytes past its checkpoint (${head.size} records, ${head.bytes} bytes): a crash between a record and its checkpoint, or records added behind the writer's back`;
    throw new ZtError('audit-invalid', message, { hint: RESEAL_HINT(logPath), details: { path: logPath, checkpointBytes: head.bytes, fileBytes: fileSize } });
  }
  return { head: await recoverTail(logPath, head, key), recovered: true };
}

async function recoverTail(logPath: string, from: LogHead, key: SigningKey): Promise<LogHead> {
  let head = from;
  const where = `past the checkpointed end (byte ${from.bytes}) of ${logPath}`;
  for await (const ln of readLines(logPath, { start: from.bytes, firstLineNo: from.size + 1 })) {
    const at = `line ${ln.lineNo} ${where}`;
    if (!ln.complete) throw invalid(`${at} is an incomplete record (a crash mid-write, or tampering)`, logPath);
    const d = decodeRecord(ln.bytes);
    if (!d.ok) throw invalid(`${at} is not a valid record: ${d.message}`, logPath);
    const { payload, payloadType, signatures } = d.envelope;
    const sig = d.sigBytes[0];
    if (
      payloadType !== RECORD_PAYLOAD_TYPE ||
      payload.v !== 1 ||
      signatures.length !== 1 ||
      sig === undefined ||
      payload.kid !== key.keyId ||
      signatures[0]?.keyid !== key.keyId ||
      !verify(null, d.message, key.publicKey, sig)
    ) {
      throw invalid(`${at} is not a record signed by this writer's key ${key.keyId}`, logPath);
    }
    if (payload.seq !== head.size || payload.prev !== head.head) {
      throw invalid(`${at} does not continue the chain (seq ${payload.seq}, expected ${head.size})`, logPath);
    }
    const hash = lineHash(ln.bytes);
    head = { size: head.size + 1, bytes: head.bytes + ln.bytes.length + 1, head: hash, origin: head.origin ?? originFor(hash) };
  }
  return head;
}

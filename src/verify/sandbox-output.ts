/**
 * What the sandbox leaves is hostile input. After the whole tree is dead (nothing of it can
 * still swap or write the file), the output is opened by its name in the private job directory
 * without following a link and without blocking (a FIFO would hang an open for read), and must
 * be exactly the file the host made for it: a regular file, one link, owned by the sandbox's
 * uid, the same inode, and under the size limit. Everything after this (hash, probe, publish)
 * reads the descriptor returned here, so the bytes verified are the bytes published.
 *
 * Under bubblewrap the sandbox cannot replace the file at all (it is a bind mount of that
 * inode in a read-only directory); these checks are the second wall, and they are what holds
 * when the first has a hole.
 */
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { ZtError, type Violation } from '../errors.js';
import type { Breach } from '../monitor/monitor.js';
import { describeKind } from '../util/file-kind.js';

export interface ExpectedOutput {
  /** Where it is, reached through the job directory's descriptor. */
  readonly at: string;
  readonly dev: number;
  readonly ino: number;
  /** The host uid the sandbox ran as. */
  readonly uid: number;
  /** limits.outputMaxMiB in bytes: a file that reached it was stopped by RLIMIT_FSIZE. */
  readonly maxBytes: number;
}

function refused(problem: string, actual: unknown, limit: unknown): ZtError {
  const v: Violation = { rule: 'output.sandbox-file', actual, limit, message: `what the sandbox left as its output is ${problem}` };
  return new ZtError('ffmpeg-failed', `the output was not published: what the sandbox left is ${problem}`, {
    hint: 'a compromised or misbehaving ffmpeg: nothing it left was read or published; the record names what was found',
    violations: [v],
  });
}

/** The breach of limits.outputMaxMiB by a file that reached it. */
export function outputSizeBreach(size: number, maxBytes: number): Breach {
  return { rule: 'limits.outputMaxMiB', actual: size, limit: maxBytes, message: `the output reached the limit of ${Math.round(maxBytes / 1048576)} MiB` };
}

/**
 * Open and check what the sandbox left. `leftBehind` is how many processes of its tree outlived
 * the kill path: with any, the file may still change, and nothing is claimed.
 */
export async function claimSandboxOutput(e: ExpectedOutput, leftBehind: number): Promise<FileHandle> {
  if (leftBehind > 0) throw refused(`still open to ${leftBehind} process(es) of the sandboxed tree that could not be ended`, leftBehind, 0);
  let h: FileHandle;
  try {
    h = await open(e.at, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw refused(code === 'ELOOP' ? 'a symbolic link' : code === 'ENOENT' ? 'gone' : `unopenable (${code})`, code, 'the regular file the host made');
  }
  try {
    const st = await h.stat();
    if (!st.isFile()) throw refused(describeKind(st), describeKind(st), 'a regular file');
    if (st.dev !== e.dev || st.ino !== e.ino) throw refused('another file than the one the host made', `inode ${st.ino}`, `inode ${e.ino}`);
    if (st.nlink !== 1) throw refused(`a file with ${st.nlink} links`, st.nlink, 1);
    if (st.uid !== e.uid) throw refused(`owned by uid ${st.uid}`, st.uid, e.uid);
    if (st.size >= e.maxBytes) {
      const b = outputSizeBreach(st.size, e.maxBytes);
      throw new ZtError('limit-breached', `job stopped by a resource limit: ${b.message}`, {
        hint: 'the input needs more than this policy allows (limits.outputMaxMiB)',
        violations: [{ rule: b.rule, actual: b.actual, limit: b.limit, message: b.message }],
      });
    }
    return h;
  } catch (err) {
    await h.close();
    throw err;
  }
}

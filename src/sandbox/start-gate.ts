/**
 * How bubblewrap gets its seccomp program, and why that is also the gate on the command.
 *
 * bwrap reads the program (`--seccomp 0`) to its end of file from its stdin, a pipe (a UNIX
 * stream socket, as libuv makes them) whose other end only this process holds, after it has
 * built the whole sandbox (namespaces, mounts, dropped privileges)
 * and just before it applies the filter and executes the command. So the sandbox can be set up
 * while the job's decision record is being written, and the command cannot start before the
 * program is handed over, which happens only once the record is durable (SupervisedRun's
 * startGate). Whatever goes wrong, the command does not start:
 * - the record fails: the tree is killed while bwrap still waits, and the program is never sent;
 * - this process dies first: the kernel closes the pipe, bwrap reads an empty program, and the
 *   kernel refuses it (prctl(PR_SET_SECCOMP) fails with EINVAL; bwrap exits without executing);
 * - it dies during the write: the program is at most 4096 bytes, written with one write(2) into
 *   the socket's empty buffer (over 200 KiB), which the kernel queues whole or not at all; the
 *   end of file comes after it. A program cut short could still be one the kernel accepts (it
 *   would end on one of the filter's own returns), so this is why there is one write only.
 *
 * bwrap closes its stdin once it has read the program, so the command starts with fd 0 closed
 * (its first open() gets 0). ffmpeg runs with -nostdin (the firewall refuses stdin as an input)
 * and ffprobe never reads stdin. Node can give a child a pipe to write to only on its stdin.
 */
import type { Writable } from 'node:stream';
import { ZtError } from '../errors.js';

/** The largest program handed over: one write(2) of it is delivered whole (PIPE_BUF for a pipe). */
export const MAX_PROGRAM_BYTES = 4096;

/** `program`, checked to be one that can be handed over whole (else a bug: exit 7). */
export function checkedProgram(program: Buffer): Buffer {
  if (program.length === 0 || program.length % 8 !== 0 || program.length > MAX_PROGRAM_BYTES) {
    throw new ZtError('sandbox-unavailable', `the seccomp program has ${program.length} bytes: a program is a non-empty multiple of 8 bytes, at most ${MAX_PROGRAM_BYTES}, to be handed to bwrap in one atomic write`, {
      hint: 'this is a bug in the seccomp profile; report it with `zt-ffmpeg doctor` output',
    });
  }
  return program;
}

/** A gate, shut until opened or refused (SupervisedRun.startGate is its promise). */
export interface StartGate {
  readonly promise: Promise<void>;
  open(): void;
  refuse(): void;
}

export function shutGate(): StartGate {
  let open!: () => void;
  let refuse!: () => void;
  const promise = new Promise<void>((resolve, reject) => {
    open = resolve;
    refuse = () => reject(new Error('the start gate was refused'));
  });
  // Whoever waits on it handles a refusal; an unwaited refusal is not an error.
  promise.catch(() => undefined);
  return { promise, open, refuse };
}

/** What the hand-over needs of the run it gates. */
export interface GatedStart {
  /** Whether the run has already been killed (a breach, an interrupt): then nothing is sent. */
  readonly stopped: () => boolean;
  /** The gate opened and the program was sent (the command may start now). */
  readonly onOpened: () => void;
  /** The gate refused: kill the tree (bwrap is still waiting for its program). */
  readonly onRefused: () => void;
}

/**
 * Send `program` to bwrap's stdin once `gate` resolves (at once without a gate); if the gate
 * rejects, or the run was stopped meanwhile, send nothing. The pipe is closed on every path.
 */
export function handOverProgram(stdin: Writable, program: Buffer, gate: Promise<void> | undefined, run: GatedStart): void {
  const send = (): void => {
    if (run.stopped()) {
      stdin.destroy();
      return;
    }
    // One write of at most MAX_PROGRAM_BYTES into an empty buffer (see above), then end of file.
    stdin.end(program);
    run.onOpened();
  };
  if (gate === undefined) {
    send();
    return;
  }
  gate.then(send, () => {
    // Killed first, then the pipe closed (bwrap, if it still lived, would read an empty program and refuse it).
    run.onRefused();
    stdin.destroy();
  });
}

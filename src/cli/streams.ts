/**
 * stdout and stderr that end quietly when their reader has gone: `zt-ffmpeg doctor | grep -q
 * advanced` or `audit show | head -1` close the pipe early (EPIPE), and `>&-` closes it before
 * the start (EBADF). Nothing can be reported on a stream that is gone, so its writes are
 * dropped from then on; the command still finishes (a job still writes its audit record) and
 * exits with its own status. Node ignores SIGPIPE, so without this the write error would be an
 * uncaught exception with a stack trace and exit 1.
 */
let guarded = false;
const closed = { stdout: false, stderr: false };

export function guardStreams(): void {
  if (guarded) return;
  guarded = true;
  process.stdout.on('error', () => {
    closed.stdout = true;
  });
  process.stderr.on('error', () => {
    closed.stderr = true;
  });
}

export function writeOut(text: string): void {
  if (closed.stdout) return;
  try {
    process.stdout.write(text);
  } catch {
    closed.stdout = true;
  }
}

export function writeErr(text: string): void {
  if (closed.stderr) return;
  try {
    process.stderr.write(text);
  } catch {
    closed.stderr = true;
  }
}

/** Whether stdout still has a reader (a long listing can stop early when it has not). */
export function stdoutOpen(): boolean {
  return !closed.stdout;
}

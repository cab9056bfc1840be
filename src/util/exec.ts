/**
 * The one place that spawns processes. No shell, ever; a clean environment
 * (only what the caller passes); a timeout whose reason is recorded; the whole
 * process group killed (SIGTERM, then SIGKILL) when it fires.
 */
import { execa, type Options } from 'execa';

export interface ExecOptions {
  /** Wall-clock limit in milliseconds. Required: nothing we spawn may hang. */
  readonly timeoutMs: number;
  /** The complete environment of the child. Nothing is inherited. */
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
  readonly input?: string | Uint8Array;
  /** Cap on captured stdout/stderr (bytes); the child is killed past it. */
  readonly maxBuffer?: number;
  /** Extra fds to pass: index in this array + 3 is the child's fd number ('ignore' leaves a gap). */
  readonly extraFds?: ReadonlyArray<number | 'ignore'>;
  /** Called with the child's pid as soon as it is known. */
  readonly onSpawn?: (pid: number) => void;
  /** Called with each chunk of stderr as it arrives (for progress and live diagnostics). */
  readonly onStderr?: (chunk: string) => void;
  readonly signal?: AbortSignal;
  /** Run the child as this uid/gid, supplementary groups dropped (only a root parent can). */
  readonly uid?: number;
  readonly gid?: number;
}

export interface ExecResult {
  readonly exitCode: number | undefined;
  readonly signal: string | undefined;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
  readonly wallMs: number;
  /** True when the child could not be started at all (ENOENT, EACCES). */
  readonly spawnFailed: boolean;
  readonly spawnError?: string;
}

export async function exec(file: string, args: readonly string[], opts: ExecOptions): Promise<ExecResult> {
  const started = performance.now();
  const stdio = [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe', ...(opts.extraFds ?? [])] as Options['stdio'];
  const child = execa(file, [...args], {
    env: { ...(opts.env ?? {}) },
    extendEnv: false,
    cwd: opts.cwd,
    input: opts.input,
    stdio,
    timeout: opts.timeoutMs,
    killSignal: 'SIGTERM',
    forceKillAfterDelay: 2000,
    detached: true,
    cleanup: true,
    reject: false,
    stripFinalNewline: false,
    maxBuffer: opts.maxBuffer ?? 64 * 1024 * 1024,
    encoding: 'utf8',
    cancelSignal: opts.signal,
    // libuv calls setgroups(0, NULL) before setgid/setuid: no group of the parent survives.
    ...(opts.uid !== undefined ? { uid: opts.uid } : {}),
    ...(opts.gid !== undefined ? { gid: opts.gid } : {}),
  });
  if (child.pid !== undefined) opts.onSpawn?.(child.pid);
  if (opts.onStderr && child.stderr) child.stderr.on('data', (b: Buffer) => opts.onStderr?.(b.toString('utf8')));
  const r = await child;
  const wallMs = performance.now() - started;
  // Kill whatever the child left in its process group (it ran detached, so it leads one).
  if (child.pid !== undefined) killGroup(child.pid, 'SIGKILL');
  const spawnFailed = r.failed && r.exitCode === undefined && r.signal === undefined && !r.timedOut;
  return {
    exitCode: r.exitCode,
    signal: r.signal,
    stdout: typeof r.stdout === 'string' ? r.stdout : '',
    stderr: typeof r.stderr === 'string' ? r.stderr : '',
    timedOut: r.timedOut,
    wallMs,
    spawnFailed,
    ...(spawnFailed ? { spawnError: r.shortMessage } : {}),
  };
}

/** Signal a whole process group; ignores groups that are already gone. */
export function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    /* already gone */
  }
}

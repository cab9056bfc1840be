/**
 * The one place that spawns processes. No shell, ever; a clean environment
 * (only what the caller passes); a timeout whose reason is recorded; the whole
 * process group killed (SIGTERM, then SIGKILL) when it fires.
 */
import type { Readable } from 'node:stream';
import { execa, type Options } from 'execa';
import { spawn, type ChildProcess } from 'node:child_process';

/** The child's streams a caller reads itself (see ExecOptions.unbuffered and extraFds 'pipe'). */
export interface ExecStreams {
  readonly stdout: Readable | undefined;
  readonly stderr: Readable | undefined;
  /** Extra pipes, by the child's fd number. */
  readonly pipes: ReadonlyMap<number, Readable>;
}

export interface ExecOptions {
  /** Wall-clock limit in milliseconds. Required: nothing we spawn may hang. */
  readonly timeoutMs: number;
  /** The complete environment of the child. Nothing is inherited. */
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
  readonly input?: string | Uint8Array;
  /** Cap on captured stdout/stderr (bytes); the child is killed past it. */
  readonly maxBuffer?: number;
  /**
   * Extra fds to pass: index in this array + 3 is the child's fd number. 'pipe' opens a pipe the
   * child writes to (handed over by onStreams, never buffered here); 'ignore' leaves a slot empty.
   */
  readonly extraFds?: ReadonlyArray<number | 'pipe' | 'ignore'>;
  /**
   * Streams the caller drains itself (onStreams), neither buffered nor capped here: the caller
   * must read them to the end, for as long as the child runs.
   */
  readonly unbuffered?: { readonly stdout?: boolean; readonly stderr?: boolean };
  /** Called with the child's pid as soon as it is known. */
  readonly onSpawn?: (pid: number) => void;
  /** Called once, right after the spawn, with the streams the caller drains itself. */
  readonly onStreams?: (streams: ExecStreams) => void;
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
  const extra = opts.extraFds ?? [];
  const stdio = [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe', ...extra] as Options['stdio'];
  const pipeFds = extra.flatMap((f, i) => (f === 'pipe' ? [i + 3] : []));
  const buffer = {
    stdout: opts.unbuffered?.stdout !== true,
    stderr: opts.unbuffered?.stderr !== true,
    ...Object.fromEntries(pipeFds.map((fd) => [`fd${fd}`, false])),
  } as Options['buffer'];
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
    buffer,
    cancelSignal: opts.signal,
    // libuv calls setgroups(0, NULL) before setgid/setuid: no group of the parent survives.
    ...(opts.uid !== undefined ? { uid: opts.uid } : {}),
    ...(opts.gid !== undefined ? { gid: opts.gid } : {}),
  });
  if (child.pid !== undefined) opts.onSpawn?.(child.pid);
  opts.onStreams?.({
    stdout: opts.unbuffered?.stdout === true ? (child.stdout ?? undefined) : undefined,
    stderr: opts.unbuffered?.stderr === true ? (child.stderr ?? undefined) : undefined,
    pipes: new Map(pipeFds.flatMap((fd) => {
      const s = child.stdio[fd];
      return s && 'on' in s ? [[fd, s as Readable] as const] : [];
    })),
  });
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

/**
 * A brief helper whose only output of interest is its exit status and a few lines of stderr
 * (flock(1)): node's spawn directly, without execa's per-call cost (about 5 ms of CPU a call,
 * on the path of every job), under the same rules: no shell, exactly the environment given, a
 * new process group killed whole when the timeout fires, when the helper ends, or when this
 * process exits first (as execa's cleanup did), stderr capped.
 */
/** Process groups of execBrief helpers still running: killed if this process exits first. */
const briefGroups = new Set<number>();
let exitHook = false;

function trackBrief(pid: number): void {
  briefGroups.add(pid);
  if (!exitHook) {
    exitHook = true;
    process.once('exit', () => {
      for (const g of briefGroups) killGroup(g, 'SIGKILL');
    });
  }
}

export function execBrief(file: string, args: readonly string[], opts: { readonly timeoutMs: number; readonly env?: Readonly<Record<string, string>>; readonly extraFds?: readonly number[] }): Promise<ExecResult> {
  const started = performance.now();
  return new Promise((resolve) => {
    let child: ChildProcess;
    try {
      child = spawn(file, [...args], { env: { ...(opts.env ?? {}) }, stdio: ['ignore', 'ignore', 'pipe', ...(opts.extraFds ?? [])], detached: true, shell: false });
    } catch (e) {
      resolve({ exitCode: undefined, signal: undefined, stdout: '', stderr: '', timedOut: false, wallMs: performance.now() - started, spawnFailed: true, spawnError: String(e) });
      return;
    }
    let stderr = '';
    let timedOut = false;
    let spawnError: string | undefined;
    if (child.pid !== undefined) trackBrief(child.pid);
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      if (stderr.length < 65_536) stderr += d.slice(0, 65_536 - stderr.length);
    });
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid !== undefined) killGroup(child.pid, 'SIGKILL');
    }, opts.timeoutMs);
    child.once('error', (e) => {
      spawnError = e.message;
      if (child.pid === undefined) {
        clearTimeout(timer);
        resolve({ exitCode: undefined, signal: undefined, stdout: '', stderr, timedOut, wallMs: performance.now() - started, spawnFailed: true, spawnError });
      }
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (child.pid !== undefined) {
        killGroup(child.pid, 'SIGKILL');
        briefGroups.delete(child.pid);
      }
      const spawnFailed = child.pid === undefined;
      resolve({ exitCode: code ?? undefined, signal: signal ?? undefined, stdout: '', stderr, timedOut, wallMs: performance.now() - started, spawnFailed, ...(spawnFailed ? { spawnError: spawnError ?? 'not started' } : {}) });
    });
  });
}

/**
 * The one place that spawns processes. No shell, ever; a clean environment (only what the
 * caller passes); a timeout whose reason is recorded; the child leads a new process group, and
 * the whole group is killed (SIGTERM, then SIGKILL) when the timeout fires, SIGKILL once the
 * child has ended, and SIGKILL if this process exits first.
 *
 * Built on node:child_process directly. execa, the project's subprocess library until issue 16,
 * cost about 5 ms of CPU per call (9 ms for the first) against 1.5-3.4 ms here, on the path of
 * every job (the input probe, then ffmpeg), and a fifth of the CLI's bundle to load.
 */
import type { Readable, Writable } from 'node:stream';
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { monotonicMs } from './clock.js';

/** The child's streams a caller reads itself (see ExecOptions.unbuffered and extraFds 'pipe'). */
export interface ExecStreams {
  readonly stdout: Readable | undefined;
  readonly stderr: Readable | undefined;
  /** Extra pipes, by the child's fd number. */
  readonly pipes: ReadonlyMap<number, Readable>;
  /** The child's stdin, when ExecOptions.stdin is 'pipe': the caller writes it and ends it. */
  readonly stdin: Writable | undefined;
}

export interface ExecOptions {
  /** Wall-clock limit in milliseconds. Required: nothing we spawn may hang. */
  readonly timeoutMs: number;
  /** The complete environment of the child. Nothing is inherited. */
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
  /** Cap on each captured stream, stdout and stderr (in characters once decoded); the child's group is killed past it. */
  readonly maxBuffer?: number;
  /**
   * Extra fds to pass: index in this array + 3 is the child's fd number. 'pipe' opens a pipe the
   * child writes to (handed over by onStreams, never buffered here); 'ignore' leaves a slot empty.
   */
  readonly extraFds?: ReadonlyArray<number | 'pipe' | 'ignore'>;
  /** The child's stdin: nothing (default), or a pipe the caller writes (handed over by onStreams). */
  readonly stdin?: 'ignore' | 'pipe';
  /**
   * Streams the caller drains itself (onStreams), neither buffered nor capped here: the caller
   * must read them to the end, for as long as the child runs.
   */
  readonly unbuffered?: { readonly stdout?: boolean; readonly stderr?: boolean };
  /** Called with the child's pid as soon as it is known. */
  readonly onSpawn?: (pid: number) => void;
  /**
   * Called as soon as the child has been waited for (its pid is free for reuse from then on),
   * which can be well before the call resolves: that waits for every pipe to be drained too.
   */
  readonly onExit?: () => void;
  /** Called once, right after the spawn, with the streams the caller drains itself. */
  readonly onStreams?: (streams: ExecStreams) => void;
  /** Run the child as this uid/gid, supplementary groups dropped (only a root parent can). */
  readonly uid?: number;
  readonly gid?: number;
  /** At the timeout the group gets SIGTERM, then SIGKILL this much later (default 2000 ms; 0: SIGKILL at once). */
  readonly graceMs?: number;
}

export interface ExecResult {
  readonly exitCode: number | undefined;
  readonly signal: string | undefined;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
  /** A captured stream went past maxBuffer: its text is cut, and the child was killed. */
  readonly truncated: boolean;
  readonly wallMs: number;
  /** True when the child could not be started at all (ENOENT, EACCES). */
  readonly spawnFailed: boolean;
  readonly spawnError?: string;
}

const DEFAULT_MAX_BUFFER = 64 * 1024 * 1024;
/** After the timeout's SIGTERM, the group gets this long before SIGKILL. */
const DEFAULT_GRACE_MS = 2000;
/** After that SIGKILL, pipes still held open by a process outside the group are given up this much later. */
const ABANDON_PIPES_MS = 1000;

/** Process groups of children still running: killed if this process exits first. */
const liveGroups = new Set<number>();
let exitHook = false;

function trackGroup(pid: number): void {
  liveGroups.add(pid);
  if (!exitHook) {
    exitHook = true;
    process.once('exit', () => {
      for (const g of liveGroups) killGroup(g, 'SIGKILL');
    });
  }
}

/** The group of an ended child: whatever it left is killed, and it is no longer tracked. */
function endGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  killGroup(pid, 'SIGKILL');
  liveGroups.delete(pid);
}

/** A buffered stream of the child: UTF-8 text (a sequence split across reads is decoded whole), capped at `max` characters; `onOverflow` once past it. */
function capture(stream: Readable | null, max: number, onOverflow: () => void): { text(): string } {
  let text = '';
  let over = false;
  // A read error ends the stream; what was read stays. (Unhandled, it would end the process.)
  stream?.on('error', () => undefined);
  stream?.setEncoding('utf8').on('data', (d: string) => {
    if (over) return;
    if (text.length + d.length > max) {
      text += d.slice(0, max - text.length);
      over = true;
      onOverflow();
      return;
    }
    text += d;
  });
  return { text: () => text };
}

function spawnFailure(started: number, e: unknown): ExecResult {
  return { exitCode: undefined, signal: undefined, stdout: '', stderr: '', timedOut: false, truncated: false, wallMs: monotonicMs() - started, spawnFailed: true, spawnError: e instanceof Error ? e.message : String(e) };
}

export function exec(file: string, args: readonly string[], opts: ExecOptions): Promise<ExecResult> {
  const started = monotonicMs();
  const extra = opts.extraFds ?? [];
  const stdio: StdioOptions = [opts.stdin ?? 'ignore', 'pipe', 'pipe', ...extra];
  return new Promise((resolve) => {
    let child: ChildProcess;
    try {
      child = spawn(file, [...args], {
        env: { ...(opts.env ?? {}) },
        stdio,
        detached: true,
        shell: false,
        ...(opts.cwd !== undefined ? { cwd: opts.cwd } : {}),
        // libuv calls setgroups(0, NULL) before setgid/setuid: no group of the parent survives.
        ...(opts.uid !== undefined ? { uid: opts.uid } : {}),
        ...(opts.gid !== undefined ? { gid: opts.gid } : {}),
      });
    } catch (e) {
      resolve(spawnFailure(started, e));
      return;
    }
    const pid = child.pid;
    let settled = false;
    let timedOut = false;
    let truncated = false;
    let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    const timers: NodeJS.Timeout[] = [];
    const max = opts.maxBuffer ?? DEFAULT_MAX_BUFFER;
    const overflow = (): void => {
      truncated = true;
      if (pid !== undefined) killGroup(pid, 'SIGKILL');
    };
    const stdout = opts.unbuffered?.stdout === true ? undefined : capture(child.stdout, max, overflow);
    const stderr = opts.unbuffered?.stderr === true ? undefined : capture(child.stderr, max, overflow);
    const settle = (end: { code: number | null; signal: NodeJS.Signals | null }): void => {
      if (settled) return;
      settled = true;
      for (const t of timers) clearTimeout(t);
      endGroup(pid);
      resolve({
        exitCode: end.code ?? undefined,
        signal: end.signal ?? undefined,
        stdout: stdout?.text() ?? '',
        stderr: stderr?.text() ?? '',
        timedOut,
        truncated,
        wallMs: monotonicMs() - started,
        spawnFailed: false,
      });
    };
    // Armed before any caller's code runs, so nothing it does can leave the child unbounded.
    timers.push(setTimeout(() => {
      timedOut = true;
      if (pid === undefined) return;
      const grace = opts.graceMs ?? DEFAULT_GRACE_MS;
      if (grace > 0) killGroup(pid, 'SIGTERM');
      timers.push(setTimeout(() => {
        killGroup(pid, 'SIGKILL');
        // A process outside the group (it called setsid) may still hold a pipe open, and 'close'
        // waits for every pipe: once the child itself has ended, stop waiting for them.
        timers.push(setTimeout(() => {
          for (const s of child.stdio) if (s && 'destroy' in s) s.destroy();
          if (exited) settle(exited);
        }, ABANDON_PIPES_MS));
      }, Math.max(0, grace)));
    }, opts.timeoutMs));
    if (pid !== undefined) {
      trackGroup(pid);
      opts.onSpawn?.(pid);
    }
    // A write to a child that has ended fails (EPIPE): that is the child's outcome, not ours.
    child.stdin?.on('error', () => undefined);
    opts.onStreams?.({
      stdin: child.stdin ?? undefined,
      stdout: opts.unbuffered?.stdout === true ? (child.stdout ?? undefined) : undefined,
      stderr: opts.unbuffered?.stderr === true ? (child.stderr ?? undefined) : undefined,
      pipes: new Map(extra.flatMap((f, i) => {
        const s = f === 'pipe' ? child.stdio[i + 3] : undefined;
        return s && 'on' in s ? [[i + 3, s as Readable] as const] : [];
      })),
    });
    let spawnError: Error | undefined;
    // `on`, not `once`: a later 'error' (a signal that could not be sent) must not go unhandled.
    child.on('error', (e) => {
      spawnError ??= e;
      if (child.pid === undefined && !settled) {
        settled = true;
        for (const t of timers) clearTimeout(t);
        resolve(spawnFailure(started, e));
      }
    });
    child.once('exit', (code, signal) => {
      exited = { code, signal };
      opts.onExit?.();
    });
    // 'close': the child has ended and every stdio stream of it has closed.
    child.once('close', (code, signal) => {
      if (pid === undefined) {
        if (settled) return;
        settled = true;
        for (const t of timers) clearTimeout(t);
        resolve(spawnFailure(started, spawnError ?? new Error('not started')));
        return;
      }
      settle({ code, signal });
    });
  });
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
 * (flock(1)): exec's rules (no shell, exactly the environment given, a new process group killed
 * whole when the timeout fires, when the helper ends, or when this process exits first), its
 * stdout discarded, its stderr capped at 64 KiB, no grace period at the timeout.
 */
export function execBrief(file: string, args: readonly string[], opts: { readonly timeoutMs: number; readonly env?: Readonly<Record<string, string>>; readonly extraFds?: readonly number[] }): Promise<ExecResult> {
  return exec(file, args, { timeoutMs: opts.timeoutMs, env: opts.env ?? {}, ...(opts.extraFds ? { extraFds: opts.extraFds } : {}), maxBuffer: 65_536, graceMs: 0 });
}

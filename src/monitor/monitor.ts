/**
 * Live monitoring of a sandboxed process tree: samples /proc, keeps peaks, and decides when a
 * breach or an anomaly must kill the tree. Pure decisions (evaluateSample, scanDiagnostics)
 * are separate from the sampling loop so they can be tested without a process.
 *
 * Limits enforced here rather than by the kernel:
 * - limits.maxThreads: the kernel holds each sandbox to that many tasks (RLIMIT_NPROC set inside
 *   its user namespace, src/sandbox/prlimit.ts), so a bomb stops between two samples. The
 *   monitor kills a tree over it and names the rule, and it is the only count in degraded mode
 *   (no user namespace). It counts the threads of the whole tree,
 *   and every exited process not yet reaped (a zombie) as one: it holds a pid until its parent
 *   waits for it, and a tree that starts processes and never waits would otherwise fill the
 *   host's pid range (32768 pids on many machines) without ever showing a thread. State Z is
 *   not enough to tell a zombie: a process whose first thread called pthread_exit() shows Z
 *   while its other threads run on, and counts by them (proc.ts, defunct()).
 * - the CPU budget over the whole tree: the job's budget per media-second (budget.*), or
 *   limits.cpuSeconds where that is lower. RLIMIT_CPU (set by prlimit to limits.cpuSeconds) is
 *   per process and ffmpeg catches the SIGXCPU it sends, so the monitor also kills when the
 *   tree's CPU time reaches the budget and names the rule itself.
 * - the slow-job deadline from the learned baseline (see baseline.ts).
 *
 * A sample reads the tree along its children lists, and all of /proc at least every 2 s
 * (ProcessTree.sample in proc.ts); the kill path always reads all of /proc.
 */
import type { RuleId } from '../rule-id.js';
import { CLOCK_TICKS, PAGE_SIZE, ProcessTree, defunct, readIo, type ProcStat } from './proc.js';
import { slowJobDeadlineMs, type SlowJobWatch } from './baseline.js';
import type { AnomalyAction } from '../policy/types.js';
import { monotonicMs } from '../util/clock.js';

export interface Peaks {
  cpuMs: number;
  rssBytes: number;
  /** Largest address space (VmSize) of one process: RLIMIT_AS is per process. */
  vmBytes: number;
  threads: number;
  processes: number;
  readBytes: number;
  writeBytes: number;
  samples: number;
}

export interface Anomaly {
  readonly kind: 'memory-spike' | 'thread-limit' | 'escape-attempt' | 'slow-job';
  readonly message: string;
  readonly action: AnomalyAction;
  /** What was seen; for escape signs, the line ffmpeg printed, quoted (JSON string syntax). */
  readonly evidence?: string;
  /** Set when the evidence is the words of the sandboxed process, not a measurement. */
  readonly untrusted?: 'ffmpeg-stderr';
}

export interface Breach {
  readonly rule: RuleId;
  readonly actual: number | string;
  readonly limit: number | string;
  readonly message: string;
}

export interface MonitorLimits {
  readonly sampleMs: number;
  readonly maxThreads: number;
  readonly addressSpaceBytes: number;
  readonly onMemorySpike: AnomalyAction;
  readonly onEscapeAttempt: AnomalyAction;
  /** CPU time of the whole tree (ms); supervise fills it from the job's budget or limits.cpuSeconds. */
  readonly cpuMs?: number;
  /** The rule cpuMs stands for (default limits.cpuSeconds) and how it was derived. */
  readonly cpuRule?: RuleId;
  readonly cpuBasis?: string;
  /** The learned baseline of this operation, when there is one. */
  readonly slowJob?: SlowJobWatch;
}

/** RSS over this share of the address-space limit is a memory spike. */
export const MEMORY_SPIKE_SHARE = 0.9;
/** RSS growing by more than this share of the address-space limit between two samples is a spike. */
export const MEMORY_JUMP_SHARE = 0.25;

export function emptyPeaks(): Peaks {
  return { cpuMs: 0, rssBytes: 0, vmBytes: 0, threads: 0, processes: 0, readBytes: 0, writeBytes: 0, samples: 0 };
}

export interface SampleContext {
  /** Wall time since the job started. */
  readonly elapsedMs: number;
  /** RSS of the tree at the previous sample. */
  readonly previousRssBytes: number;
}

/** Pure: fold one sample of the tree into the peaks; say whether a limit is breached and what is odd. */
export function evaluateSample(
  tree: readonly ProcStat[],
  io: { readBytes: number; writeBytes: number },
  peaks: Peaks,
  limits: MonitorLimits,
  ctx: SampleContext = { elapsedMs: 0, previousRssBytes: 0 },
): { breach?: Breach; anomalies: Anomaly[]; rssBytes: number } {
  const cpuMs = (tree.reduce((s, p) => s + p.cpuTicks, 0) * 1000) / CLOCK_TICKS;
  const rss = tree.reduce((s, p) => s + p.rssPages * PAGE_SIZE, 0);
  // A defunct process counts as the one pid it holds; every other member by its live threads
  // (a leader in state Z whose threads run on is counted by them: see defunct()).
  const zombies = tree.filter(defunct).length;
  const threads = tree.reduce((s, p) => s + Math.max(1, p.threads), 0);
  peaks.cpuMs = Math.max(peaks.cpuMs, cpuMs);
  peaks.rssBytes = Math.max(peaks.rssBytes, rss);
  peaks.vmBytes = Math.max(peaks.vmBytes, ...tree.map((p) => p.vsizeBytes));
  peaks.threads = Math.max(peaks.threads, threads);
  peaks.processes = Math.max(peaks.processes, tree.length);
  peaks.readBytes = Math.max(peaks.readBytes, io.readBytes);
  peaks.writeBytes = Math.max(peaks.writeBytes, io.writeBytes);
  peaks.samples++;
  const anomalies: Anomaly[] = [];
  let breach: Breach | undefined;
  const first = (b: Breach): void => {
    breach ??= b;
  };

  if (threads > limits.maxThreads) {
    const held = zombies > 0 ? ` (${zombies} of them exited processes no one waited for, each holding a pid)` : '';
    first({ rule: 'limits.maxThreads', actual: threads, limit: limits.maxThreads, message: `the sandboxed tree ran ${threads} threads${held}, over the limit of ${limits.maxThreads}` });
  }
  if (limits.cpuMs !== undefined && cpuMs >= limits.cpuMs) {
    const s = Math.round(limits.cpuMs) / 1000;
    const basis = limits.cpuBasis !== undefined ? ` (${limits.cpuBasis})` : '';
    first({ rule: limits.cpuRule ?? 'limits.cpuSeconds', actual: Math.round(cpuMs) / 1000, limit: s, message: `the sandboxed tree used ${(cpuMs / 1000).toFixed(1)} s of CPU time, reaching its budget of ${s} s${basis}` });
  }

  const mib = (b: number): number => Math.round(b / 1048576);
  const jump = rss - ctx.previousRssBytes;
  let spike: string | undefined;
  if (rss > MEMORY_SPIKE_SHARE * limits.addressSpaceBytes) {
    spike = `resident memory reached ${mib(rss)} MiB, over ${Math.round(MEMORY_SPIKE_SHARE * 100)}% of the ${mib(limits.addressSpaceBytes)} MiB limit`;
  } else if (ctx.previousRssBytes > 0 && jump > MEMORY_JUMP_SHARE * limits.addressSpaceBytes) {
    spike = `resident memory jumped by ${mib(jump)} MiB (to ${mib(rss)} MiB) within one sample, over ${Math.round(MEMORY_JUMP_SHARE * 100)}% of the ${mib(limits.addressSpaceBytes)} MiB limit`;
  }
  if (spike !== undefined) {
    anomalies.push({ kind: 'memory-spike', action: limits.onMemorySpike, message: spike, evidence: `rss ${rss} bytes` });
    if (limits.onMemorySpike === 'kill') first({ rule: 'monitor.memory-spike', actual: rss, limit: Math.round(MEMORY_SPIKE_SHARE * limits.addressSpaceBytes), message: spike });
  }

  if (limits.slowJob) {
    const deadline = slowJobDeadlineMs(limits.slowJob);
    if (ctx.elapsedMs > deadline) {
      const w = limits.slowJob;
      const message = `the job has run ${(ctx.elapsedMs / 1000).toFixed(1)} s, over ${w.factor}× the baseline of ${w.baseline.key} for ${w.mediaSeconds.toFixed(1)} s of media (${(deadline / 1000).toFixed(1)} s; learned from ${w.baseline.samples} earlier jobs)`;
      anomalies.push({ kind: 'slow-job', action: w.action, message, evidence: `wall ${Math.round(ctx.elapsedMs)} ms > ${deadline} ms` });
      if (w.action === 'kill') first({ rule: 'monitor.slow-job', actual: Math.round(ctx.elapsedMs), limit: deadline, message });
    }
  }
  return { ...(breach ? { breach } : {}), anomalies, rssBytes: rss };
}

export { scanDiagnostics, DiagnosticsScanner } from './diagnostics.js';

export interface RunningMonitor {
  readonly peaks: Peaks;
  /** Stop sampling. */
  stop(): void;
}

/**
 * Sample the tree every sampleMs; call onBreach at most once and onAnomaly once per kind.
 * `tree` is shared with the supervisor so that the kill path knows every process ever seen.
 */
export function startMonitor(tree: ProcessTree, limits: MonitorLimits, onBreach: (b: Breach) => void, onAnomaly: (a: Anomaly) => void): RunningMonitor {
  const peaks = emptyPeaks();
  const started = monotonicMs();
  let breached = false;
  let previousRss = 0;
  const seen = new Set<string>();
  const sample = (): void => {
    // Zombies included: they count against the thread limit (see the top of this file).
    const members = tree.sample();
    if (members.every(defunct)) return;
    let r = 0;
    let w = 0;
    for (const p of members) {
      if (defunct(p)) continue;
      const io = readIo(p.pid);
      if (io) {
        r += io.readBytes;
        w += io.writeBytes;
      }
    }
    const res = evaluateSample(members, { readBytes: r, writeBytes: w }, peaks, limits, { elapsedMs: monotonicMs() - started, previousRssBytes: previousRss });
    previousRss = res.rssBytes;
    for (const a of res.anomalies) {
      if (seen.has(a.kind)) continue;
      seen.add(a.kind);
      onAnomaly(a);
    }
    if (res.breach && !breached) {
      breached = true;
      onBreach(res.breach);
    }
  };
  const timer = setInterval(sample, limits.sampleMs);
  timer.unref();
  // An early sample catches short jobs.
  const early = setTimeout(sample, Math.min(50, limits.sampleMs));
  early.unref();
  return {
    peaks,
    stop(): void {
      clearInterval(timer);
      clearTimeout(early);
    },
  };
}

/**
 * Live monitoring of a sandboxed process tree: samples /proc, keeps peaks, and decides when a
 * breach or an anomaly must kill the tree. Pure decisions (evaluateSample, scanDiagnostics)
 * are separate from the sampling loop so they can be tested without a process.
 */
import { CLOCK_TICKS, PAGE_SIZE, descendants, readAllStats, readIo, type ProcStat } from './proc.js';
import type { AnomalyAction } from '../policy/types.js';

export interface Peaks {
  cpuMs: number;
  rssBytes: number;
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
  readonly evidence?: string;
}

export interface Breach {
  readonly rule: string;
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
}

export function emptyPeaks(): Peaks {
  return { cpuMs: 0, rssBytes: 0, threads: 0, processes: 0, readBytes: 0, writeBytes: 0, samples: 0 };
}

/** Pure: fold one sample of the tree into the peaks and say whether a limit is breached. */
export function evaluateSample(
  tree: readonly ProcStat[],
  io: { readBytes: number; writeBytes: number },
  peaks: Peaks,
  limits: MonitorLimits,
): { breach?: Breach; anomaly?: Anomaly } {
  const cpuMs = (tree.reduce((s, p) => s + p.cpuTicks, 0) * 1000) / CLOCK_TICKS;
  const rss = tree.reduce((s, p) => s + p.rssPages * PAGE_SIZE, 0);
  const threads = tree.reduce((s, p) => s + p.threads, 0);
  peaks.cpuMs = Math.max(peaks.cpuMs, cpuMs);
  peaks.rssBytes = Math.max(peaks.rssBytes, rss);
  peaks.threads = Math.max(peaks.threads, threads);
  peaks.processes = Math.max(peaks.processes, tree.length);
  peaks.readBytes = Math.max(peaks.readBytes, io.readBytes);
  peaks.writeBytes = Math.max(peaks.writeBytes, io.writeBytes);
  peaks.samples++;
  if (threads > limits.maxThreads) {
    return {
      breach: { rule: 'limits.maxThreads', actual: threads, limit: limits.maxThreads, message: `the sandboxed tree ran ${threads} threads, over the limit of ${limits.maxThreads}` },
    };
  }
  if (rss > 0.9 * limits.addressSpaceBytes) {
    const anomaly: Anomaly = {
      kind: 'memory-spike',
      action: limits.onMemorySpike,
      message: `resident memory reached ${Math.round(rss / 1048576)} MiB, over 90% of the ${Math.round(limits.addressSpaceBytes / 1048576)} MiB limit`,
    };
    if (limits.onMemorySpike === 'kill') {
      return { anomaly, breach: { rule: 'monitor.memory-spike', actual: rss, limit: Math.round(0.9 * limits.addressSpaceBytes), message: anomaly.message } };
    }
    return { anomaly };
  }
  return {};
}

/** Signs in ffmpeg's diagnostics of an attempt to reach the network or a path outside the sandbox. */
const ESCAPE_PATTERNS: ReadonlyArray<readonly [RegExp, string]> = [
  [/Protocol '([^']+)' not on whitelist/i, 'a protocol off the whitelist was requested'],
  [/(?:Connection refused|Network is unreachable|Address family not supported|Failed to resolve hostname|Name or service not known)/i, 'a network connection was attempted'],
  [/(?:tcp|udp|http|https|rtmp|rtsp|ftp|tls|unix):\/\/[^\s'"]+/i, 'a network URL appeared in the diagnostics'],
  [/Impossible to open '(\/(?!in\/|job\/|tmp\/)[^']*)'/i, 'a path outside the sandbox was opened'],
  [/(?:\/etc\/(?:passwd|shadow|hosts)|\/proc\/self\/environ|\/root\/|\/home\/)/, 'a sensitive host path appeared in the diagnostics'],
];

export function scanDiagnostics(text: string, action: AnomalyAction): Anomaly[] {
  const found: Anomaly[] = [];
  for (const [re, what] of ESCAPE_PATTERNS) {
    const m = re.exec(text);
    if (m) found.push({ kind: 'escape-attempt', action, message: what, evidence: m[0].slice(0, 200) });
  }
  return found;
}

export interface RunningMonitor {
  readonly peaks: Peaks;
  /** Stop sampling; takes one last sample first. */
  stop(): void;
}

/** Sample the tree under `rootPid` every sampleMs; call onBreach at most once. */
export function startMonitor(rootPid: number, limits: MonitorLimits, onBreach: (b: Breach) => void, onAnomaly: (a: Anomaly) => void): RunningMonitor {
  const peaks = emptyPeaks();
  let breached = false;
  const seen = new Set<string>();
  const sample = (): void => {
    const tree = descendants(rootPid, readAllStats());
    if (tree.length === 0) return;
    let r = 0;
    let w = 0;
    for (const p of tree) {
      const io = readIo(p.pid);
      if (io) {
        r += io.readBytes;
        w += io.writeBytes;
      }
    }
    const { breach, anomaly } = evaluateSample(tree, { readBytes: r, writeBytes: w }, peaks, limits);
    if (anomaly && !seen.has(anomaly.kind)) {
      seen.add(anomaly.kind);
      onAnomaly(anomaly);
    }
    if (breach && !breached) {
      breached = true;
      onBreach(breach);
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

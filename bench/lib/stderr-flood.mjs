/**
 * The wrapper's own cost while ffmpeg floods its stderr (issue 13): a real ffmpeg in the real
 * sandbox prints as fast as its expression language can for SECONDS, under the wrapper's own
 * supervisor (dist/sandbox/supervise.js, the code every job runs), in a child node process of
 * its own (stderr-flood-child.mjs) whose peak RSS and CPU are then the wrapper's alone:
 *   quiet   the same spin, printing nothing (what supervising costs anyway)
 *   flood   the flood, with the stderr bound lifted so that it runs for all of SECONDS
 *   bounded the flood under the bundled advanced policy's bound (budget.maxStderrMiB 16 MiB):
 *           how long until the kill, and what it cost
 * The node process's own figures (process.resourceUsage(): RUSAGE_SELF, so ffmpeg in its PID
 * namespace is not counted) and its VmHWM polled from /proc by this process agree.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { timedRun } from './proc.mjs';

const CHILD = fileURLToPath(new URL('./stderr-flood-child.mjs', import.meta.url));
const MiB = 1048576;

export const FLOOD_SECONDS = 20;
/** Targets: the flood adds at most this much RSS, and at most this share of a core, to the wrapper. */
export const FLOOD_TARGETS = { extraRssBytes: 16 * MiB, cpuShare: 0.15 };

async function one(dist, seconds, cap, mode) {
  const r = await timedRun(process.execPath, [CHILD, dist, String(seconds), String(cap), ...(mode === 'quiet' ? ['quiet'] : [])], { captureStdout: true, sampleMemoryMs: 20, timeoutMs: (seconds + 60) * 1000 });
  if (r.code !== 0) throw new Error(`stderr flood (${mode}) exited ${r.code}: ${r.stderrTail.slice(-500)}`);
  const j = JSON.parse(r.stdout);
  return { mode, ...j, cpuMs: j.cpuUserMs + j.cpuSystemMs, polledPeakRssBytes: r.peakHwm };
}

export async function floodBench(dist, { log }) {
  log(`flood: ${FLOOD_SECONDS} s quiet, ${FLOOD_SECONDS} s flood, then a flood under the 16 MiB bound`);
  const quiet = await one(dist, FLOOD_SECONDS, 1024 * 1024 * MiB, 'quiet');
  const flood = await one(dist, FLOOD_SECONDS, 1024 * 1024 * MiB, 'flood');
  const bounded = await one(dist, 120, 16 * MiB, 'flood');
  const extraRssBytes = flood.maxRssBytes - quiet.maxRssBytes;
  const cpuShare = (flood.cpuMs - quiet.cpuMs) / flood.wallMs;
  return {
    seconds: FLOOD_SECONDS,
    runs: [quiet, flood, { ...bounded, mode: 'bounded (16 MiB)' }],
    extraRssBytes,
    cpuShare,
    drainedBytesPerSecond: flood.stderrBytes / (flood.wallMs / 1000),
    targets: FLOOD_TARGETS,
    pass: extraRssBytes <= FLOOD_TARGETS.extraRssBytes && cpuShare <= FLOOD_TARGETS.cpuShare && bounded.killedFor === 'budget.maxStderrMiB',
  };
}

export function renderFlood(f, { renderTable, fmtMiB, fmtSeconds }) {
  const out = [`Wrapper cost while ffmpeg floods its stderr (${f.seconds} s; the node supervisor alone, ffmpeg not counted):`];
  out.push(
    renderTable(
      [{ key: 'mode', title: 'run' }, { key: 'wall', title: 'wall s', align: 'right' }, { key: 'bytes', title: 'stderr read', align: 'right' }, { key: 'kept', title: 'kept', align: 'right' }, { key: 'rss', title: 'peak RSS', align: 'right' }, { key: 'polled', title: 'VmHWM polled', align: 'right' }, { key: 'cpu', title: 'CPU s', align: 'right' }, { key: 'end', title: 'ended by' }],
      f.runs.map((x) => ({ mode: x.mode, wall: fmtSeconds(x.wallMs), bytes: fmtMiB(x.stderrBytes), kept: `${Math.round(x.keptChars / 1024)} KiB`, rss: fmtMiB(x.maxRssBytes), polled: fmtMiB(x.polledPeakRssBytes), cpu: fmtSeconds(x.cpuMs), end: x.killedFor ?? 'exit' })),
    ),
  );
  out.push(
    `flood − quiet: +${fmtMiB(f.extraRssBytes)} RSS (target ≤ ${fmtMiB(f.targets.extraRssBytes)}), ${(f.cpuShare * 100).toFixed(1)} % of a core (target ≤ ${f.targets.cpuShare * 100} %); ` +
      `drained at ${fmtMiB(f.drainedBytesPerSecond)}/s; ${f.pass ? 'ok' : 'MISS'}`,
  );
  return out;
}

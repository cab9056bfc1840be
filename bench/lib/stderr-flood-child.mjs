#!/usr/bin/env node
/**
 * One supervised run of a real ffmpeg that floods its stderr (bench/lib/stderr-flood.mjs runs
 * this as a child, so that its peak RSS and CPU are this process's alone). The wrapper's own
 * supervisor from dist/ (the same code a job runs), in the real bubblewrap sandbox under
 * prlimit, with its monitor. Prints one JSON object: what the supervisor saw, and what this node
 * process cost (process.resourceUsage(): RUSAGE_SELF, so the sandboxed ffmpeg is not counted).
 *
 *   node stderr-flood-child.mjs DIST SECONDS STDERR_CAP_BYTES [quiet]
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const [dist, secondsArg, capArg, mode] = process.argv.slice(2);
const { supervise } = await import(pathToFileURL(path.join(dist, 'sandbox', 'supervise.js')).href);
const seconds = Number(secondsArg);
const cap = Number(capArg);
const MiB = 1048576;
const bound = (limit, rule) => ({ limit, rule, basis: 'bench' });
// while(1, print(st(0, ld(0)+1))) prints 1, 2, 3, … forever in the first frame (distinct lines:
// ffmpeg's log collapses repeats), the fastest flood ffmpeg's
// own expression language can produce. "quiet": the same spin without print (the baseline).
const expr = mode === 'quiet' ? 'while(1,st(0,ld(0)+1))' : 'while(1,print(st(0,ld(0)+1)))';
const t0 = performance.now();
const before = process.resourceUsage();
const r = await supervise({
  tools: { bwrap: '/usr/bin/bwrap', prlimit: '/usr/bin/prlimit', degraded: false },
  command: ['/usr/bin/ffmpeg', '-hide_banner', '-nostdin', '-nostats', '-loglevel', 'info', '-f', 'lavfi', '-i', 'nullsrc=s=16x16:d=1', '-vf', `setpts='${expr}'`, '-f', 'null', '-'],
  tmpfsBytes: 16 * MiB,
  grants: { fonts: false, gpu: false },
  rlimits: { addressSpaceBytes: 2048 * MiB, cpuSeconds: seconds * 4, fileSizeBytes: MiB, openFiles: 64 },
  wallMs: seconds * 1000,
  budget: { mediaSeconds: 1, cpuMs: bound(seconds * 4000, 'budget.cpuSecondsPerMediaSecond'), wallMs: bound(seconds * 1000, 'budget.wallSecondsPerMediaSecond'), stderrBytes: bound(cap, 'budget.maxStderrMiB') },
  monitor: { sampleMs: 200, maxThreads: 64, addressSpaceBytes: 2048 * MiB, onMemorySpike: 'warn', onEscapeAttempt: 'warn' },
});
const after = process.resourceUsage();
process.stdout.write(
  `${JSON.stringify({
    wallMs: performance.now() - t0,
    cpuUserMs: (after.userCPUTime - before.userCPUTime) / 1000,
    cpuSystemMs: (after.systemCPUTime - before.systemCPUTime) / 1000,
    maxRssBytes: after.maxRSS * 1024,
    stderrBytes: r.stderrBytes,
    keptChars: r.stderr.length,
    killedFor: r.killedFor?.rule,
    leftBehind: r.leftBehind,
  })}\n`,
);

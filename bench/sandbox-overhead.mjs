#!/usr/bin/env node
// Overhead of the seccomp filter and the /proc monitor on a 10-second 720p transcode.
//
//   node bench/sandbox-overhead.mjs [--runs N] [--keep]
//
// Makes a 10 s 1280x720 H.264/AAC MP4, then alternates N runs of
//   (a) `zt-ffmpeg run` with the bundled default policy (advanced: seccomp default, monitor
//       sampling every 200 ms), and
//   (b) the same with a copy of that policy with `sandbox.seccomp: none` and the monitor's
//       sampleMs at its maximum (5000 ms, i.e. one sample at most in a short job); the copy
//       says `stage: initial`, since the advanced stage demands a seccomp filter.
//   (c) to tell the two apart: seccomp default, monitor at 5000 ms.
// Everything else (bwrap, prlimit, inspection, verification) is the same in all, so the
// difference is the filter plus the monitor. Rounds alternate the order (a b c, then c b a) so
// that a machine whose load drifts does not favour one variant; each round gives paired
// ratios a/b and c/b of runs close in time. Reports the medians of the whole CLI wall time and
// of the sandboxed ffmpeg stage (timings.run), and the median paired ratios; the spread
// (min..max) says how noisy the machine was.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(ROOT, 'bin', 'zt-ffmpeg');
const args = process.argv.slice(2);
const runs = Number(args[args.indexOf('--runs') + 1] ?? 3) || 3;
const keep = args.includes('--keep');

function run(file, argv, env, timeoutMs = 600_000) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    execFile(file, argv, { env, timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const ms = performance.now() - t0;
      if (err && typeof err.code !== 'number') reject(new Error(`${file} failed: ${err.message}\n${stderr}`));
      else resolve({ code: err ? err.code : 0, stdout, stderr, ms });
    });
  });
}

function setIn(text, key, value) {
  const re = new RegExp(`^(\\s*${key}: )\\S+`, 'm');
  if (!re.test(text)) throw new Error(`policy has no ${key}`);
  return text.replace(re, `$1${value}`);
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const fmt = (ms) => `${(ms / 1000).toFixed(2)} s`;

const dir = await mkdtemp(path.join(os.tmpdir(), 'zt-overhead-'));
try {
  const env = { PATH: '/usr/bin:/bin', HOME: dir, XDG_STATE_HOME: path.join(dir, 'state'), XDG_CONFIG_HOME: path.join(dir, 'config'), NO_COLOR: '1' };
  const input = path.join(dir, 'in.mp4');
  process.stderr.write('making a 10 s 1280x720 H.264/AAC input...\n');
  const mk = await run('/usr/bin/ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-nostdin', '-y',
    '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=30:duration=10',
    '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000:duration=10',
    '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest', input,
  ], env);
  if (mk.code !== 0) throw new Error(`making the input failed: ${mk.stderr}`);

  const withPolicy = path.join(ROOT, 'policies', 'advanced.yaml');
  let text = await readFile(withPolicy, 'utf8');
  text = setIn(text, 'stage', 'initial');
  text = setIn(text, 'seccomp', 'none');
  text = setIn(text, 'sampleMs', '5000');
  const withoutPolicy = path.join(dir, 'no-seccomp-no-monitor.yaml');
  await writeFile(withoutPolicy, text);
  const seccompOnly = path.join(dir, 'seccomp-no-monitor.yaml');
  await writeFile(seccompOnly, setIn(await readFile(withPolicy, 'utf8'), 'sampleMs', '5000'));

  const variants = {
    a: { label: 'seccomp default + monitor 200 ms', policy: withPolicy },
    b: { label: 'no seccomp, monitor 5000 ms', policy: withoutPolicy },
    c: { label: 'seccomp default, monitor 5000 ms', policy: seccompOnly },
  };
  const results = { a: [], b: [], c: [] };
  // One warm-up of each (posture cache, page cache), not counted; then rounds a b c / c b a.
  const order = ['a', 'b', 'c', ...Array.from({ length: runs }, (_, i) => (i % 2 === 0 ? ['a', 'b', 'c'] : ['c', 'b', 'a'])).flat()];
  for (const k of order) {
    const warm = results[k].warm === undefined;
    const out = path.join(dir, `out-${k}-${results[k].length}-${warm ? 'warm' : 'x'}.mp4`);
    const cmd = ['--json', 'run', '-p', variants[k].policy, '-i', input, '-o', out];
    const r = await run(process.execPath, [BIN, ...cmd], env);
    let j;
    try {
      j = JSON.parse(r.stdout);
    } catch {
      throw new Error(`zt-ffmpeg printed no JSON (exit ${r.code}): ${r.stderr}`);
    }
    if (r.code !== 0) throw new Error(`zt-ffmpeg exit ${r.code}: ${j.message}`);
    await rm(out, { force: true });
    if (warm) {
      results[k].warm = true;
      continue;
    }
    results[k].push({ totalMs: r.ms, runMs: j.timings.run, cpuMs: j.run?.peaks?.cpuMs, samples: j.run?.peaks?.samples });
    process.stderr.write(`(${k}) ${variants[k].label}: total ${fmt(r.ms)}, ffmpeg stage ${fmt(j.timings.run)}, monitor samples ${j.run?.peaks?.samples}\n`);
  }

  const summary = {};
  for (const k of ['a', 'b', 'c']) {
    const rs = results[k];
    summary[k] = {
      label: variants[k].label,
      runs: rs.length,
      totalMs: { median: median(rs.map((r) => r.totalMs)), min: Math.min(...rs.map((r) => r.totalMs)), max: Math.max(...rs.map((r) => r.totalMs)) },
      runMs: { median: median(rs.map((r) => r.runMs)), min: Math.min(...rs.map((r) => r.runMs)), max: Math.max(...rs.map((r) => r.runMs)) },
    };
  }
  const paired = (x, field) => median(results[x].map((r, i) => r[field] / results.b[i][field]));
  const r3 = (v) => Number(v.toFixed(3));
  const ratio = {
    seccompAndMonitor: { total: r3(paired('a', 'totalMs')), ffmpegStage: r3(paired('a', 'runMs')) },
    seccompOnly: { total: r3(paired('c', 'totalMs')), ffmpegStage: r3(paired('c', 'runMs')) },
    ratioOfMedians: { total: r3(summary.a.totalMs.median / summary.b.totalMs.median), ffmpegStage: r3(summary.a.runMs.median / summary.b.runMs.median) },
  };
  const load = os.loadavg().map((x) => x.toFixed(2)).join(' ');
  console.log(JSON.stringify({ input: '10 s 1280x720 H.264/AAC, operation transcode → mp4', runs, loadavg: load, cpus: os.cpus().length, summary, ratio }, null, 2));
  process.stderr.write(`\noverhead, median of paired ratios vs (b): seccomp+monitor whole job ×${ratio.seccompAndMonitor.total}, ffmpeg stage ×${ratio.seccompAndMonitor.ffmpegStage}; seccomp alone ffmpeg stage ×${ratio.seccompOnly.ffmpegStage}  (load average ${load})\n`);
} finally {
  if (!keep) await rm(dir, { recursive: true, force: true });
}

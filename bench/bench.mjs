#!/usr/bin/env node
/**
 * `npm run bench`: what zt-ffmpeg costs over bare ffmpeg, measured with real processes (no test
 * framework, no shell on the zt-ffmpeg side). See bench/README.md for what each case compares.
 *
 * A/B cases alternate A B A B … for N measured pairs after one warm-up pair; each side's
 * median/min/max wall time is printed with the median of the per-pair ratios B/A.
 * Progress goes to stderr; the table to stdout, or one JSON object with --json.
 */
import { readFileSync, existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, wanted, USAGE, UsageError } from './lib/args.mjs';
import { timedRun, failureOf, GNU_TIME } from './lib/proc.mjs';
import { ensureInput, RECIPES } from './lib/inputs.mjs';
import { auditBench } from './lib/audit-bench.mjs';
import { parsersBench } from './lib/parsers-bench.mjs';
import { floodBench, renderFlood } from './lib/stderr-flood.mjs';
import {
  summarize, pairRatios, median, meetsTarget, fmtSeconds, fmtRatio, fmtMiB, renderTable, shellQuote, substituteSandboxPaths, sandboxEnv,
} from './lib/stats.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = path.join(ROOT, 'bin', 'zt-ffmpeg');
const DIST = path.join(ROOT, 'dist');
const CACHE = path.join(ROOT, '.tmp', 'bench-inputs');
const NODE = process.execPath;

/**
 * Targets: issue 16 for the transcodes and batch (the median per-pair ratio must not exceed
 * them; its aims were 2.2× and 1.06×), issue 8 for --version, issue 5 for the audit log.
 */
const TARGETS = {
  '1s-320x240': 2.5,
  '10s-720p': 1.1,
  '60s-1080p': 1.02,
  version: 1.5,
  batch: 1.6,
  rssBytes: 150 * 1000 * 1000,
  auditAppendRatio: 1.2,
  auditVerifyPerSecond: 20_000,
};

const log = (s) => process.stderr.write(`[bench] ${s}\n`);
const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number);

function fail(msg, code = 1) {
  process.stderr.write(`bench: ${msg}\n`);
  process.exit(code);
}

async function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (e) {
    if (e instanceof UsageError) fail(`${e.message}\n\n${USAGE}`, 2);
    throw e;
  }
  if (opts.help) {
    process.stdout.write(USAGE);
    return 0;
  }

  if (opts.build) {
    log('building (npm run build; pass --no-build to skip)');
    const b = await timedRun('npm', ['run', '--silent', 'build'], { env: process.env, cwd: ROOT, timeoutMs: 600_000 });
    const why = failureOf(b, 'npm run build');
    if (why) fail(`${why}\nfix the build, or run with --no-build against the current dist/`);
  }
  if (!existsSync(path.join(DIST, 'cli', 'main.js'))) fail('dist/ is missing: run `npm run build` (or drop --no-build)');

  const ffv = await timedRun('/usr/bin/ffmpeg', ['-hide_banner', '-version'], { captureStdout: true, timeoutMs: 30_000 });
  const ffmpegVersion = ffv.stdout.split('\n')[0] ?? 'unknown';
  const ztv = await timedRun(NODE, [BIN, '--version'], { captureStdout: true, timeoutMs: 30_000 });

  const result = {
    schemaVersion: 1,
    startedAt: new Date().toISOString(),
    machine: {
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model,
      memBytes: os.totalmem(),
      node: process.version,
      ffmpeg: ffmpegVersion,
      ztFfmpeg: ztv.stdout.trim(),
      loadBefore: loadavg(),
      loadAfter: undefined,
    },
    options: { runs: opts.runs, quick: opts.quick, only: opts.only ? [...opts.only] : undefined },
    targets: TARGETS,
    inputs: {},
    cases: [],
    stages: [],
    rss: undefined,
    audit: undefined,
    parsers: undefined,
    flood: undefined,
    errors: [],
  };

  const work = await mkdtemp(path.join(os.tmpdir(), 'zt-bench-'));
  const ztEnv = {
    PATH: '/usr/bin:/bin',
    HOME: path.join(work, 'home'),
    XDG_STATE_HOME: path.join(work, 'state'),
    XDG_CONFIG_HOME: path.join(work, 'config'),
    NO_COLOR: '1',
  };
  await mkdir(ztEnv.HOME, { recursive: true });
  const cleanup = async () => {
    if (!opts.keep) await rm(work, { recursive: true, force: true });
  };
  process.once('SIGINT', () => {
    void cleanup().finally(() => process.exit(130));
  });

  const zt = (args, o = {}) => timedRun(NODE, [BIN, ...args], { env: ztEnv, cwd: work, ...o });

  const inputs = {};
  const input = async (name) => {
    if (!inputs[name]) {
      inputs[name] = await ensureInput(CACHE, name, ffmpegVersion, log);
      result.inputs[name] = { ...inputs[name] };
    }
    return inputs[name].path;
  };

  /** The sandboxed ffmpeg argv (and its environment) for input → output, from --dry-run --json. */
  const dryRuns = {};
  const sandboxedFfmpeg = async (inPath, outExt, extra = []) => {
    const k = `${inPath}|${outExt}|${extra.join(' ')}`;
    if (!dryRuns[k]) {
      const r = await zt(['--json', 'run', '-i', inPath, '-o', path.join(work, `dry.${outExt}`), '--dry-run', ...extra], { captureStdout: true, timeoutMs: 120_000 });
      const why = failureOf(r, 'zt-ffmpeg run --dry-run');
      if (why) throw new Error(`${why}\n${r.stdout.slice(0, 2000)}`);
      const j = JSON.parse(r.stdout);
      if (!j.dryRun || !Array.isArray(j.dryRun.ffmpeg) || !Array.isArray(j.dryRun.argv)) throw new Error('zt-ffmpeg run --dry-run --json printed no dryRun.ffmpeg / dryRun.argv');
      dryRuns[k] = { ffmpeg: j.dryRun.ffmpeg, env: sandboxEnv(j.dryRun.argv) };
    }
    return dryRuns[k];
  };

  /** Alternate A B for one warm-up pair and `runs` measured pairs. */
  const haveTime = existsSync(GNU_TIME);
  const cpuOpt = (side) => (haveTime ? { cpuFile: path.join(work, `cpu-${side}.txt`) } : {});
  const abCase = async (c, A, B, runs) => {
    const rec = { name: c.name, describe: c.describe, a: { label: c.aLabel, samplesMs: [], cpuMs: [] }, b: { label: c.bLabel, samplesMs: [], cpuMs: [] }, target: c.target, loadBefore: loadavg() };
    log(`${c.name}: ${c.aLabel} vs ${c.bLabel}, 1 warm-up + ${runs} pairs`);
    try {
      for (let i = -1; i < runs; i++) {
        const a = await A(cpuOpt('a'));
        const whyA = failureOf(a, `${c.name} ${c.aLabel}`);
        if (whyA) throw new Error(whyA);
        const b = await B(cpuOpt('b'));
        const whyB = failureOf(b, `${c.name} ${c.bLabel}`);
        if (whyB) throw new Error(whyB);
        if (i >= 0) {
          rec.a.samplesMs.push(a.ms);
          rec.b.samplesMs.push(b.ms);
          if (a.cpuMs !== undefined && b.cpuMs !== undefined) {
            rec.a.cpuMs.push(a.cpuMs);
            rec.b.cpuMs.push(b.cpuMs);
          }
        }
        log(`${c.name}: ${i < 0 ? 'warm-up' : `pair ${i + 1}/${runs}`}: ${c.aLabel} ${fmtSeconds(a.ms)} s, ${c.bLabel} ${fmtSeconds(b.ms)} s, ratio ${fmtRatio(b.ms / a.ms)}`);
      }
    } catch (e) {
      rec.error = e instanceof Error ? e.message : String(e);
      result.errors.push(rec.error);
      log(`${c.name}: FAILED: ${rec.error}`);
    }
    rec.loadAfter = loadavg();
    if (rec.a.samplesMs.length > 0) {
      Object.assign(rec.a, summarize(rec.a.samplesMs));
      Object.assign(rec.b, summarize(rec.b.samplesMs));
      rec.ratios = pairRatios(rec.a.samplesMs, rec.b.samplesMs);
      rec.ratioMedian = median(rec.ratios);
      rec.overheadMs = rec.b.median - rec.a.median;
      rec.pass = meetsTarget(rec.ratioMedian, c.target);
      if (rec.a.cpuMs.length > 0 && rec.a.cpuMs.every((x) => x > 0)) {
        // GNU time sees a process tree's CPU only through wait(): processes in bubblewrap's PID
        // namespace are not accounted to it, so B's figure is zt-ffmpeg's CPU OUTSIDE the
        // sandbox (node, prlimit, bwrap's outer process) — the wrapper's own cost. No ratio.
        rec.cpu = { a: summarize(rec.a.cpuMs), b: summarize(rec.b.cpuMs), note: 'B excludes processes inside the bubblewrap PID namespace (not visible to GNU time)' };
      }
    }
    result.cases.push(rec);
    return rec;
  };

  /** One extra `zt-ffmpeg … --json` for its per-stage timings. */
  const stagesOf = async (name, args, pick = (j) => j, timeoutMs = 600_000) => {
    const r = await zt(['--json', ...args], { captureStdout: true, timeoutMs });
    try {
      const j = pick(JSON.parse(r.stdout));
      result.stages.push({ name, timings: j.timings ?? {}, ffmpegWallMs: j.run?.wallMs, exitCode: r.code, wallMs: r.ms });
    } catch {
      result.stages.push({ name, timings: {}, exitCode: r.code, wallMs: r.ms, error: failureOf(r, name) ?? 'no JSON on stdout' });
    }
  };

  // --- transcodes: bare ffmpeg (the exact sandboxed argv, run bare) vs zt-ffmpeg run -----------
  const transcodes = [
    { name: '1s-320x240', outExt: 'mp4', timeoutMs: 300_000 },
    { name: '10s-720p', outExt: 'mp4', timeoutMs: 600_000 },
    { name: '60s-1080p', outExt: 'mp4', timeoutMs: 1_800_000 },
    { name: '30s-wav', outExt: 'mp3', timeoutMs: 300_000 },
  ];
  for (const t of transcodes) {
    if (!wanted(opts, t.name)) continue;
    try {
      const inPath = await input(t.name);
      const dry = await sandboxedFfmpeg(inPath, t.outExt);
      const bareOut = path.join(work, `bare-${t.name}.${t.outExt}`);
      const ztOut = path.join(work, `zt-${t.name}.${t.outExt}`);
      const argv = substituteSandboxPaths(dry.ffmpeg, inPath, bareOut);
      await abCase(
        { name: t.name, describe: `${RECIPES[t.name].describe} → ${t.outExt} (default policy, operation transcode)`, aLabel: 'ffmpeg', bLabel: 'zt-ffmpeg run', target: TARGETS[t.name] },
        async (x) => {
          await rm(bareOut, { force: true }); // the argv has -n
          return timedRun(argv[0], argv.slice(1), { env: dry.env, cwd: work, timeoutMs: t.timeoutMs, ...x });
        },
        async (x) => {
          await rm(ztOut, { force: true });
          return zt(['run', '-i', inPath, '-o', ztOut, '--overwrite'], { timeoutMs: t.timeoutMs, ...x });
        },
        opts.runs,
      );
      await stagesOf(t.name, ['run', '-i', inPath, '-o', ztOut, '--overwrite'], (j) => j, t.timeoutMs);
      await rm(bareOut, { force: true });
      await rm(ztOut, { force: true });
    } catch (e) {
      const msg = `${t.name}: ${e instanceof Error ? e.message : String(e)}`;
      result.errors.push(msg);
      result.cases.push({ name: t.name, error: msg });
      log(`FAILED ${msg}`);
    }
  }

  // --- check alone vs one bare ffprobe --------------------------------------------------------
  const cheapRuns = Math.max(opts.runs, 10);
  if (wanted(opts, 'check')) {
    try {
      const inPath = await input('1s-320x240');
      await abCase(
        { name: 'check', describe: 'zt-ffmpeg check (magic, hash, sandboxed hardened probe, rules, audit record) vs ffprobe -show_format -show_streams -of json', aLabel: 'ffprobe', bLabel: 'zt-ffmpeg check' },
        (x) => timedRun('/usr/bin/ffprobe', ['-v', 'error', '-show_format', '-show_streams', '-of', 'json', inPath], { env: { PATH: '/usr/bin:/bin' }, cwd: work, timeoutMs: 60_000, ...x }),
        (x) => zt(['check', inPath], { timeoutMs: 120_000, ...x }),
        cheapRuns,
      );
      await stagesOf('check', ['check', inPath], (j) => j.files?.[0] ?? {});
    } catch (e) {
      result.errors.push(`check: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  // --- --version vs node -e 0 ----------------------------------------------------------------
  if (wanted(opts, 'version')) {
    await abCase(
      { name: 'version', describe: 'zt-ffmpeg --version vs node -e 0', aLabel: 'node -e 0', bLabel: 'zt-ffmpeg --version', target: TARGETS.version },
      (x) => timedRun(NODE, ['-e', '0'], { env: ztEnv, cwd: work, timeoutMs: 60_000, ...x }),
      (x) => zt(['--version'], { timeoutMs: 60_000, ...x }),
      cheapRuns,
    );
  }

  // --- batch of 20 small files, concurrency 2, vs a sequential shell loop of bare ffmpeg ------
  if (wanted(opts, 'batch')) {
    try {
      const help = await zt(['batch', '--help'], { timeoutMs: 60_000 });
      if (help.code !== 0) {
        log('batch: not available (zt-ffmpeg batch --help failed)');
        result.cases.push({ name: 'batch', skipped: 'batch: not available' });
      } else {
        const src = await input('1s-320x240');
        const inDir = path.join(work, 'batch-in');
        await mkdir(inDir, { recursive: true });
        const files = [];
        for (let i = 1; i <= 20; i++) {
          const f = path.join(inDir, `clip-${String(i).padStart(2, '0')}.mp4`);
          await copyFile(src, f);
          files.push(f);
        }
        // Same parameters for every copy, so the planned argv is the same but for the paths.
        const dry = await sandboxedFfmpeg(files[0], 'mp4');
        const bareDir = path.join(work, 'batch-bare');
        const ztDir = path.join(work, 'batch-zt');
        const words = substituteSandboxPaths(dry.ffmpeg, '\0IN', '\0OUT').map((w) => (w === '\0IN' ? '"$f"' : w === '\0OUT' ? '"$out/${f##*/}"' : shellQuote(w)));
        const script = path.join(work, 'bare-loop.sh');
        await writeFile(script, `set -e\nout="$1"; shift\nfor f in "$@"; do\n  ${words.join(' ')}\ndone\n`);
        await abCase(
          { name: 'batch', describe: `20 × ${RECIPES['1s-320x240'].describe}: zt-ffmpeg batch --concurrency 2 vs a sequential bash loop of bare ffmpeg`, aLabel: 'bash loop', bLabel: 'zt-ffmpeg batch -j2', target: TARGETS.batch },
          async (x) => {
            await rm(bareDir, { recursive: true, force: true });
            await mkdir(bareDir);
            return timedRun('/bin/bash', [script, bareDir, ...files], { env: dry.env, cwd: work, timeoutMs: 900_000, ...x });
          },
          async (x) => {
            await rm(ztDir, { recursive: true, force: true });
            return zt(['batch', ...files, '--out-dir', ztDir, '--concurrency', '2', '--overwrite'], { timeoutMs: 900_000, ...x });
          },
          opts.runs,
        );
        await rm(bareDir, { recursive: true, force: true });
        await rm(ztDir, { recursive: true, force: true });
        await rm(inDir, { recursive: true, force: true });
      }
    } catch (e) {
      const msg = `batch: ${e instanceof Error ? e.message : String(e)}`;
      result.errors.push(msg);
      result.cases.push({ name: 'batch', error: msg });
    }
  }

  // --- the wrapper's own peak RSS: small input vs ~1 GiB input (remux: stream copy) ------------
  if (wanted(opts, 'rss')) {
    const rss = { operation: 'remux', note: 'peak RSS (VmHWM) of the zt-ffmpeg node process itself, polled every 20 ms from /proc; ffmpeg/ffprobe in the sandbox are separate processes and not counted', runs: [] };
    const rssInputs = ['1s-320x240', '10s-720p', ...(opts.quick && !(opts.only?.has('rss')) ? [] : ['1gib'])];
    for (const name of rssInputs) {
      try {
        const inPath = await input(name);
        const out = path.join(work, `rss-${name}.mp4`);
        log(`rss: zt-ffmpeg run --operation remux on ${name} (${fmtMiB(inputs[name].bytes)})`);
        const r = await zt(['--json', 'run', '-i', inPath, '-o', out, '--overwrite', '--operation', 'remux'], { captureStdout: true, sampleMemoryMs: 20, timeoutMs: 1_800_000 });
        await rm(out, { force: true });
        const why = failureOf(r, `rss ${name}`);
        let j = {};
        try {
          j = JSON.parse(r.stdout);
        } catch {
          // reported through `why`
        }
        rss.runs.push({ input: name, inputBytes: inputs[name].bytes, wallMs: r.ms, wrapperPeakRssBytes: r.peakHwm, ffmpegPeakRssBytes: j.run?.peaks?.rssBytes, timings: j.timings, ...(why ? { error: why } : {}) });
        if (why) result.errors.push(why);
        log(`rss: ${name}: wrapper peak ${fmtMiB(r.peakHwm)} in ${fmtSeconds(r.ms)} s`);
      } catch (e) {
        const msg = `rss ${name}: ${e instanceof Error ? e.message : String(e)}`;
        rss.runs.push({ input: name, error: msg });
        result.errors.push(msg);
      }
    }
    const peaks = rss.runs.map((x) => x.wrapperPeakRssBytes).filter((x) => typeof x === 'number');
    rss.maxPeakBytes = peaks.length > 0 ? Math.max(...peaks) : undefined;
    const big = rss.runs.find((x) => x.input === '1gib');
    rss.target = TARGETS.rssBytes;
    rss.pass = big ? meetsTarget(big.wrapperPeakRssBytes, TARGETS.rssBytes) : undefined;
    result.rss = rss;
  }

  // --- audit: append cost on a 100k-record log vs empty; verify throughput --------------------
  if (wanted(opts, 'audit')) {
    try {
      const a = await auditBench(DIST, path.join(work, 'audit'), { log });
      // The CLI end to end on the same log, once, for comparison with the library figure.
      const cli = await timedRun(NODE, [BIN, 'audit', 'verify', a.bigLog, '--key', a.publicKey], { env: ztEnv, cwd: work, timeoutMs: 600_000 });
      a.cliVerify = { ms: cli.ms, exitCode: cli.code, records: a.finalRecords, recordsPerSecond: a.finalRecords / (cli.ms / 1000) };
      a.append.pass = meetsTarget(a.append.ratioMedian, TARGETS.auditAppendRatio);
      a.verify.pass = meetsTarget(a.verify.recordsPerSecond, TARGETS.auditVerifyPerSecond, 'min');
      result.audit = a;
    } catch (e) {
      const msg = `audit: ${e instanceof Error ? e.message : String(e)}`;
      result.errors.push(msg);
      result.audit = { error: msg };
      log(`FAILED ${msg}`);
    }
  }

  // --- parsers: the host-side parsers on the slowest inputs each format allows ---------------
  if (wanted(opts, 'parsers')) {
    try {
      result.parsers = await parsersBench(DIST, path.join(work, 'parsers'), { log });
    } catch (e) {
      const msg = `parsers: ${e instanceof Error ? e.message : String(e)}`;
      result.errors.push(msg);
      result.parsers = { error: msg };
      log(`FAILED ${msg}`);
    }
  }

  // --- the wrapper's own RSS and CPU while ffmpeg floods its stderr ----------------------------
  if (wanted(opts, 'flood')) {
    try {
      result.flood = await floodBench(DIST, { log });
    } catch (e) {
      const msg = `flood: ${e instanceof Error ? e.message : String(e)}`;
      result.errors.push(msg);
      result.flood = { error: msg };
      log(`FAILED ${msg}`);
    }
  }

  result.machine.loadAfter = loadavg();
  result.finishedAt = new Date().toISOString();
  if (opts.keep) result.workDir = work;
  else await cleanup();

  const text = renderReport(result);
  if (opts.json) {
    process.stderr.write(`${text}\n`);
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } else {
    process.stdout.write(`${text}\n`);
  }
  return result.errors.length > 0 ? 1 : 0;
}

const verdict = (p) => (p === undefined ? '' : p ? 'ok' : 'MISS');

function renderReport(r) {
  const out = [];
  const m = r.machine;
  out.push(`zt-ffmpeg ${m.ztFfmpeg} benchmark — ${m.cpus} × ${m.cpuModel ?? 'cpu'}, ${fmtMiB(m.memBytes)}, node ${m.node}, ${m.ffmpeg}`);
  out.push(`load average before ${m.loadBefore.join(' ')}, after ${m.loadAfter.join(' ')}; runs ${r.options.runs}${r.options.quick ? ' (--quick)' : ''}`);
  out.push('');

  const rows = [];
  for (const c of r.cases) {
    if (c.skipped || (c.error && !c.a)) {
      rows.push({ case: c.name, a: c.skipped ?? `ERROR: ${c.error.slice(0, 80)}` });
      continue;
    }
    rows.push({
      case: c.name,
      n: c.a.n ?? 0,
      a: c.a.label,
      aMed: fmtSeconds(c.a.median),
      aMin: fmtSeconds(c.a.min),
      aMax: fmtSeconds(c.a.max),
      b: c.b.label,
      bMed: fmtSeconds(c.b.median),
      bMin: fmtSeconds(c.b.min),
      bMax: fmtSeconds(c.b.max),
      over: c.overheadMs === undefined ? '—' : `${Math.round(c.overheadMs)}`,
      ratio: fmtRatio(c.ratioMedian),
      aCpu: c.cpu ? fmtSeconds(c.cpu.a.median) : '—',
      bCpu: c.cpu ? fmtSeconds(c.cpu.b.median) : '—',
      dCpu: c.cpu ? fmtSeconds(c.cpu.b.median - c.cpu.a.median) : '—',
      target: c.target ? `≤ ${c.target}×` : '',
      ok: c.error ? 'ERROR' : verdict(c.pass),
    });
  }
  if (rows.length > 0) {
    out.push('Wall time, seconds (A = baseline, B = zt-ffmpeg; ratio = median of per-pair B/A; the targets apply to it).');
    out.push('A CPU / B CPU = median user+system seconds of the whole tree (GNU time). bwrap runs the command as the sandbox\'s pid 1 and');
    out.push('waits for it itself, so the sandboxed ffprobe and ffmpeg count in B. B−A CPU = what zt-ffmpeg adds in CPU (node, the probe, the checks).');
    out.push(
      renderTable(
        [
          { key: 'case', title: 'case' }, { key: 'n', title: 'n', align: 'right' },
          { key: 'a', title: 'A' }, { key: 'aMed', title: 'median', align: 'right' }, { key: 'aMin', title: 'min', align: 'right' }, { key: 'aMax', title: 'max', align: 'right' },
          { key: 'b', title: 'B' }, { key: 'bMed', title: 'median', align: 'right' }, { key: 'bMin', title: 'min', align: 'right' }, { key: 'bMax', title: 'max', align: 'right' },
          { key: 'over', title: 'B−A ms', align: 'right' }, { key: 'ratio', title: 'ratio', align: 'right' }, { key: 'target', title: 'target' }, { key: 'ok', title: '' },
          { key: 'aCpu', title: 'A CPU', align: 'right' }, { key: 'bCpu', title: 'B CPU', align: 'right' }, { key: 'dCpu', title: 'B−A CPU', align: 'right' },
        ],
        rows,
      ),
    );
    out.push('');
  }

  if (r.stages.length > 0) {
    const keys = [];
    for (const s of r.stages) for (const k of Object.keys(s.timings)) if (k !== 'totalMs' && !keys.includes(k)) keys.push(k);
    out.push('Per-stage timings of one extra `--json` run, ms (from the result record; "ffmpeg" = wall time of the sandboxed ffmpeg as the supervisor saw it):');
    out.push(
      renderTable(
        [{ key: 'name', title: 'case' }, ...keys.map((k) => ({ key: k, title: k, align: 'right' })), { key: 'totalMs', title: 'total', align: 'right' }, { key: 'ffmpeg', title: 'ffmpeg', align: 'right' }, { key: 'proc', title: 'process', align: 'right' }],
        r.stages.map((s) => ({
          name: s.name,
          ...Object.fromEntries(keys.map((k) => [k, s.timings[k] === undefined ? '' : String(Math.round(s.timings[k]))])),
          totalMs: s.timings.totalMs === undefined ? (s.error ?? '') : String(Math.round(s.timings.totalMs)),
          ffmpeg: s.ffmpegWallMs === undefined ? '' : String(s.ffmpegWallMs),
          proc: String(Math.round(s.wallMs)),
        })),
      ),
    );
    out.push('("process" = the whole zt-ffmpeg process as the benchmark timed it; process − total = node start-up, module loading and exit.)');
    out.push('');
  }

  if (r.rss) {
    out.push(`Wrapper peak RSS (zt-ffmpeg run --operation ${r.rss.operation}; the node process only):`);
    out.push(
      renderTable(
        [{ key: 'input', title: 'input' }, { key: 'size', title: 'input size', align: 'right' }, { key: 'peak', title: 'wrapper peak RSS', align: 'right' }, { key: 'ff', title: 'ffmpeg peak RSS', align: 'right' }, { key: 'wall', title: 'wall s', align: 'right' }, { key: 'target', title: 'target' }, { key: 'ok', title: '' }],
        r.rss.runs.map((x) => ({
          input: x.input,
          size: fmtMiB(x.inputBytes),
          peak: fmtMiB(x.wrapperPeakRssBytes),
          ff: fmtMiB(x.ffmpegPeakRssBytes),
          wall: fmtSeconds(x.wallMs),
          target: x.input === '1gib' ? `≤ ${r.rss.target / 1e6} MB` : '',
          ok: x.error ? 'ERROR' : x.input === '1gib' ? verdict(r.rss.pass) : '',
        })),
      ),
    );
    if (!r.rss.runs.some((x) => x.input === '1gib')) out.push('(the ≈1 GiB input was skipped: --quick)');
    out.push('');
  }

  if (r.audit) {
    const a = r.audit;
    if (a.error) out.push(`Audit: ERROR: ${a.error}`);
    else {
      out.push(`Audit log (library in-process; ${a.records.toLocaleString('en-US')}-record log of ${fmtMiB(a.logBytes)}, built in ${fmtSeconds(a.buildMs)} s):`);
      out.push(
        renderTable(
          [{ key: 'what', title: 'figure' }, { key: 'e', title: 'empty log', align: 'right' }, { key: 'b', title: '100k log', align: 'right' }, { key: 'v', title: 'value', align: 'right' }, { key: 't', title: 'target' }, { key: 'ok', title: '' }],
          [
            { what: `append (median of ${a.append.emptyMs.n}, ms)`, e: a.append.emptyMs.median.toFixed(2), b: a.append.bigMs.median.toFixed(2), v: fmtRatio(a.append.ratioMedian), t: `≤ ${TARGETS.auditAppendRatio}×`, ok: verdict(a.append.pass) },
            { what: `open + validate head (median of ${a.open.emptyMs.n}, ms)`, e: a.open.emptyMs.median.toFixed(2), b: a.open.bigMs.median.toFixed(2), v: fmtRatio(a.open.ratioMedian), t: '', ok: '' },
            { what: `verify, verifyLogs() (median of ${a.verify.runs})`, e: '', b: `${fmtSeconds(a.verify.ms.median)} s`, v: `${Math.round(a.verify.recordsPerSecond).toLocaleString('en-US')} rec/s`, t: `≥ ${TARGETS.auditVerifyPerSecond.toLocaleString('en-US')}/s`, ok: verdict(a.verify.pass) },
            { what: '  per CPU-second (all threads; load-independent)', e: '', b: `${fmtSeconds(a.verify.cpuMs.median)} s CPU`, v: `${Math.round(a.verify.recordsPerCpuSecond).toLocaleString('en-US')} rec/CPU-s`, t: '', ok: '' },
            ...(a.cliVerify ? [{ what: 'verify, `zt-ffmpeg audit verify` (1 run)', e: '', b: `${fmtSeconds(a.cliVerify.ms)} s`, v: `${Math.round(a.cliVerify.recordsPerSecond).toLocaleString('en-US')} rec/s`, t: '', ok: a.cliVerify.exitCode === 0 ? '' : `exit ${a.cliVerify.exitCode}` }] : []),
          ],
        ),
      );
    }
    out.push('');
  }

  if (r.parsers) {
    const p = r.parsers;
    if (p.error) out.push(`Parsers: ERROR: ${p.error}`);
    else {
      out.push(`Host-side parsers on hostile inputs (library in-process, median of ${p.runs}):`);
      out.push(
        renderTable(
          [{ key: 'what', title: 'input' }, { key: 'ms', title: 'ms', align: 'right' }, { key: 'rate', title: 'ns/byte', align: 'right' }, { key: 'result', title: 'result' }],
          p.rows.map((x) => ({ what: x.what, ms: x.ms.toFixed(0), rate: x.nsPerByte === undefined ? '' : x.nsPerByte.toFixed(1), result: `${x.result}${x.rssGrowthBytes === undefined ? '' : `, rss +${fmtMiB(x.rssGrowthBytes)}`}` })),
        ),
      );
    }
    out.push('');
  }

  if (r.flood) {
    if (r.flood.error) out.push(`Flood: ERROR: ${r.flood.error}`);
    else out.push(...renderFlood(r.flood, { renderTable, fmtMiB, fmtSeconds }));
    out.push('');
  }

  if (r.workDir) out.push(`work directory kept: ${r.workDir}`);
  if (r.errors.length > 0) {
    out.push(`${r.errors.length} error(s):`);
    for (const e of r.errors) out.push(`  - ${e}`);
  }
  return out.join('\n').trimEnd();
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    process.stderr.write(`bench: internal error: ${e instanceof Error ? e.stack : String(e)}\n`);
    process.exitCode = 1;
  },
);

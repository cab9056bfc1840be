/**
 * Pure statistics and formatting for the benchmark: no I/O, no clocks. Unit-tested in
 * test/unit/bench-stats.test.ts.
 */

/** Median of a non-empty list of finite numbers (mean of the two middle values for even n). */
export function median(xs) {
  if (!Array.isArray(xs) || xs.length === 0) throw new Error('median: expected a non-empty array of numbers, found an empty one');
  for (const x of xs) {
    if (typeof x !== 'number' || !Number.isFinite(x)) throw new Error(`median: expected finite numbers, found ${String(x)}`);
  }
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** median, min, max and n of a non-empty sample. */
export function summarize(xs) {
  return { n: xs.length, median: median(xs), min: Math.min(...xs), max: Math.max(...xs) };
}

/** Per-pair ratios b[i] / a[i] over the pairs both sides completed. */
export function pairRatios(a, b) {
  const n = Math.min(a.length, b.length);
  const out = [];
  for (let i = 0; i < n; i++) {
    if (!(a[i] > 0)) throw new Error(`pairRatios: baseline sample ${i} must be > 0, found ${String(a[i])}`);
    out.push(b[i] / a[i]);
  }
  return out;
}

/** The headline figure of an A/B case: the median of the per-pair ratios (undefined with no pairs). */
export function ratioMedian(a, b) {
  const r = pairRatios(a, b);
  return r.length === 0 ? undefined : median(r);
}

/**
 * Whether a figure meets its target. kind 'max': value ≤ target (ratios, MB); 'min': value ≥
 * target (throughput). Returns undefined when there is no target or no value.
 */
export function meetsTarget(value, target, kind = 'max') {
  if (target === undefined || target === null || value === undefined || value === null || !Number.isFinite(value)) return undefined;
  return kind === 'min' ? value >= target : value <= target;
}

/** Seconds with 3 significant decimals for short times, fewer for long ones. */
export function fmtSeconds(ms) {
  if (ms === undefined || ms === null || !Number.isFinite(ms)) return '—';
  const s = ms / 1000;
  if (s < 10) return s.toFixed(3);
  if (s < 100) return s.toFixed(2);
  return s.toFixed(1);
}

export function fmtRatio(r) {
  if (r === undefined || r === null || !Number.isFinite(r)) return '—';
  return `${r.toFixed(3)}×`;
}

export function fmtMiB(bytes) {
  if (bytes === undefined || bytes === null || !Number.isFinite(bytes)) return '—';
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

/**
 * A plain-text table: `columns` is [{ key, title, align: 'left'|'right' }], rows are objects of
 * strings. Columns are as wide as their widest cell; two spaces between columns.
 */
export function renderTable(columns, rows) {
  const cell = (row, c) => {
    const v = row[c.key];
    return v === undefined || v === null ? '' : String(v);
  };
  const widths = columns.map((c) => Math.max(c.title.length, ...rows.map((r) => cell(r, c).length)));
  const pad = (s, w, align) => (align === 'right' ? s.padStart(w) : s.padEnd(w));
  const line = (get) => columns.map((c, i) => pad(get(c), widths[i], c.align)).join('  ').trimEnd();
  const out = [line((c) => c.title), widths.map((w) => '-'.repeat(w)).join('  ')];
  for (const r of rows) out.push(line((c) => cell(r, c)));
  return out.join('\n');
}

/** Quote one word for a POSIX shell (single quotes; embedded ' closed, escaped, reopened). */
export function shellQuote(word) {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * The ffmpeg argv zt-ffmpeg runs in the sandbox (paths /in/… and /job/…) with the real input
 * and output substituted. Exactly one /in/ and one /job/ argument must be present.
 */
export function substituteSandboxPaths(argv, input, output) {
  // The output is the descriptor the host hands the sandbox (/proc/self/fd/4); /job/… in older plans.
  const isOut = (a) => a.startsWith('/job/') || a === '/proc/self/fd/4';
  const ins = argv.filter((a) => a.startsWith('/in/'));
  const outs = argv.filter(isOut);
  if (ins.length !== 1 || outs.length !== 1) {
    throw new Error(`expected exactly one /in/… and one output path in the sandboxed ffmpeg argv, found ${ins.length} and ${outs.length}: ${argv.join(' ')}`);
  }
  return argv.map((a) => (a.startsWith('/in/') ? input : isOut(a) ? output : a));
}

/** The --setenv NAME VALUE pairs of a prlimit+bwrap argv (the environment the sandboxed ffmpeg sees; bwrap --clearenv first). */
export function sandboxEnv(bwrapArgv) {
  const env = {};
  for (let i = 0; i < bwrapArgv.length - 2; i++) {
    if (bwrapArgv[i] === '--setenv') {
      env[bwrapArgv[i + 1]] = bwrapArgv[i + 2];
      i += 2;
    }
  }
  return env;
}

/** Parse VmHWM / VmRSS (kB) out of /proc/<pid>/status text; bytes, or undefined. */
export function parseProcStatusMemory(text) {
  const grab = (name) => {
    const m = new RegExp(`^${name}:\\s+(\\d+)\\s+kB`, 'm').exec(text);
    return m ? Number(m[1]) * 1024 : undefined;
  };
  return { hwm: grab('VmHWM'), rss: grab('VmRSS') };
}

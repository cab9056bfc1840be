/**
 * The campaign runner (`npm run fuzz -- --minutes N`, `npm run fuzz:ci`); scripts/fuzz.mjs
 * transpiles the sources and runs this. Options:
 *   --minutes N | --seconds N   total time, shared by the targets in turn (default 1 minute)
 *   --target a,b                only these targets (see --list)
 *   --seed N                    the PRNG seed (printed; a campaign is reproducible from it)
 *   --no-save                   do not add findings to the regression corpus
 *   --json FILE                 also write the per-target numbers as JSON
 * Exit status 1 when anything was found.
 */
import { writeFile } from 'node:fs/promises';
import { runCampaign } from './engine.js';
import { allTargets } from './targets/index.js';

function parse(argv: readonly string[]): { ms: number; targets?: string[]; seed: number; save: boolean; json?: string; list: boolean } {
  const out: { ms: number; targets?: string[]; seed: number; save: boolean; json?: string; list: boolean } = { ms: 60_000, seed: Math.floor(Math.random() * 2 ** 31), save: true, list: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = (): string => {
      const x = argv[++i];
      if (x === undefined) throw new Error(`${a} needs a value`);
      return x;
    };
    if (a === '--minutes') out.ms = Number(v()) * 60_000;
    else if (a === '--seconds') out.ms = Number(v()) * 1000;
    else if (a === '--target') out.targets = v().split(',');
    else if (a === '--seed') out.seed = Number(v());
    else if (a === '--no-save') out.save = false;
    else if (a === '--json') out.json = v();
    else if (a === '--list') out.list = true;
    else throw new Error(`unknown option ${a}`);
  }
  if (!Number.isFinite(out.ms) || out.ms <= 0) throw new Error('--minutes/--seconds must be a positive number');
  return out;
}

const opts = parse(process.argv.slice(2));
const all = allTargets();
if (opts.list) {
  for (const t of all) process.stdout.write(`${t.name}\n`);
  process.exit(0);
}
const targets = opts.targets ? all.filter((t) => opts.targets!.includes(t.name)) : all;
if (targets.length === 0) throw new Error(`no such target: ${opts.targets?.join(', ')}`);
process.stderr.write(`[fuzz] ${targets.length} targets, ${Math.round(opts.ms / 1000)} s, seed ${opts.seed}\n`);
const stats = await runCampaign({ targets, ms: opts.ms, seed: opts.seed, save: opts.save, maxRssBytes: 1536 * 2 ** 20, log: (l) => process.stderr.write(`[fuzz] FINDING ${l}\n`) });
let found = 0;
const rows: Array<Record<string, unknown>> = [];
process.stdout.write(`${'target'.padEnd(16)} ${'execs'.padStart(9)} ${'exec/s'.padStart(8)} ${'findings'.padStart(8)}  distinct\n`);
for (const [name, s] of stats) {
  found += s.findings;
  const rate = s.ms > 0 ? (s.execs / (s.ms / 1000)).toFixed(0) : '0';
  process.stdout.write(`${name.padEnd(16)} ${String(s.execs).padStart(9)} ${rate.padStart(8)} ${String(s.findings).padStart(8)}  ${[...s.kinds.keys()].join(' | ')}\n`);
  rows.push({ target: name, execs: s.execs, checkMs: Math.round(s.ms), findings: s.findings, distinct: Object.fromEntries(s.kinds), saved: s.saved });
}
if (opts.json) await writeFile(opts.json, JSON.stringify({ seed: opts.seed, seconds: opts.ms / 1000, targets: rows }, null, 2));
process.stderr.write(`[fuzz] seed ${opts.seed}: ${found === 0 ? 'nothing found' : `${found} findings (${opts.save ? 'saved to test/fuzz/corpus/' : 'not saved: --no-save'})`}\n`);
process.exitCode = found === 0 ? 0 : 1;

#!/usr/bin/env node
/**
 * `npm run fuzz -- --minutes N` and `npm run fuzz:ci`: transpile src/ and test/fuzz/ (esbuild,
 * one file per module, layout kept) into .tmp/fuzz-build-<pid> and run the campaign there
 * (test/fuzz/run.ts; its options pass through). `--ci` is a short bounded campaign (90 s in
 * all, findings not saved). `--coverage` also records V8 coverage and prints it per parser
 * source file (scripts/fuzz-coverage.mjs), mapped back to the TypeScript lines.
 */
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { readdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { coverageReport } from './fuzz-coverage.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// One build per run, so a long campaign and a CI run can go at the same time.
const out = path.join(root, '.tmp', `fuzz-build-${process.pid}`);

function files(dir, keep) {
  return readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f);
    return statSync(p).isDirectory() ? files(p, keep) : keep(p) ? [p] : [];
  });
}

let args = process.argv.slice(2);
const ci = args.includes('--ci');
const coverage = args.includes('--coverage');
args = args.filter((a) => a !== '--ci' && a !== '--coverage');
if (ci) args = ['--seconds', '90', '--no-save', ...args];

rmSync(out, { recursive: true, force: true });
await build({
  entryPoints: [
    ...files(path.join(root, 'src'), (p) => p.endsWith('.ts') && !p.endsWith('.d.ts')),
    path.join(root, 'src', 'policy', 'validate.generated.js'),
    ...files(path.join(root, 'test', 'fuzz'), (p) => p.endsWith('.ts') && !p.endsWith('.test.ts')),
    path.join(root, 'test', 'helpers', 'hostile-samples.ts'),
    path.join(root, 'test', 'helpers', 'media.ts'),
  ],
  outdir: out,
  outbase: root,
  bundle: false,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: 'linked',
  logLevel: 'error',
});

const covDir = path.join(root, '.tmp', `fuzz-coverage-${process.pid}`);
rmSync(covDir, { recursive: true, force: true });
const r = spawnSync(process.execPath, ['--expose-gc', path.join(out, 'test', 'fuzz', 'run.js'), ...args], {
  stdio: 'inherit',
  env: { ...process.env, ...(coverage ? { NODE_V8_COVERAGE: covDir } : {}) },
});
if (coverage) process.stdout.write(await coverageReport(covDir, out, root));
rmSync(out, { recursive: true, force: true });
rmSync(covDir, { recursive: true, force: true });
process.exit(r.status ?? 1);

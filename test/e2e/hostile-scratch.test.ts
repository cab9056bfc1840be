import { test } from 'vitest';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { HOSTILE_CASES, plantCanary, startListener } from '../helpers/hostile-samples.js';
import { makeSandbox } from '../helpers/cli.js';

test('scratch', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'zt-scratch-'));
  const canary = await plantCanary(dir);
  const l = await startListener();
  const files: Record<string, string> = {};
  for (const c of HOSTILE_CASES) {
    try { files[c.id] = await c.build({ dir, canary, port: l.port }); } catch (e) { console.log('BUILD FAIL', c.id, String(e).slice(0, 300)); }
  }
  const sb = await makeSandbox();
  const r = await sb.run(['check', '--json', ...Object.values(files)]);
  const j = r.json<{ files: Array<{ input: { path: string }; exitCode: number; violations: Array<{ rule: string; message: string }> }> }>();
  const ids = Object.keys(files);
  j.files.forEach((f, i) => console.log(ids[i], f.exitCode, f.violations.map((v) => v.rule + ': ' + v.message.slice(0, 140)).join(' || ')));
  console.log('dir', dir, 'connections', l.connections());
  await l.close();
}, 300000);
import { SAMPLES, makeSample } from '../helpers/media.js';
test('benign scratch', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'zt-scratch-b-'));
  const files: string[] = [];
  for (const n of Object.keys(SAMPLES)) files.push(await makeSample(dir, n));
  const sb = await makeSandbox();
  const r = await sb.run(['check', '--json', ...files]);
  const j = r.json<{ files: Array<{ input: { path: string }; exitCode: number; violations: Array<{ rule: string; message: string }>; warnings: Array<{ rule: string; message: string }> }> }>();
  j.files.forEach((f, i) => console.log(path.basename(files[i]!), f.exitCode, f.violations.map((v) => v.rule + ': ' + v.message.slice(0, 140)).join(' || '), f.warnings.map((v) => v.rule).join(',')));
  console.log(r.stderr.slice(0, 2000));
}, 300000);

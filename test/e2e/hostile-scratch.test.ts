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

/**
 * docs/optimal.md as written: its shell block, run with bash -e in an empty directory with
 * zt-ffmpeg on PATH, takes a fresh machine to a provisioned optimal stage and a real job.
 */
import { describe, it, expect } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile, chmod, mkdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT, BIN } from '../helpers/cli.js';
import { makeSample } from '../helpers/media.js';

describe('docs/optimal.md', () => {
  it('its commands take an empty directory to a signed, pinned, token-gated optimal job', async () => {
    const doc = await readFile(path.join(ROOT, 'docs', 'optimal.md'), 'utf8');
    const block = /```sh\n([\s\S]*?)```/.exec(doc)?.[1];
    expect(block).toBeDefined();
    const dir = await mkdtemp(path.join(os.tmpdir(), 'zt-optimal-path-'));
    try {
      const bin = path.join(dir, 'bin');
      await mkdir(bin);
      await writeFile(path.join(bin, 'zt-ffmpeg'), `#!/bin/sh\nexec '${process.execPath}' '${BIN}' "$@"\n`);
      await chmod(path.join(bin, 'zt-ffmpeg'), 0o755);
      const work = path.join(dir, 'work');
      await mkdir(work);
      await makeSample(work, 'h264-aac.mp4');
      await rm(path.join(work, 'upload.mp4'), { force: true });
      await writeFile(path.join(work, 'upload.mp4'), await readFile(path.join(work, 'h264-aac.mp4')));
      const env = { PATH: `${bin}:/usr/bin:/bin`, HOME: dir, XDG_STATE_HOME: path.join(dir, 'state'), XDG_CONFIG_HOME: path.join(dir, 'config'), NO_COLOR: '1' };
      const r = await new Promise<{ code: number; out: string }>((resolve) => {
        execFile('/bin/bash', ['-e', '-x', '-c', block!], { cwd: work, env, timeout: 180_000, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
          const e = err as { code?: number | string } | null;
          resolve({ code: e ? (typeof e.code === 'number' ? e.code : -1) : 0, out: stdout + stderr });
        });
      });
      expect(r.code, r.out).toBe(0);
      expect(existsSync(path.join(work, 'clip.mp4'))).toBe(true);
      expect(await readFile(path.join(work, 'deploy', 'policy.yaml'), 'utf8')).toMatch(/sha256: [0-9a-f]{64}/);
      expect(existsSync(path.join(work, 'deploy', 'policy.yaml.sig'))).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 200_000);
});

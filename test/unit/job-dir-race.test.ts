/**
 * Until a new job directory is locked, another job's sweep may take it for a dead job's and
 * remove it (16 parallel jobs of the audit suite hit this once: "cannot create a job directory:
 * ENOENT"). The job that made it must then make another (src/publish/job-dir.ts). Here another
 * process removes each new job directory the moment it appears, for the first few.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { checkOutput } from '../../src/publish/destination.js';
import { createJobDir, removeJobDir } from '../../src/publish/job-dir.js';

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'zt-jobdir-race-'));
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

/** A process that rmdirs the first `n` job directories made in `d`, as soon as it sees them. */
function remover(d: string, n: number): { ready: Promise<void>; removed: () => number; stop: () => void } {
  const src = `const fs = require('fs'); let n = 0; const d = process.argv[1];
fs.watch(d, (ev, name) => { if (n < ${n} && name && name.startsWith('.zt-ffmpeg-job-')) { try { fs.rmdirSync(d + '/' + name); n++; process.stdout.write('x'); } catch {} } });
process.stdout.write('ready\\n');`;
  const child = spawn(process.execPath, ['-e', src, d], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  const ready = new Promise<void>((resolve) => child.stdout.on('data', (b: Buffer) => { out += b.toString(); if (out.includes('ready')) resolve(); }));
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  return { ready, removed: () => (out.match(/x/g) ?? []).length, stop: () => { clearTimeout(timer); child.kill('SIGKILL'); } };
}

describe('a job directory removed before its job could lock it', () => {
  it('is made again: the job gets one of its own', async () => {
    const me = { uid: process.geteuid?.() ?? 0, gid: process.getegid?.() ?? 0, dropped: false };
    const r = remover(dir, 2);
    try {
      await r.ready;
      const t = await checkOutput(path.join(dir, 'out.mp4'), false, { stage: 'advanced' });
      const d = await createJobDir(t, me, 'output.mp4');
      // (How many the remover took depends on timing; without the retry, one taken before the
      // job opened it failed the job with ENOENT.)
      expect((await readdir(dir)).filter((x) => x.startsWith('.zt-ffmpeg-job-'))).toEqual([path.basename(d.path)]);
      await removeJobDir(d, t);
    } finally {
      r.stop();
    }
  });
});

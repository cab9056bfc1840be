/**
 * The progress bar: on a TTY for a long job (percent, speed, ETA from ffmpeg's stats); silent
 * under --quiet, --json or without a TTY. A pseudo-terminal comes from util-linux `script`.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { makeSandbox, BIN, type Sandbox } from '../helpers/cli.js';
import { ffmpeg } from '../helpers/media.js';

let sb: Sandbox;
let input: string;
beforeAll(async () => {
  sb = await makeSandbox('zt-progress-');
  input = path.join(sb.dir, 'in.mp4');
  await ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=25:duration=4', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', input]);
});
afterAll(async () => sb.cleanup());

function onTty(args: string[]): Promise<{ code: number; out: string }> {
  const cmd = [process.execPath, BIN, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  return new Promise((resolve) => {
    execFile('/usr/bin/script', ['-qfec', cmd, '/dev/null'], { env: { ...sb.env, TERM: 'xterm' }, timeout: 120_000, killSignal: 'SIGKILL' }, (err, stdout) => {
      const e = err as (Error & { code?: number }) | null;
      resolve({ code: e ? (typeof e.code === 'number' ? e.code : -1) : 0, out: stdout });
    });
  });
}

// A slow preset makes the job last long enough for several progress updates.
const slow = ['--', '-c:v', 'libx264', '-preset', 'veryslow', '-an'];

describe('progress bar', () => {
  it('shows percent, speed and ETA on a TTY', async () => {
    const r = await onTty(['run', '-i', input, '-o', path.join(sb.dir, 'tty.mp4'), ...slow]);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/\[[#.]{30}\] \d+% [\d.]+x ETA \d+s/);
  });

  it('is silent under --quiet and --json on a TTY', async () => {
    for (const flag of ['--quiet', '--json']) {
      const r = await onTty([flag, 'run', '-i', input, '-o', path.join(sb.dir, `q${flag}.mp4`), ...slow]);
      expect(r.code, r.out).toBe(0);
      expect(r.out).not.toMatch(/\] \d+%/);
    }
  });

  it('is silent without a TTY', async () => {
    const r = await sb.run(['run', '-i', input, '-o', path.join(sb.dir, 'notty.mp4'), ...slow]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/\] \d+%/);
  });
});

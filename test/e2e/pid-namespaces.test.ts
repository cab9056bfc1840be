/**
 * Two PID namespaces (`unshare -p -f --mount-proc`, as two containers on one host) share an
 * output directory. A pid means nothing across them, so job dirs are held by a kernel lock:
 * both jobs succeed while each one's dir is live, and a killed job's dir is swept by the next
 * job in either namespace.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { BIN, makeSandbox, type CliResult, type Sandbox } from '../helpers/cli.js';
import { makeSample } from '../helpers/media.js';
import { makeRig, rigPolicy } from '../helpers/breach-rig.js';
import { eventually, processesWith } from '../helpers/host-state.js';
import { isRoot } from '../helpers/other-user.js';

let sb: Sandbox;
let input: string;
let out: string;
let slowPolicy: string;
let rigPath: string;

beforeAll(async () => {
  sb = await makeSandbox('zt-pidns-');
  input = await makeSample(sb.dir, 'h264-aac.mp4');
  out = path.join(sb.dir, 'shared-out');
  await mkdir(out);
  // A job that stays alive a few seconds after ffmpeg (the rig's "hold"), to be looked at or killed.
  const rig = await makeRig('hold');
  rigPath = rig.path;
  slowPolicy = path.join(sb.dir, 'slow.yaml');
  await writeFile(slowPolicy, rigPolicy(rig));
});
afterAll(async () => sb.cleanup());

/** One job in a PID namespace of its own (its node is pid 1 there); its own process group. */
function inNamespace(args: readonly string[]): { done: Promise<CliResult>; kill(): void } {
  const child = spawn('/usr/bin/unshare', ['-p', '-f', '--mount-proc', process.execPath, BIN, ...args], { env: sb.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
  const done = new Promise<CliResult>((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, signal, stdout, stderr, json: <T>() => JSON.parse(stdout) as T });
    });
  });
  return {
    done,
    kill: () => {
      try {
        process.kill(-(child.pid ?? 0), 'SIGKILL');
      } catch {
        /* gone */
      }
    },
  };
}

const jobDirs = async (): Promise<string[]> => (await readdir(out)).filter((n) => n.startsWith('.zt-ffmpeg-job-'));

describe.runIf(isRoot)('two PID namespaces sharing an output directory', () => {
  it('both jobs succeed: the second one\'s sweep leaves the first one\'s live job dir alone', async () => {
    const a = inNamespace(['run', '-i', input, '-o', path.join(out, 'a.mp4'), '-p', slowPolicy]);
    expect(await eventually(async () => (await jobDirs()).length === 1), 'job A made its job dir').toBe(true);
    const b = await inNamespace(['run', '-i', input, '-o', path.join(out, 'b.mp4')]).done;
    expect(b.code, b.stderr).toBe(0);
    const ra = await a.done;
    expect(ra.code, ra.stderr).toBe(0);
    expect((await readdir(out)).sort()).toEqual(['a.mp4', 'b.mp4']);
  });

  it('a killed job\'s dir (kill -9, no clean-up) is swept by the next job, from the other namespace', async () => {
    const a = inNamespace(['run', '-i', input, '-o', path.join(out, 'killed.mp4'), '-p', slowPolicy]);
    expect(await eventually(async () => (await processesWith(rigPath)).some(Boolean) && (await jobDirs()).length === 1)).toBe(true);
    const left = await jobDirs();
    a.kill();
    await a.done;
    // The whole tree went with it; its job dir stayed behind.
    expect(await eventually(async () => (await processesWith(rigPath)).length === 0, 10_000)).toBe(true);
    expect(await jobDirs()).toEqual(left);
    const b = await inNamespace(['run', '-i', input, '-o', path.join(out, 'next.mp4')]).done;
    expect(b.code, b.stderr).toBe(0);
    expect(await jobDirs()).toEqual([]);
    expect((await readdir(out)).sort()).toEqual(['a.mp4', 'b.mp4', 'next.mp4']);
  });
});

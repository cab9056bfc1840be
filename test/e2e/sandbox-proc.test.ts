/**
 * While ffmpeg runs under `zt-ffmpeg run`, look at it from the outside through /proc: no new
 * privileges, no capabilities, a seccomp filter, its own network namespace, nobody's uid.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readdir, readFile, readlink } from 'node:fs/promises';
import path from 'node:path';
import { makeSandbox, type Sandbox } from '../helpers/cli.js';
import { ffmpeg } from '../helpers/media.js';

let sb: Sandbox;
beforeAll(async () => {
  sb = await makeSandbox('zt-proc-');
});
afterAll(async () => sb.cleanup());

async function findSandboxedFfmpeg(marker: string): Promise<number | undefined> {
  for (const e of await readdir('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const cmd = (await readFile(`/proc/${e}/cmdline`, 'utf8')).split('\0');
      if (cmd[0] === '/usr/bin/ffmpeg' && cmd.includes('/proc/self/fd/4') && cmd.some((a) => a.includes(marker))) return Number(e);
    } catch {
      /* gone */
    }
  }
  return undefined;
}

describe('the sandboxed ffmpeg, seen from /proc', () => {
  it('runs with NoNewPrivs 1, CapEff 0, a seccomp filter and its own network, user and mount namespaces', async () => {
    const input = path.join(sb.dir, 'slow.mp4');
    await ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=25:duration=4', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', input]);
    const out = path.join(sb.dir, 'slow-out.mp4');
    // A deliberately slow preset so that the process can be observed while it runs.
    const job = sb.run(['run', '-i', input, '-o', out, '--', '-c:v', 'libx264', '-preset', 'veryslow', '-an'], { timeoutMs: 120_000 });
    let pid: number | undefined;
    let status = '';
    let net = '';
    let userNs = '';
    let mntNs = '';
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && pid === undefined) {
      pid = await findSandboxedFfmpeg('veryslow');
      if (pid !== undefined) {
        try {
          status = await readFile(`/proc/${pid}/status`, 'utf8');
          net = await readlink(`/proc/${pid}/ns/net`);
          userNs = await readlink(`/proc/${pid}/ns/user`);
          mntNs = await readlink(`/proc/${pid}/ns/mnt`);
        } catch {
          pid = undefined;
        }
      }
      if (pid === undefined) await new Promise((r) => setTimeout(r, 10));
    }
    const r = await job;
    expect(pid, `never saw the sandboxed ffmpeg; run exit ${r.code}: ${r.stderr}`).toBeDefined();
    expect(status).toMatch(/^NoNewPrivs:\s+1$/m);
    expect(status).toMatch(/^CapEff:\s+0000000000000000$/m);
    expect(status).toMatch(/^CapPrm:\s+0000000000000000$/m);
    expect(status).toMatch(/^Seccomp:\s+2$/m);
    expect(net).not.toBe(await readlink('/proc/self/ns/net'));
    // Its own user namespace (uid 65534 inside; outside, the dedicated sandbox user for a root caller) and mount namespace.
    expect(userNs).not.toBe(await readlink('/proc/self/ns/user'));
    expect(mntNs).not.toBe(await readlink('/proc/self/ns/mnt'));
    expect(r.code, r.stderr).toBe(0);
  });
});

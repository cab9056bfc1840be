/**
 * Private copies that a job killed outright (SIGKILL: no clean-up) leaves in TMPDIR are swept by
 * the next job that makes one (src/inspect/file.ts sweepStaleCopies): only directories named like
 * ours, owned by us, real directories, a minute old, that no live job holds flocked; and only in
 * a TMPDIR nobody else can swap entries in.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { chmod, chown, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { openInput, stagePrivateCopy, sweepStaleCopies, STALE_COPY_MS } from '../../src/inspect/file.js';
import { eventually } from '../helpers/host-state.js';
import { asOther, isRoot, OTHER_UID } from '../helpers/other-user.js';
import { ROOT } from '../helpers/cli.js';

let tmp = '';
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'zt-sweep-'));
});
afterAll(async () => rm(tmp, { recursive: true, force: true }));

const old = new Date(Date.now() - STALE_COPY_MS - 60_000);

/** A copy directory as a killed job leaves it: 0711, one 0444 file, last changed long ago. */
async function leftCopy(name: string, at = old): Promise<string> {
  const d = path.join(tmp, name);
  await mkdir(d);
  await writeFile(path.join(d, 'c0ffee'), 'root-only bytes', { mode: 0o444 });
  await chmod(d, 0o711);
  await utimes(d, at, at);
  return d;
}

describe('sweeping the private copies of dead jobs', () => {
  it('removes an old, unlocked copy of ours; keeps a young one and one a live job holds', async () => {
    await leftCopy('zt-ffmpeg-input-dead01');
    await leftCopy('zt-ffmpeg-input-young1', new Date());
    const held = await leftCopy('zt-ffmpeg-input-held01');
    // A live job holds its copy's flock (flock(1) here, for as long as its sleep runs).
    const holder = spawn('/usr/bin/flock', ['--exclusive', held, '/bin/sleep', '30'], { stdio: 'ignore', detached: true });
    try {
      const ino = (await stat(held)).ino;
      expect(await eventually(async () => (await readFile('/proc/locks', 'utf8')).includes(`:${ino} `), 5000), 'flock(1) holds the copy').toBe(true);
      expect(await sweepStaleCopies(tmp)).toBe(1);
      expect((await readdir(tmp)).sort()).toEqual(['zt-ffmpeg-input-held01', 'zt-ffmpeg-input-young1']);
    } finally {
      process.kill(-(holder.pid ?? 0), 'SIGKILL');
    }
  });

  it('never follows or removes what is not a copy directory of ours: a link, a file, another user\'s', async () => {
    const victim = await mkdtemp(path.join(os.tmpdir(), 'zt-sweep-victim-'));
    try {
      await writeFile(path.join(victim, 'keep'), 'x');
      await symlink(victim, path.join(tmp, 'zt-ffmpeg-input-link01'));
      await writeFile(path.join(tmp, 'zt-ffmpeg-input-file01'), 'x');
      const theirs = await leftCopy('zt-ffmpeg-input-other1');
      if (process.getuid?.() === 0) {
        await chown(theirs, 65534, 65534);
        await utimes(theirs, old, old);
      }
      await sweepStaleCopies(tmp);
      expect(await readdir(victim)).toEqual(['keep']);
      const left = await readdir(tmp);
      expect(left).toContain('zt-ffmpeg-input-link01');
      expect(left).toContain('zt-ffmpeg-input-file01');
      if (process.getuid?.() === 0) expect(left).toContain('zt-ffmpeg-input-other1');
    } finally {
      await rm(victim, { recursive: true, force: true });
    }
  });

  it('does nothing in a TMPDIR others may write and that is not sticky', async () => {
    const open777 = await mkdtemp(path.join(os.tmpdir(), 'zt-sweep-open-'));
    try {
      const d = path.join(open777, 'zt-ffmpeg-input-dead02');
      await mkdir(d);
      await utimes(d, old, old);
      await chmod(open777, 0o777);
      expect(await sweepStaleCopies(open777)).toBe(0);
      await chmod(open777, 0o1777);
      expect(await sweepStaleCopies(open777)).toBe(1);
    } finally {
      await rm(open777, { recursive: true, force: true });
    }
  });

  it.skipIf(!isRoot)('in a shared sticky TMPDIR, what a second user plants is left alone, and that user\'s sweep leaves ours', async () => {
    const shared = await mkdtemp(path.join(os.tmpdir(), 'zt-sweep-shared-'));
    const victim = await mkdtemp(path.join(os.tmpdir(), 'zt-sweep-victim-'));
    try {
      await chmod(shared, 0o1777);
      await writeFile(path.join(victim, 'keep'), 'x');
      // The other user, for real: an old-looking directory named like a copy, and a link named like one.
      const planted = await asOther('/bin/sh', ['-c', `mkdir ${shared}/zt-ffmpeg-input-evil01 && touch -d '2000-01-01' ${shared}/zt-ffmpeg-input-evil01 && ln -s ${victim} ${shared}/zt-ffmpeg-input-evil02`]);
      expect(planted.code, planted.stderr).toBe(0);
      const deadCopy = async (name: string): Promise<void> => {
        const d = path.join(shared, name);
        await mkdir(d);
        await writeFile(path.join(d, 'c0ffee'), 'root-only bytes', { mode: 0o444 });
        await chmod(d, 0o711);
        await utimes(d, old, old);
      };
      await deadCopy('zt-ffmpeg-input-dead03');
      // Our sweep: only our own dead copy goes; the planted directory and link stay, the link's target untouched.
      expect(await sweepStaleCopies(shared)).toBe(1);
      expect((await readdir(shared)).sort()).toEqual(['zt-ffmpeg-input-evil01', 'zt-ffmpeg-input-evil02']);
      expect((await stat(path.join(shared, 'zt-ffmpeg-input-evil01'))).uid).toBe(OTHER_UID);
      // The other user's sweep (the built module, as its job would run it): its own dead copy goes, ours stays.
      await deadCopy('zt-ffmpeg-input-dead04');
      const lib = path.join(ROOT, 'dist', 'inspect', 'file.js');
      const theirs = await asOther(process.execPath, ['-e', `import(${JSON.stringify(lib)}).then(async (m) => console.log(await m.sweepStaleCopies(${JSON.stringify(shared)})))`]);
      expect(theirs.code, theirs.stderr).toBe(0);
      expect(theirs.stdout.trim()).toBe('1');
      expect((await readdir(shared)).sort()).toEqual(['zt-ffmpeg-input-dead04', 'zt-ffmpeg-input-evil02']);
      expect(await readdir(victim)).toEqual(['keep']);
    } finally {
      await rm(shared, { recursive: true, force: true });
      await rm(victim, { recursive: true, force: true });
    }
  });

  it('a live copy, even one that looks old, is held by its job and survives a sweep; released, it is gone', async () => {
    const src = path.join(tmp, 'input.bin');
    await writeFile(src, Buffer.alloc(3000, 7));
    const before = process.env['TMPDIR'];
    const own = await mkdtemp(path.join(os.tmpdir(), 'zt-sweep-own-'));
    process.env['TMPDIR'] = own;
    try {
      const copy = await stagePrivateCopy(await openInput(src, 1 << 20));
      const [dir] = await readdir(own);
      expect(dir).toMatch(/^zt-ffmpeg-input-/);
      await utimes(path.join(own, dir!), old, old);
      expect(await sweepStaleCopies(own)).toBe(0);
      expect(copy.stat.size).toBe(3000);
      await copy.close();
      expect(await readdir(own)).toEqual([]);
    } finally {
      if (before === undefined) delete process.env['TMPDIR'];
      else process.env['TMPDIR'] = before;
      await rm(own, { recursive: true, force: true });
    }
  });
});

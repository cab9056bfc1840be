/**
 * The host's second wall, on real files: whatever stands where the output should be after the
 * tree is dead (made by another user where it matters: a symlink, a FIFO, a directory, a hard
 * link, a file of another owner or another inode, a file at the size limit) is refused without
 * following, blocking or reading it. Under bubblewrap the sandbox cannot leave any of these
 * (test/e2e/breach-rig.test.ts); this is what holds if it ever could.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { chown, link, mkdir, mkdtemp, open, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { claimSandboxOutput, type ExpectedOutput } from '../../src/verify/sandbox-output.js';
import { isJobEntry, sweepable } from '../../src/publish/job-dir.js';
import { ZtError } from '../../src/errors.js';

let dir: string;
let n = 0;
const SANDBOX_UID = 999;
const me = process.geteuid?.() ?? 0;
const uid = me === 0 ? SANDBOX_UID : me;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'zt-leftovers-'));
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

/** A job dir holding the output the host made (owned by the sandbox uid), and where it is expected. */
async function made(): Promise<{ at: string; expected: ExpectedOutput }> {
  const d = path.join(dir, `job-${n++}`);
  await mkdir(d, { mode: 0o700 });
  const at = path.join(d, 'output.mp4');
  await writeFile(at, 'media bytes', { mode: 0o600 });
  if (me === 0) await chown(at, SANDBOX_UID, SANDBOX_UID);
  const st = await stat(at);
  return { at, expected: { at, dev: st.dev, ino: st.ino, uid, maxBytes: 1024 * 1024 } };
}

async function refused(e: ExpectedOutput, leftBehind = 0): Promise<ZtError> {
  const err = await claimSandboxOutput(e, leftBehind).then(
    async (h) => {
      await h.close();
      return undefined;
    },
    (x: unknown) => x,
  );
  expect(err).toBeInstanceOf(ZtError);
  return err as ZtError;
}

describe('claimSandboxOutput', () => {
  it('claims the very file the host made, open for reading', async () => {
    const { expected } = await made();
    const h = await claimSandboxOutput(expected, 0);
    expect((await h.readFile()).toString()).toBe('media bytes');
    await h.close();
  });

  it.each([
    ['a symbolic link to a root-only file', async (at: string) => symlink('/etc/shadow', at), /a symbolic link/],
    ['a FIFO (never opened blocking)', async (at: string) => void execFileSync('/usr/bin/mkfifo', [at]), /a FIFO/],
    ['a directory', async (at: string) => mkdir(at), /a directory/],
    ['another regular file', async (at: string) => writeFile(at, 'planted'), /another file than the one the host made/],
  ] as const)('%s in its place: exit 6, nothing read', async (_n, plant, message) => {
    const { at, expected } = await made();
    // Moved aside, not removed: a removed inode's number could be handed to the planted file.
    await rename(at, `${at}.moved`);
    await plant(at);
    const e = await refused(expected);
    expect(e.exitCode).toBe(6);
    expect(e.violations[0]?.rule).toBe('output.sandbox-file');
    expect(e.message).toMatch(message);
  });

  it('a second link to it: exit 6', async () => {
    const { at, expected } = await made();
    await link(at, `${at}.2`);
    expect((await refused(expected)).message).toMatch(/2 links/);
  });

  it.runIf(me === 0)('owned by another uid than the sandbox\'s: exit 6', async () => {
    const { at, expected } = await made();
    await chown(at, 65534, 65534);
    expect((await refused(expected)).message).toMatch(/owned by uid 65534/);
  });

  it('at the size limit (RLIMIT_FSIZE stopped it): exit 5 limits.outputMaxMiB', async () => {
    const { at, expected } = await made();
    const h = await open(at, 'r+');
    await h.truncate(expected.maxBytes);
    await h.close();
    const e = await refused(expected);
    expect(e.exitCode).toBe(5);
    expect(e.violations[0]?.rule).toBe('limits.outputMaxMiB');
  });

  it('while a process of the tree outlived the kill path: nothing is claimed', async () => {
    const { expected } = await made();
    expect((await refused(expected, 1)).message).toMatch(/could not be ended/);
  });
});

describe('the sweep\'s rules', () => {
  const dirStat = (u: number, mode: number): { uid: number; mode: number; isDirectory(): boolean } => ({ uid: u, mode: 0o040000 | mode, isDirectory: () => true });
  it('touches only the caller\'s directories with exactly the mode a job creates', () => {
    expect(sweepable(dirStat(0, 0o700), 0)).toBe(true);
    expect(sweepable(dirStat(65534, 0o700), 0)).toBe(false);
    expect(sweepable(dirStat(0, 0o755), 0)).toBe(false);
    expect(sweepable({ uid: 0, mode: 0o700, isDirectory: () => false }, 0)).toBe(false);
  });
  it('removes only the names a job creates', () => {
    expect(isJobEntry('output.mp4')).toBe(true);
    expect(isJobEntry('provenance.json')).toBe(true);
    for (const n of ['sub', '.', '..', 'fill.1', 'output', 'outputs.mp4']) expect(isJobEntry(n), n).toBe(false);
  });
});

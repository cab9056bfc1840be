/**
 * The start gate (src/sandbox/start-gate.ts) with the real bubblewrap and a real seccomp
 * program: the sandbox is built while the gate is shut and its command starts only once the
 * gate opens; a refused gate, or the death of the process holding it, means the command never
 * starts. The command writes to the inherited output descriptor, a host file the test reads, so
 * "it started" is seen from outside the sandbox.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { supervise, type SupervisedRun } from '../../src/sandbox/supervise.js';
import { buildSeccompProgram } from '../../src/sandbox/seccomp/profiles.js';
import { checkedProgram, shutGate, MAX_PROGRAM_BYTES } from '../../src/sandbox/start-gate.js';
import { ZtError } from '../../src/errors.js';
import { sandboxSpec } from '../helpers/supervise.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const dir = mkdtempSync(path.join(os.tmpdir(), 'zt-gate-'));
const seccompProgram = buildSeccompProgram('default');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A run whose command writes "started" to the output descriptor (a host file) and exits. */
interface GatedRun {
  readonly run: SupervisedRun;
  readonly out: FileHandle;
  readonly file: string;
  readonly spawned: Promise<void>;
}

async function gatedRun(name: string, startGate?: Promise<void>): Promise<GatedRun> {
  const file = path.join(dir, name);
  writeFileSync(file, '');
  const out = await open(file, 'r+');
  let spawned!: () => void;
  const seen = new Promise<void>((r) => {
    spawned = r;
  });
  const run = sandboxSpec(['/bin/sh', '-c', 'echo started > /proc/self/fd/4'], { output: { fd: out.fd, name }, seccompProgram, onTree: () => spawned(), ...(startGate ? { startGate } : {}) });
  return { run, out, file, spawned: seen };
}

/** Runs `body` with a gated run whose output file is closed afterwards, however the body ends. */
async function withGatedRun(name: string, startGate: Promise<void> | undefined, body: (g: GatedRun) => Promise<void>): Promise<void> {
  const g = await gatedRun(name, startGate);
  try {
    await body(g);
  } finally {
    await g.out.close();
  }
}

describe('the start gate', () => {
  it('without a gate the command runs at once under its seccomp program', async () => {
    await withGatedRun('plain', undefined, async (g) => {
    const r = await supervise(g.run);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(readFileSync(g.file, 'utf8')).toBe('started\n');
    });
  });

  it('holds the command while the gate is shut (the sandbox already exists), starts it once it opens', async () => {
    const shut = shutGate();
    await withGatedRun('held', shut.promise, async (g) => {
    const running = supervise(g.run);
    await g.spawned;
    await sleep(400); // bwrap builds its sandbox in a few milliseconds: it is waiting now
    expect(readFileSync(g.file, 'utf8'), 'the command ran before its gate opened').toBe('');
    shut.open();
    const r = await running;
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.withheld).toBeUndefined();
    expect(readFileSync(g.file, 'utf8')).toBe('started\n');
    });
  });

  it('a refused gate kills the waiting sandbox: the command never starts, nothing is left', async () => {
    const shut = shutGate();
    await withGatedRun('refused', shut.promise, async (g) => {
    const running = supervise(g.run);
    await g.spawned;
    await sleep(200);
    shut.refuse();
    const r = await running;
    expect(r.withheld).toBe(true);
    expect(r.exitCode).not.toBe(0);
    expect(r.leftBehind).toBe(0);
    expect(r.sandboxFailed).toBe(false);
    await sleep(200);
    expect(readFileSync(g.file, 'utf8')).toBe('');
    });
  });

  it('a gate that opens after the run was interrupted starts nothing', async () => {
    const shut = shutGate();
    const ac = new AbortController();
    await withGatedRun('interrupted', shut.promise, async (g) => {
    const running = supervise({ ...g.run, tools: { ...g.run.tools, signal: ac.signal } });
    await g.spawned;
    ac.abort('SIGTERM');
    const r = await running;
    shut.open();
    expect(r.interrupted).toBe('SIGTERM');
    await sleep(300);
    expect(readFileSync(g.file, 'utf8')).toBe('');
    });
  });

  it('the wait at the gate is not the command\'s time: its wall clock starts when the gate opens', async () => {
    const shut = shutGate();
    await withGatedRun('wall', shut.promise, async (g) => {
    // A wall budget far shorter than the wait: counted from the spawn, it would kill the run.
    const running = supervise({ ...g.run, wallMs: 700 });
    await g.spawned;
    await sleep(1200);
    shut.open();
    const r = await running;
    expect(r.killedFor, JSON.stringify(r.killedFor)).toBeUndefined();
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.wallMs).toBeLessThan(1200);
    expect(readFileSync(g.file, 'utf8')).toBe('started\n');
    });
  });

  it('a job cancelled while its program is being read is interrupted: the command never starts', async () => {
    // Several times: the kill lands while bwrap builds the sandbox, before its process inside
    // arms its death signal. A root killed then, unstopped, orphaned that process, which ran the
    // command (9 times in 15 on a 2-core machine before the kill path stopped the root first).
    for (let i = 0; i < 6; i++) {
      const ac = new AbortController();
      await withGatedRun(`early-abort-${i}`, undefined, async (g) => {
        const running = supervise({ ...g.run, tools: { ...g.run.tools, signal: ac.signal } });
        ac.abort('SIGINT');
        const r = await running;
        expect(r.interrupted).toBe('SIGINT');
        await sleep(200);
        expect(readFileSync(g.file, 'utf8')).toBe('');
      });
    }
  });

  it('when the process holding the gate dies, the waiting sandbox reads an empty program and never starts the command', async () => {
    const marker = `zt-gate-marker-${process.pid}-${Date.now()}`;
    const file = path.join(dir, 'orphan');
    writeFileSync(file, '');
    // A separate Node process (the built modules) spawns a gated sandbox whose gate never opens, says so, and is then SIGKILLed.
    const script = `
      import { open } from 'node:fs/promises';
      import { supervise } from ${JSON.stringify(path.join(ROOT, 'dist', 'sandbox', 'supervise.js'))};
      const out = await open(${JSON.stringify(file)}, 'r+');
      const never = new Promise(() => {});
      supervise({ tools: { bwrap: '/usr/bin/bwrap', prlimit: '/usr/bin/prlimit', degraded: false },
        command: ['/bin/sh', '-c', 'echo started > /proc/self/fd/4', ${JSON.stringify(marker)}],
        output: { fd: out.fd, name: 'orphan' }, seccompProgram: Buffer.from(${JSON.stringify(seccompProgram.toString('base64'))}, 'base64'), startGate: never,
        tmpfsBytes: 8 << 20, grants: { fonts: false, gpu: false }, wallMs: 20000,
        rlimits: { addressSpaceBytes: 256 << 20, cpuSeconds: 30, fileSizeBytes: 1 << 20, openFiles: 64 },
        onTree: () => setTimeout(() => process.stdout.write('spawned\\n'), 300) });
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => {
          if (d.toString().includes('spawned')) resolve();
        });
        child.once('exit', () => reject(new Error('the holder exited before its sandbox was spawned')));
      });
      // The sandbox exists and waits: it carries the marker in its command line.
      expect(withMarker(marker).length).toBeGreaterThan(0);
      child.kill('SIGKILL');
      let left = withMarker(marker);
      for (let i = 0; i < 50 && left.length > 0; i++) {
        await sleep(100);
        left = withMarker(marker);
      }
      expect(left, 'a sandbox of the dead holder is still alive').toEqual([]);
      expect(readFileSync(file, 'utf8'), 'the command started without its gate').toBe('');
    } finally {
      clearTimeout(timer);
      child.kill('SIGKILL');
    }
  });

  it('refuses a program that could not be handed over in one write, or that no kernel would load', () => {
    for (const bytes of [MAX_PROGRAM_BYTES + 8, 12, 0]) expect(() => checkedProgram(Buffer.alloc(bytes))).toThrow(ZtError);
    for (const profile of ['default', 'strict'] as const) expect(checkedProgram(buildSeccompProgram(profile)).length).toBeLessThanOrEqual(MAX_PROGRAM_BYTES);
  });
});

/** Pids of live processes with `marker` as an argument. */
function withMarker(marker: string): number[] {
  const pids: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const state = readFileSync(`/proc/${e}/stat`, 'utf8').split(') ').pop()?.[0];
      if (state === 'Z') continue;
      if (readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0').includes(marker)) pids.push(Number(e));
    } catch {
      /* gone */
    }
  }
  return pids;
}

/**
 * The monitor's pure decisions: parsing /proc, folding samples into peaks, limits and
 * anomalies, the learned baseline, and what an exit status says about the kernel's limits.
 */
import { describe, it, expect, afterAll } from 'vitest';
import { mkdtemp, rm, writeFile, appendFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseStat, parseIo, parseChildrenList, descendants, defunct, ProcessTree, type ProcStat } from '../../src/monitor/proc.js';
import { evaluateSample, scanDiagnostics, emptyPeaks, type MonitorLimits } from '../../src/monitor/monitor.js';
import {
  baselineFromLines,
  readBaseline,
  median,
  slowJobDeadlineMs,
  judgeFinishedJob,
  costFromEvent,
  MIN_SLOW_KILL_MS,
  BASELINE_TAIL_BYTES,
  type Baseline,
} from '../../src/monitor/baseline.js';
import { limitFromExit } from '../../src/sandbox/supervise.js';
import { buildPrlimitArgs, CPU_HARD_GRACE_SECONDS, taskLimitArgs } from '../../src/sandbox/prlimit.js';

const MiB = 1048576;
const limits: MonitorLimits = { sampleMs: 200, maxThreads: 8, addressSpaceBytes: 1024 * MiB, onMemorySpike: 'warn', onEscapeAttempt: 'kill' };

function proc(pid: number, ppid: number, o: Partial<ProcStat> = {}): ProcStat {
  return { pid, ppid, cpuTicks: 0, threads: 1, rssPages: 0, vsizeBytes: 0, state: 'S', startTicks: 1000 + pid, ...o };
}

describe('parsing /proc', () => {
  it('reads stat lines whose command name holds spaces and parentheses', () => {
    // Fields: pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
    //         utime stime cutime cstime priority nice num_threads itrealvalue starttime vsize rss
    const line = '4242 (ff (mpeg) x) R 4200 4242 4242 0 -1 4194304 100 0 0 0 150 50 7 3 20 0 6 0 987654 123456789 2500 18446744073709551615';
    const s = parseStat(line);
    expect(s).toEqual({ pid: 4242, ppid: 4200, state: 'R', cpuTicks: 210, threads: 6, startTicks: 987654, vsizeBytes: 123456789, rssPages: 2500 });
  });
  it('refuses garbage', () => {
    expect(parseStat('nonsense')).toBeUndefined();
    expect(parseStat('abc (x) R 1')).toBeUndefined();
  });
  it('reads rchar and wchar from /proc/PID/io', () => {
    expect(parseIo('rchar: 1234\nwchar: 99\nsyscr: 4\nread_bytes: 0\n')).toEqual({ readBytes: 1234, writeBytes: 99 });
    expect(parseIo('')).toEqual({ readBytes: 0, writeBytes: 0 });
  });
  it('finds every descendant of the root and nothing else', () => {
    const all = [proc(1, 0), proc(10, 1), proc(11, 10), proc(12, 11), proc(13, 11), proc(20, 1), proc(21, 20)];
    expect(descendants(10, all).map((p) => p.pid).sort()).toEqual([10, 11, 12, 13]);
    expect(descendants(99, all)).toEqual([]);
  });
  it('once the root is reaped, its pid no longer names the tree: a process that reuses it is not a member', () => {
    const at = (pid: number, ppid: number, start: number): ProcStat => ({ ...proc(pid, ppid), startTicks: start });
    const tree = new ProcessTree(10);
    expect(tree.scan([at(1, 0, 1), at(10, 1, 100), at(11, 10, 101), at(30, 1, 50)]).map((p) => p.pid).sort()).toEqual([10, 11]);
    tree.markRootReaped();
    // pid 10 is now another process with a child of its own; 11 (seen) lives on, re-parented, with a new child.
    const later = [at(1, 0, 1), at(10, 1, 900), at(12, 10, 901), at(11, 1, 101), at(13, 11, 950), at(30, 1, 50)];
    expect(tree.scan(later).map((p) => p.pid).sort()).toEqual([11, 13]);
    // 11 ends and 13 was seen by the last scan: it is still a member after 11 is gone.
    expect(tree.scan([at(1, 0, 1), at(10, 1, 900), at(12, 10, 901), at(13, 1, 950)]).map((p) => p.pid)).toEqual([13]);
    // A seen pid reused by another process is not a member.
    expect(tree.scan([at(1, 0, 1), at(10, 1, 900), at(13, 1, 999)])).toEqual([]);
  });
  it('after the root is reaped, a seen member that dies and whose pid is taken between two reads of /proc roots nothing', () => {
    const at = (pid: number, ppid: number, start: number): ProcStat => ({ ...proc(pid, ppid), startTicks: start });
    let allNow: ProcStat[] = [];
    const tree = new ProcessTree(10, { one: (pid) => (pid === 11 ? at(11, 1, 101) : undefined), all: () => allNow });
    tree.scan([at(1, 0, 1), at(10, 1, 100), at(11, 10, 101)]);
    tree.markRootReaped();
    // The one-by-one read saw 11 alive; by the full read it is another process, with a child.
    allNow = [at(1, 0, 1), at(11, 1, 999), at(20, 11, 1000)];
    expect(tree.scan()).toEqual([]);
    // The same reads, consistent: 11 and the child it started since are members.
    allNow = [at(1, 0, 1), at(11, 1, 101), at(20, 11, 1000)];
    expect(tree.scan().map((p) => p.pid).sort()).toEqual([11, 20]);
  });
  it("a sample follows the tree's children lists and reads nothing else of /proc", () => {
    const at = (pid: number, ppid: number, start: number, threads = 1): ProcStat => ({ ...proc(pid, ppid), startTicks: start, threads });
    let wholeReads = 0;
    const oneReads: number[] = [];
    let now: ProcStat[] = [];
    let kids: Record<number, number[]> = {};
    const tree = new ProcessTree(10, {
      one: (pid) => (oneReads.push(pid), now.find((p) => p.pid === pid)),
      all: () => (wholeReads++, now),
      children: (pid) => kids[pid] ?? [],
    }, Number.POSITIVE_INFINITY);
    // 10 → 11 (3 threads) → 12, 13; 30 is the host's, never read.
    now = [at(1, 0, 1), at(10, 1, 100), at(11, 10, 101, 3), at(12, 11, 102), at(13, 11, 103), at(30, 1, 50)];
    kids = { 1: [10, 30], 10: [11], 11: [12, 13] };
    expect(tree.sample().map((p) => p.pid).sort()).toEqual([10, 11, 12, 13]);
    expect(wholeReads).toBe(0);
    expect(oneReads).not.toContain(30);
    expect(tree.lastScan().map((p) => p.pid).sort()).toEqual([10, 11, 12, 13]);
    // A listed child whose pid is another process's by the time its stat is read (its parent is not 11) is not a member.
    now = [at(1, 0, 1), at(10, 1, 100), at(11, 10, 101, 3), at(12, 1, 700), at(13, 11, 103)];
    expect(tree.sample().map((p) => p.pid).sort()).toEqual([10, 11, 13]);
    // 11 dies; 13, seen before, lives on re-parented out of the tree with a child of its own: both are members.
    now = [at(1, 0, 1), at(10, 1, 100), at(13, 1, 103), at(14, 13, 104)];
    kids = { 1: [10, 13], 13: [14] };
    expect(tree.sample().map((p) => p.pid).sort()).toEqual([10, 13, 14]);
    // 13 and 14 end and their pids are taken by processes of the host: forgotten, not members.
    now = [at(1, 0, 1), at(10, 1, 100), at(13, 1, 900), at(14, 1, 901)];
    kids = { 1: [10, 13, 14] };
    expect(tree.sample().map((p) => p.pid)).toEqual([10]);
    expect(wholeReads).toBe(0);
    // The kill path reads all of /proc: the lists are not exact while processes start and end.
    // (alive(), not killOnce(): these pids are the host's, and nothing here may signal them.)
    expect(tree.alive().map((p) => p.pid)).toEqual([10]);
    expect(wholeReads).toBe(1);
  });
  it('a seen member outside the tree is forgotten only when surely dead: a failed read keeps it', () => {
    const at = (pid: number, ppid: number, start: number): ProcStat => ({ ...proc(pid, ppid), startTicks: start });
    let now = [at(1, 0, 1), at(10, 1, 100), at(11, 10, 101)];
    let kids: Record<number, number[]> = { 10: [11] };
    let unreadable = false;
    let gone = false;
    const tree = new ProcessTree(10, {
      one: (pid) => (unreadable && pid === 11 ? undefined : now.find((p) => p.pid === pid)),
      all: () => now,
      children: (pid) => kids[pid] ?? [],
      gone: () => gone,
    }, Number.POSITIVE_INFINITY);
    tree.sample();
    // 11 is re-parented out of the tree, and its stat cannot be read for a moment (no descriptor left, say).
    now = [at(1, 0, 1), at(10, 1, 100), at(11, 1, 101)];
    kids = {};
    unreadable = true;
    expect(tree.sample().map((p) => p.pid)).toEqual([10]);
    unreadable = false;
    // Still remembered: found again by its pid, and by the whole scan of the kill path.
    expect(tree.sample().map((p) => p.pid).sort()).toEqual([10, 11]);
    expect(tree.alive().map((p) => p.pid).sort()).toEqual([10, 11]);
    // Gone from /proc: forgotten, and a later process with its pid and start time (impossible, but) is no member.
    unreadable = true;
    gone = true;
    tree.sample();
    unreadable = false;
    expect(tree.sample().map((p) => p.pid)).toEqual([10]);
    expect(tree.alive().map((p) => p.pid)).toEqual([10]);
  });
  it('parses children lists: each pid followed by a space; anything else is not a pid', () => {
    expect(parseChildrenList('')).toEqual([]);
    expect(parseChildrenList('12 345 ')).toEqual([12, 345]);
    expect(parseChildrenList('12 345\n')).toEqual([12, 345]);
    expect(parseChildrenList('7  8 x 0 -3 9.5 10')).toEqual([7, 8, 10]);
    const many = Array.from({ length: 5000 }, (_, i) => 100000 + i);
    expect(parseChildrenList(many.map((p) => `${p} `).join(''))).toEqual(many);
  });
  it('a sample reads all of /proc where the kernel keeps no children lists, or the root is gone, or reaped', () => {
    const at = (pid: number, ppid: number): ProcStat => proc(pid, ppid);
    let wholeReads = 0;
    let lists = true;
    let now = [at(1, 0), at(10, 1), at(11, 10)];
    const tree = new ProcessTree(10, { one: (pid) => now.find((p) => p.pid === pid), all: () => (wholeReads++, now), children: (pid) => (lists ? (pid === 10 ? [11] : []) : undefined) }, Number.POSITIVE_INFINITY);
    expect(tree.sample().map((p) => p.pid)).toEqual([10, 11]);
    expect(wholeReads).toBe(0);
    lists = false;
    expect(tree.sample().map((p) => p.pid)).toEqual([10, 11]);
    expect(wholeReads).toBe(1);
    lists = true;
    now = [at(1, 0), at(11, 1)];
    expect(tree.sample().map((p) => p.pid)).toEqual([11]);
    expect(wholeReads).toBe(2);
    tree.markRootReaped();
    tree.sample();
    expect(wholeReads).toBe(3);
  });
  it('a sample reads all of /proc at least every wholeScanEveryMs: what the lists hide is found, and read by its pid from then on', async () => {
    let wholeReads = 0;
    const now = [proc(1, 0), proc(10, 1), proc(11, 10), proc(12, 11)];
    // The lists hide 12 (as a child that exits while its parent's list is read can).
    const reader = { one: (pid: number) => now.find((p) => p.pid === pid), all: () => (wholeReads++, now), children: (pid: number) => (pid === 10 ? [11] : []) };
    const tree = new ProcessTree(10, reader, 30);
    expect(tree.sample().map((p) => p.pid)).toEqual([10, 11]);
    expect(wholeReads).toBe(0);
    await new Promise((r) => setTimeout(r, 40));
    expect(tree.sample().map((p) => p.pid).sort()).toEqual([10, 11, 12]);
    expect(wholeReads).toBe(1);
    // Seen once, 12 is a member of every later sample, though the lists still hide it.
    expect(tree.sample().map((p) => p.pid).sort()).toEqual([10, 11, 12]);
    expect(wholeReads).toBe(1);
    // With no interval, every sample reads all of /proc.
    const always = new ProcessTree(10, reader, 0);
    always.sample();
    always.sample();
    expect(wholeReads).toBe(3);
  });
  it('on the live /proc, a sample finds what a whole scan finds: children, grandchildren, many threads', async () => {
    const { spawn } = await import('node:child_process');
    // sh starts a subshell that starts two sleeps, and node whose 4th worker thread starts a
    // sleep (so that sleep's parent is that thread, listed in its own children file); then waits.
    const worker = `if(require('node:worker_threads').workerData===3)require('node:child_process').spawn('sleep',['30'],{stdio:'ignore'});setInterval(()=>{},1000)`;
    const node = `const {Worker}=require('node:worker_threads');for(let i=0;i<4;i++)new Worker(${JSON.stringify(worker)},{eval:true,workerData:i});setTimeout(()=>{},30000)`;
    const script = `(sleep 30 & sleep 30 & wait) & "$NODE" -e "$CODE" & echo ready; read x`;
    const root = spawn('/bin/sh', ['-c', script], { stdio: ['pipe', 'pipe', 'ignore'], env: { ...process.env, NODE: process.execPath, CODE: node } });
    const tree = new ProcessTree(root.pid!);
    try {
      await new Promise<void>((resolve) => root.stdout.once('data', () => resolve()));
      const pids = (list: readonly ProcStat[]): number[] => list.map((p) => p.pid).sort((a, b) => a - b);
      let whole: number[] = [];
      let sampled: number[] = [];
      // Until the tree settles (the subshell's sleeps and node's threads start after "ready").
      // A tree of its own for the samples: what a whole scan has seen, a sample would keep.
      for (let i = 0; i < 100; i++) {
        whole = pids(tree.scan());
        const fresh = new ProcessTree(root.pid!, undefined, Number.POSITIVE_INFINITY);
        sampled = pids(fresh.sample());
        const threads = fresh.lastScan().reduce((n, p) => n + p.threads, 0);
        if (whole.length === 6 && threads >= 6 + 4 && whole.join() === sampled.join()) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(whole).toHaveLength(6);
      expect(sampled).toEqual(whole);
    } finally {
      expect(await tree.killAll()).toBe(0);
    }
  }, 20_000);
  it('after the root is reaped, members left only as zombies are found without reading all of /proc (a zombie has no children)', () => {
    const at = (pid: number, ppid: number, start: number, state = 'S'): ProcStat => ({ ...proc(pid, ppid), startTicks: start, state });
    let wholeReads = 0;
    let now: ProcStat[] = [];
    const tree = new ProcessTree(10, { one: (pid) => now.find((p) => p.pid === pid), all: () => (wholeReads++, now) });
    now = [at(1, 0, 1), at(10, 1, 100), at(11, 10, 101), at(12, 11, 102)];
    tree.scan();
    expect(wholeReads).toBe(1);
    tree.markRootReaped();
    now = [at(1, 0, 1), at(11, 1, 101, 'Z')];
    expect(tree.scan().map((p) => [p.pid, p.state])).toEqual([[11, 'Z']]);
    expect(wholeReads).toBe(1);
    expect(tree.killOnce()).toBe(0);
    // A leader in state Z with live threads is not over: its threads' children are read too, and it is signalled.
    now = [at(1, 0, 1), { ...at(11, 1, 101, 'Z'), threads: 3 }, at(14, 11, 104)];
    expect(tree.scan().map((p) => p.pid).sort()).toEqual([11, 14]);
    expect(wholeReads).toBe(2);
    expect(tree.alive().map((p) => p.pid).sort()).toEqual([11, 14]);
    wholeReads = 1;
    // A live member still means a whole read: what it has started since is found.
    now = [at(1, 0, 1), at(11, 1, 101, 'Z'), at(12, 1, 102), at(13, 12, 103)];
    expect(tree.scan().map((p) => p.pid).sort()).toEqual([11, 12, 13]);
    expect(wholeReads).toBe(2);
  });
  it('a real process that outlives the root it was started by is still found and killed after the root is reaped', async () => {
    const { spawn } = await import('node:child_process');
    // The root starts a long sleep and waits for its stdin to close, then exits without waiting for the sleep.
    const root = spawn('/bin/sh', ['-c', 'sleep 30 & echo $!; read x'], { stdio: ['pipe', 'pipe', 'ignore'] });
    const child = Number(await new Promise<string>((resolve) => root.stdout.once('data', (d: Buffer) => resolve(d.toString().trim()))));
    const tree = new ProcessTree(root.pid!);
    expect(tree.scan().map((p) => p.pid).sort()).toEqual([root.pid, child].sort());
    const closed = new Promise((resolve) => root.once('exit', resolve));
    root.stdin.end();
    await closed;
    tree.markRootReaped();
    expect(tree.scan().map((p) => p.pid)).toEqual([child]);
    expect(await tree.killAll()).toBe(0);
    expect(tree.alive()).toEqual([]);
  });
  it('the live /proc of this process parses', async () => {
    const { readStat } = await import('../../src/monitor/proc.js');
    const me = readStat(process.pid);
    expect(me?.pid).toBe(process.pid);
    expect(me?.ppid).toBe(process.ppid);
    expect(me!.threads).toBeGreaterThan(0);
  });
});

describe('one sample of the tree', () => {
  it('folds CPU, RSS, threads and I/O of the whole tree into the peaks', () => {
    const peaks = emptyPeaks();
    const tree = [proc(10, 1, { cpuTicks: 5, threads: 1, rssPages: 100, vsizeBytes: 10 * MiB }), proc(11, 10, { cpuTicks: 120, threads: 5, rssPages: 1000, vsizeBytes: 300 * MiB })];
    const r = evaluateSample(tree, { readBytes: 1000, writeBytes: 500 }, peaks, limits);
    expect(r.breach).toBeUndefined();
    expect(r.anomalies).toEqual([]);
    // vmBytes is the largest single process (RLIMIT_AS is per process), not the sum.
    expect(peaks).toEqual({ cpuMs: 1250, rssBytes: 1100 * 4096, vmBytes: 300 * MiB, threads: 6, processes: 2, readBytes: 1000, writeBytes: 500, samples: 1 });
    // A later, smaller sample does not lower the peaks.
    evaluateSample([proc(10, 1)], { readBytes: 10, writeBytes: 10 }, peaks, limits);
    expect(peaks.threads).toBe(6);
    expect(peaks.samples).toBe(2);
  });
  it('names limits.maxThreads when the tree has more threads than allowed', () => {
    const r = evaluateSample([proc(10, 1, { threads: 3 }), proc(11, 10, { threads: 6 })], { readBytes: 0, writeBytes: 0 }, emptyPeaks(), limits);
    expect(r.breach?.rule).toBe('limits.maxThreads');
    expect(r.breach?.actual).toBe(9);
    expect(r.breach?.limit).toBe(8);
  });
  it('counts every zombie of the tree as one thread, and says how many there were', () => {
    const zombies = [12, 13, 14, 15, 16, 17, 18].map((pid) => proc(pid, 11, { state: 'Z', threads: 0 }));
    const r = evaluateSample([proc(10, 1), proc(11, 10), ...zombies], { readBytes: 0, writeBytes: 0 }, emptyPeaks(), limits);
    expect(r.breach?.rule).toBe('limits.maxThreads');
    expect(r.breach?.actual).toBe(9);
    expect(r.breach?.message).toContain('(7 of them exited processes no one waited for, each holding a pid)');
    expect(evaluateSample([proc(10, 1), ...zombies.slice(0, 7 - 1)], { readBytes: 0, writeBytes: 0 }, emptyPeaks(), limits).breach).toBeUndefined();
  });
  it('a leader in state Z whose threads run on is counted by its threads, not as one zombie', () => {
    // What /proc shows after the first thread of a process calls pthread_exit(): Z, and the
    // thread count of the group (the dead leader included).
    const leader = proc(11, 10, { state: 'Z', threads: 21 });
    expect(defunct(leader)).toBe(false);
    expect(defunct(proc(12, 10, { state: 'Z', threads: 1 }))).toBe(true);
    expect(defunct(proc(13, 10, { threads: 1 }))).toBe(false);
    const r = evaluateSample([proc(10, 1), leader], { readBytes: 0, writeBytes: 0 }, emptyPeaks(), limits);
    expect(r.breach?.rule).toBe('limits.maxThreads');
    expect(r.breach?.actual).toBe(22);
    expect(r.breach?.message).not.toContain('exited processes');
  });
  it('names limits.cpuSeconds when the tree as a whole reaches the CPU limit', () => {
    const l = { ...limits, cpuMs: 2000 };
    expect(evaluateSample([proc(10, 1, { cpuTicks: 150 })], { readBytes: 0, writeBytes: 0 }, emptyPeaks(), l).breach).toBeUndefined();
    const r = evaluateSample([proc(10, 1, { cpuTicks: 120 }), proc(11, 10, { cpuTicks: 90 })], { readBytes: 0, writeBytes: 0 }, emptyPeaks(), l);
    expect(r.breach?.rule).toBe('limits.cpuSeconds');
    expect(r.breach?.limit).toBe(2);
  });
  it('flags a memory spike (warn) near the address-space limit, and kills when the policy says kill', () => {
    const big = [proc(10, 1, { rssPages: Math.ceil((950 * MiB) / 4096) })];
    const warn = evaluateSample(big, { readBytes: 0, writeBytes: 0 }, emptyPeaks(), limits);
    expect(warn.breach).toBeUndefined();
    expect(warn.anomalies.map((a) => [a.kind, a.action])).toEqual([['memory-spike', 'warn']]);
    const kill = evaluateSample(big, { readBytes: 0, writeBytes: 0 }, emptyPeaks(), { ...limits, onMemorySpike: 'kill' });
    expect(kill.breach?.rule).toBe('monitor.memory-spike');
  });
  it('flags a sudden jump of resident memory between two samples', () => {
    const tree = [proc(10, 1, { rssPages: Math.ceil((400 * MiB) / 4096) })];
    const r = evaluateSample(tree, { readBytes: 0, writeBytes: 0 }, emptyPeaks(), limits, { elapsedMs: 400, previousRssBytes: 50 * MiB });
    expect(r.anomalies[0]?.kind).toBe('memory-spike');
    expect(r.anomalies[0]?.message).toMatch(/jumped by 350 MiB/);
    // Steady growth is not a spike.
    expect(evaluateSample(tree, { readBytes: 0, writeBytes: 0 }, emptyPeaks(), limits, { elapsedMs: 400, previousRssBytes: 300 * MiB }).anomalies).toEqual([]);
  });
  it('flags a slow job past factor × baseline × media seconds, and kills only when onSlowJob is kill', () => {
    const baseline: Baseline = { key: 'transcode.mp4', samples: 5, wallMsPerMediaSecond: 500, cpuMsPerMediaSecond: 800 };
    const watch = { baseline, mediaSeconds: 10, factor: 4, action: 'warn' as const };
    expect(slowJobDeadlineMs(watch)).toBe(20_000);
    const tree = [proc(10, 1)];
    expect(evaluateSample(tree, { readBytes: 0, writeBytes: 0 }, emptyPeaks(), { ...limits, slowJob: watch }, { elapsedMs: 19_000, previousRssBytes: 0 }).anomalies).toEqual([]);
    const w = evaluateSample(tree, { readBytes: 0, writeBytes: 0 }, emptyPeaks(), { ...limits, slowJob: watch }, { elapsedMs: 21_000, previousRssBytes: 0 });
    expect(w.anomalies.map((a) => [a.kind, a.action])).toEqual([['slow-job', 'warn']]);
    expect(w.breach).toBeUndefined();
    const k = evaluateSample(tree, { readBytes: 0, writeBytes: 0 }, emptyPeaks(), { ...limits, slowJob: { ...watch, action: 'kill' } }, { elapsedMs: 21_000, previousRssBytes: 0 });
    expect(k.breach?.rule).toBe('monitor.slow-job');
    // Never before the floor, however small the baseline.
    expect(slowJobDeadlineMs({ ...watch, baseline: { ...baseline, wallMsPerMediaSecond: 1 } })).toBe(MIN_SLOW_KILL_MS);
  });
});

describe("ffmpeg's diagnostics", () => {
  it.each([
    ["[tcp @ 0x55] Protocol 'tcp' not on whitelist 'file'!", 'a protocol off the whitelist was requested'],
    ['Failed to resolve hostname evil.example: Name or service not known', 'a network connection was attempted'],
    ['Opening an output file: http://evil.example/x.mp4', 'a network URL appeared in the diagnostics'],
    ["Impossible to open '/etc/passwd'", 'a path outside the sandbox was opened'],
  ])('flags %j', (text, what) => {
    const found = scanDiagnostics(text, 'kill');
    expect(found.map((a) => a.message)).toContain(what);
    expect(found.every((a) => a.kind === 'escape-attempt' && a.action === 'kill')).toBe(true);
  });
  it('stays quiet on an ordinary run', () => {
    expect(scanDiagnostics("[libx264 @ 0x1] using cpu capabilities: MMX2 SSE2\nOutput #0, mp4, to '/job/output.mp4':\n", 'warn')).toEqual([]);
    expect(scanDiagnostics("Impossible to open '/in/input.mp4'", 'warn')).toEqual([]);
  });
});

describe('what an exit status says about the limits', () => {
  const ctx = { cpuMs: 0, cpuLimitMs: 1000, vmPeakBytes: 0, addressSpaceBytes: 1024 * MiB, fileSizeBytes: MiB, fileSizeRule: 'limits.outputMaxMiB' as const };
  const exited = (code: number) => ({ kind: 'exited' as const, code });
  const signaled = (signal: string) => ({ kind: 'signaled' as const, signal });
  it('maps the kernel signals, and names the rule the file-size limit stands for', () => {
    expect(limitFromExit(signaled('SIGXCPU'), ctx)?.rule).toBe('limits.cpuSeconds');
    expect(limitFromExit(signaled('SIGXFSZ'), ctx)).toMatchObject({ rule: 'limits.outputMaxMiB', limit: MiB });
    expect(limitFromExit(signaled('SIGXFSZ'), { ...ctx, fileSizeRule: 'output.maxBytes' })?.rule).toBe('output.maxBytes');
    // As its namespace's init the command cannot die of either by default: such a status is its own exit(152/153).
    expect(limitFromExit(signaled('SIGXCPU'), { ...ctx, init: true })).toBeUndefined();
    expect(limitFromExit(signaled('SIGXFSZ'), { ...ctx, init: true })).toBeUndefined();
  });
  it('reads the address-space limit from measurements and the loader status, never from text', () => {
    expect(limitFromExit(exited(127), ctx)?.rule).toBe('limits.addressSpaceMiB');
    expect(limitFromExit(exited(1), { ...ctx, vmPeakBytes: 1000 * MiB })?.rule).toBe('limits.addressSpaceMiB');
    // An ENOMEM far from the limit (a -max_alloc refusal, a forged line) is ffmpeg's own failure.
    expect(limitFromExit(exited(1), { ...ctx, vmPeakBytes: 200 * MiB })).toBeUndefined();
  });
  it("maps ffmpeg's orderly stop on SIGXCPU (status 255) only when the CPU time was near the limit", () => {
    expect(limitFromExit(exited(255), { ...ctx, cpuMs: 990 })?.rule).toBe('limits.cpuSeconds');
    expect(limitFromExit(exited(255), { ...ctx, cpuMs: 10 })).toBeUndefined();
    expect(limitFromExit(signaled('SIGKILL'), { ...ctx, cpuMs: 2900 })?.rule).toBe('limits.cpuSeconds');
    expect(limitFromExit(signaled('SIGKILL'), { ...ctx, cpuMs: 100 })).toBeUndefined();
  });
  it('does not invent a limit for an ordinary failure, nor for a command that never ran', () => {
    expect(limitFromExit(exited(1), ctx)).toBeUndefined();
    expect(limitFromExit(signaled('SIGSYS'), ctx)).toBeUndefined();
    expect(limitFromExit({ kind: 'not-run' }, ctx)).toBeUndefined();
  });
  it('names the file-size limit from the output size the host reads, when a write past it failed (EFBIG: the command is its namespace init, no SIGXFSZ)', () => {
    expect(limitFromExit(exited(1), { ...ctx, outputBytes: MiB })).toMatchObject({ rule: 'limits.outputMaxMiB', limit: MiB });
    expect(limitFromExit(exited(1), { ...ctx, outputBytes: MiB, fileSizeRule: 'output.maxBytes' })?.rule).toBe('output.maxBytes');
    expect(limitFromExit(exited(1), { ...ctx, outputBytes: MiB - 1 })).toBeUndefined();
    expect(limitFromExit(exited(0), { ...ctx, outputBytes: MiB })).toBeUndefined();
  });
  it('names the task ceiling only when the run shows it was met, and after the address space (a thread stack refused under RLIMIT_AS is EAGAIN too)', () => {
    const tasks = { limit: 64, met: true };
    expect(limitFromExit(exited(1), { ...ctx, tasks })).toMatchObject({ rule: 'limits.maxThreads', limit: 64 });
    expect(limitFromExit(exited(1), { ...ctx, tasks: { limit: 64, met: false } })).toBeUndefined();
    expect(limitFromExit(exited(1), { ...ctx, tasks, vmPeakBytes: 1000 * MiB })?.rule).toBe('limits.addressSpaceMiB');
    expect(limitFromExit(exited(0), { ...ctx, tasks })).toBeUndefined();
  });
  it('prlimit around bwrap gets a CPU soft limit (SIGXCPU) below the hard one (SIGKILL), no core dumps, and no NPROC (it is set inside, per sandbox)', () => {
    const a = buildPrlimitArgs({ addressSpaceBytes: 64 * MiB, cpuSeconds: 7, fileSizeBytes: MiB, openFiles: 32, tasks: 12 });
    expect(a).toEqual([`--as=${64 * MiB}`, `--cpu=7:${7 + CPU_HARD_GRACE_SECONDS}`, `--fsize=${MiB}`, '--nofile=32', '--core=0', '--']);
    expect(a.some((x) => x.startsWith('--nproc') || x === '-u')).toBe(false);
    expect(taskLimitArgs('/usr/bin/prlimit', 12)).toEqual(['/usr/bin/prlimit', '--nproc=12:12', '--']);
  });
});

describe('the learned baseline', () => {
  const key = { operation: 'transcode', target: 'mp4' };
  const line = (event: Record<string, unknown>): string => JSON.stringify({ payload: { seq: 0, event }, signatures: [] });
  const ok = (wallMs: number, cpuMs: number, mediaSeconds: number, baselineKey = 'transcode.mp4'): string =>
    line({ type: 'result', verdict: 'ok', operation: 'transcode', run: { wallMs, peaks: { cpuMs }, mediaSeconds, baselineKey } });

  it('takes the median per media-second of the successful jobs of the same operation and target', () => {
    const lines = [ok(1000, 2000, 10), ok(3000, 6000, 10), ok(200, 400, 1), ok(99_999, 99_999, 1, 'transcode.webm'), line({ type: 'decision' }), 'garbage{', ok(500, 900, 2)];
    const b = baselineFromLines(lines, key);
    expect(b).toEqual({ key: 'transcode.mp4', samples: 4, wallMsPerMediaSecond: 225, cpuMsPerMediaSecond: 425 });
  });
  it('ignores failed jobs and records without the baseline fields', () => {
    const failed = line({ type: 'result', verdict: 'failed', run: { wallMs: 1, peaks: { cpuMs: 1 }, mediaSeconds: 1, baselineKey: 'transcode.mp4' } });
    expect(costFromEvent(JSON.parse(failed).payload.event, key)).toBeUndefined();
    expect(costFromEvent({ type: 'result', verdict: 'ok', run: { wallMs: 1, peaks: { cpuMs: 1 } } }, key)).toBeUndefined();
  });
  it('has no baseline from fewer than the minimum number of records', () => {
    expect(baselineFromLines([ok(1000, 1000, 1), ok(1000, 1000, 1)], key)).toBeUndefined();
  });
  it('uses only the most recent records', () => {
    const old = Array.from({ length: 40 }, () => ok(10_000, 10_000, 1));
    const recent = Array.from({ length: 32 }, () => ok(100, 100, 1));
    expect(baselineFromLines([...old, ...recent], key)?.wallMsPerMediaSecond).toBe(100);
  });
  it('judges a finished job against the baseline', () => {
    const baseline: Baseline = { key: 'transcode.mp4', samples: 5, wallMsPerMediaSecond: 500, cpuMsPerMediaSecond: 800 };
    const w = { baseline, mediaSeconds: 10, factor: 4, action: 'warn' as const };
    expect(judgeFinishedJob(w, { wallMs: 6000, cpuMs: 9000 })).toBeUndefined();
    expect(judgeFinishedJob(w, { wallMs: 6000, cpuMs: 40_000 })?.message).toMatch(/CPU 4000 ms per media-second \(baseline 800\)/);
  });
  it('median', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    expect(median([])).toBeNaN();
  });

  describe('reading the audit log', () => {
    let dir = '';
    afterAll(async () => {
      if (dir) await rm(dir, { recursive: true, force: true });
    });
    it('reads only the tail of a long log, starting at a whole line', async () => {
      dir = await mkdtemp(path.join(os.tmpdir(), 'zt-baseline-'));
      const log = path.join(dir, 'audit.log');
      // Old, slow jobs far back in the log must not count: only the last 256 KiB is read.
      const filler = line({ type: 'decision', pad: 'x'.repeat(1000) }) + '\n';
      await writeFile(log, Array.from({ length: 10 }, () => ok(50_000, 50_000, 1)).join('\n') + '\n');
      await appendFile(log, filler.repeat(Math.ceil((BASELINE_TAIL_BYTES * 1.5) / filler.length)));
      await appendFile(log, [ok(300, 500, 1), ok(300, 500, 1), ok(300, 500, 1)].join('\n') + '\n');
      const b = await readBaseline(log, key);
      expect(b?.samples).toBe(3);
      expect(b?.wallMsPerMediaSecond).toBe(300);
      expect(await readBaseline(path.join(dir, 'missing.log'), key)).toBeUndefined();
    });
  });
});

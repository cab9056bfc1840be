/**
 * Reading the process tree from /proc. bwrap's outer process does not pass the sandboxed
 * tree's CPU time and memory back to its parent, so the monitor looks at every descendant.
 */
import { readdirSync, readFileSync } from 'node:fs';

export interface ProcStat {
  readonly pid: number;
  readonly ppid: number;
  /** utime+stime+cutime+cstime in clock ticks. */
  readonly cpuTicks: number;
  readonly threads: number;
  readonly rssPages: number;
  readonly state: string;
}

/** Pure: parse the content of /proc/PID/stat (the comm field may contain spaces and parens). */
export function parseStat(text: string): ProcStat | undefined {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < 0) return undefined;
  const pid = Number(text.slice(0, open).trim());
  const f = text.slice(close + 2).split(' ');
  // f[0] is field 3 (state); field N is f[N-3].
  const num = (n: number): number => Number(f[n - 3] ?? 0);
  return {
    pid,
    state: f[0] ?? '?',
    ppid: num(4),
    cpuTicks: num(14) + num(15) + num(16) + num(17),
    threads: num(20),
    rssPages: num(24),
  };
}

export function readAllStats(): ProcStat[] {
  const out: ProcStat[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return out;
  }
  for (const e of entries) {
    if (e.charCodeAt(0) < 48 || e.charCodeAt(0) > 57) continue;
    try {
      const s = parseStat(readFileSync(`/proc/${e}/stat`, 'utf8'));
      if (s) out.push(s);
    } catch {
      /* exited meanwhile */
    }
  }
  return out;
}

/** Pure: the root and all its descendants among the given processes. */
export function descendants(root: number, all: readonly ProcStat[]): ProcStat[] {
  const byParent = new Map<number, ProcStat[]>();
  for (const p of all) {
    const list = byParent.get(p.ppid);
    if (list) list.push(p);
    else byParent.set(p.ppid, [p]);
  }
  const out: ProcStat[] = [];
  const self = all.find((p) => p.pid === root);
  if (self) out.push(self);
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.shift()!;
    for (const c of byParent.get(pid) ?? []) {
      out.push(c);
      queue.push(c.pid);
    }
  }
  return out;
}

export interface ProcIo {
  readonly readBytes: number;
  readonly writeBytes: number;
}

export function readIo(pid: number): ProcIo | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/io`, 'utf8');
    const get = (k: string): number => Number(/^(\w+): (\d+)$/m.test(text) ? (new RegExp(`^${k}: (\\d+)$`, 'm').exec(text)?.[1] ?? 0) : 0);
    return { readBytes: get('rchar'), writeBytes: get('wchar') };
  } catch {
    return undefined;
  }
}

/** SIGKILL every process of the tree, leaves first; returns how many were signalled. */
export function killTree(root: number): number {
  const tree = descendants(root, readAllStats()).reverse();
  for (const p of tree) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  return tree.length;
}

export const CLOCK_TICKS = 100;
export const PAGE_SIZE = 4096;

/**
 * Reading and ending the sandboxed process tree through /proc.
 *
 * Two facts shape this file. bwrap's outer process does not pass the sandboxed tree's CPU time
 * and memory back to its parent (a parent's rusage shows almost nothing), so the monitor looks
 * at every descendant. And `bwrap --new-session` puts the command in a session (and process
 * group) of its own, so signalling the process group of the child we spawned does not reach
 * ffmpeg: the kill path walks the tree by parent pid and signals every member, and remembers
 * every process it has ever seen in the tree (pid + start time, so a recycled pid is never
 * signalled) in case a middle process dies and its children are re-parented away.
 */
import { closeSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { monotonicMs } from '../util/clock.js';

export interface ProcStat {
  readonly pid: number;
  readonly ppid: number;
  /** utime+stime+cutime+cstime in clock ticks. */
  readonly cpuTicks: number;
  readonly threads: number;
  readonly rssPages: number;
  /** Virtual memory size in bytes (what RLIMIT_AS bounds). */
  readonly vsizeBytes: number;
  readonly state: string;
  /** Start time after boot in clock ticks: with pid, identifies a process across pid reuse. */
  readonly startTicks: number;
}

/**
 * Pure: whether a process has exited entirely and waits only to be reaped (a zombie holding its
 * pid). State Z alone does not say so: a thread-group leader that calls pthread_exit() shows Z
 * while the group's other threads run on, start processes (their parent pid is the leader's)
 * and take signals; /proc/PID/stat's thread count then still counts them and the dead leader.
 * Only Z with a count of one (the leader alone) is a process that is over.
 */
export function defunct(p: Pick<ProcStat, 'state' | 'threads'>): boolean {
  return p.state === 'Z' && p.threads <= 1;
}

/** Pure: parse the content of /proc/PID/stat (the comm field may contain spaces and parens). */
export function parseStat(text: string): ProcStat | undefined {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < 0) return undefined;
  const pid = Number(text.slice(0, open).trim());
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  const f = text.slice(close + 2).split(' ');
  // f[0] is field 3 (state); field N is f[N-3].
  const num = (n: number): number => {
    const v = Number(f[n - 3] ?? 0);
    return Number.isFinite(v) ? v : 0;
  };
  return {
    pid,
    state: f[0] ?? '?',
    ppid: num(4),
    cpuTicks: num(14) + num(15) + num(16) + num(17),
    threads: num(20),
    startTicks: num(22),
    vsizeBytes: num(23),
    rssPages: num(24),
  };
}

/**
 * One small /proc file as text, through one reused buffer (a sample reads every process's stat:
 * readFileSync's fstat and fresh buffer per file were most of the monitor's cost). Latin-1: the
 * only non-ASCII bytes these files can hold are in a process's name, which nothing here reads.
 */
const procBuffer = Buffer.allocUnsafe(16 * 1024);

function readProcText(file: string): string | undefined {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return undefined;
  }
  try {
    const n = readSync(fd, procBuffer, 0, procBuffer.length, 0);
    return procBuffer.toString('latin1', 0, n);
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/**
 * A process whose first thread has exited (state Z, more than one thread: see defunct()) shows no
 * memory in its own stat: the dead leader has no address space any more. The group's memory is
 * read from one of its live threads instead (they all share it).
 */
function liveThreadMemory(pid: number): Pick<ProcStat, 'rssPages' | 'vsizeBytes'> | undefined {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return undefined;
  }
  for (const tid of tids) {
    if (tid === String(pid)) continue;
    const text = readProcText(`/proc/${pid}/task/${tid}/stat`);
    const t = text === undefined ? undefined : parseStat(text);
    if (t && t.state !== 'Z' && t.state !== 'X') return { rssPages: t.rssPages, vsizeBytes: t.vsizeBytes };
  }
  return undefined;
}

export function readStat(pid: number): ProcStat | undefined {
  const text = readProcText(`/proc/${pid}/stat`);
  const s = text === undefined ? undefined : parseStat(text);
  if (s === undefined || s.state !== 'Z' || defunct(s)) return s;
  const memory = liveThreadMemory(pid);
  return memory ? { ...s, ...memory } : s;
}

/** Whether this kernel has children lists (CONFIG_PROC_CHILDREN); read once. */
let childrenLists: boolean | undefined;

function hasChildrenLists(): boolean {
  childrenLists ??= readProcText(`/proc/${process.pid}/task/${process.pid}/children`) !== undefined;
  return childrenLists;
}

/** Pure: the pids of a children list ("12 345 " : each pid followed by a space, no newline). */
export function parseChildrenList(text: string): number[] {
  const pids: number[] = [];
  for (const w of text.split(/\s+/)) {
    if (w === '') continue;
    const pid = Number(w);
    if (Number.isInteger(pid) && pid > 0) pids.push(pid);
  }
  return pids;
}

/** Whether a /proc read failed because the process or thread is gone (not for want of access or descriptors). */
function goneError(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ESRCH';
}

/**
 * A children list read whole (a large tree's list can outgrow one buffer): its pids; [] when
 * the thread is gone; undefined when it cannot be read (then the caller cannot tell).
 */
function readChildrenList(file: string): number[] | undefined {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (e) {
    return goneError(e) ? [] : undefined;
  }
  let text = '';
  try {
    for (let pos = 0; ; ) {
      const n = readSync(fd, procBuffer, 0, procBuffer.length, pos);
      if (n === 0) break;
      pos += n;
      text += procBuffer.toString('latin1', 0, n);
    }
  } catch (e) {
    return goneError(e) ? [] : undefined;
  } finally {
    closeSync(fd);
  }
  return parseChildrenList(text);
}

/**
 * The children of a process: those of each of its threads (a child's parent is the thread that
 * started it). A process gone has none; undefined when the kernel keeps no such lists or one
 * cannot be read (the caller then reads all of /proc).
 */
export function readChildren(pid: number, threads: number): number[] | undefined {
  if (!hasChildrenLists()) return undefined;
  let tids: string[];
  if (threads <= 1) tids = [String(pid)];
  else {
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch (e) {
      return goneError(e) ? [] : undefined;
    }
  }
  const out: number[] = [];
  for (const tid of tids) {
    const list = readChildrenList(`/proc/${pid}/task/${tid}/children`);
    if (list === undefined) return undefined;
    for (const child of list) out.push(child);
  }
  return out;
}

/** Whether a process is gone: its /proc directory no longer exists (a failed read alone does not say so). */
export function processGone(pid: number): boolean {
  try {
    statSync(`/proc/${pid}`);
    return false;
  } catch (e) {
    return goneError(e);
  }
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
    const s = readStat(Number(e));
    if (s) out.push(s);
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
  const visited = new Set<number>([root]);
  while (queue.length > 0) {
    const pid = queue.shift()!;
    for (const c of byParent.get(pid) ?? []) {
      if (visited.has(c.pid)) continue;
      visited.add(c.pid);
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

/** Pure: rchar/wchar from the content of /proc/PID/io. */
export function parseIo(text: string): ProcIo {
  const get = (k: string): number => Number(new RegExp(`^${k}:\\s*(\\d+)$`, 'm').exec(text)?.[1] ?? 0);
  return { readBytes: get('rchar'), writeBytes: get('wchar') };
}

export function readIo(pid: number): ProcIo | undefined {
  const text = readProcText(`/proc/${pid}/io`);
  return text === undefined ? undefined : parseIo(text);
}

/**
 * The members of one sandboxed tree: the live descendants of the root, plus every process
 * seen in the tree before that is still alive (same pid and start time) even if it has been
 * re-parented out of it.
 */
/** How a tree reads /proc: one process, or all of them (tests give their own). */
export interface ProcReader {
  one(pid: number): ProcStat | undefined;
  all(): ProcStat[];
  /** The children of a process (its stat gives the thread count); undefined: cannot tell (no such lists here, or unreadable). */
  children?(pid: number, threads: number): number[] | undefined;
  /** Whether a process no longer exists (not merely unreadable). */
  gone?(pid: number): boolean;
}

const LIVE_PROC: ProcReader = { one: readStat, all: readAllStats, children: readChildren, gone: processGone };

export class ProcessTree {
  private readonly seen = new Map<number, number>();
  private last: readonly ProcStat[] = [];
  private rootReaped = false;
  /** When sample() last read all of /proc (monotonic ms): the clock starts with the tree. */
  private lastWholeScan = monotonicMs();
  constructor(
    readonly root: number,
    private readonly proc: ProcReader = LIVE_PROC,
    /** How long sample() may go on the children lists before it reads all of /proc again (see there). */
    private readonly wholeScanEveryMs = WHOLE_SCAN_EVERY_MS,
  ) {}

  /**
   * The root has been waited for. Its pid is free for reuse from now on, so it no longer names
   * the tree: only processes seen in it before (pid and start time) are members, with whatever
   * they have started since.
   */
  markRootReaped(): void {
    this.rootReaped = true;
  }

  /** Live members now (zombies included: they hold a pid each until reaped). */
  scan(all?: readonly ProcStat[]): ProcStat[] {
    const members = this.rootReaped ? this.survivors(all) : this.scanOf(all ?? this.proc.all());
    this.last = members;
    return members;
  }

  /**
   * The members for one of the monitor's samples, found along the tree's own children lists
   * (/proc/PID/task/TID/children) instead of by reading every process of the host: a sample then
   * costs what the tree is, not what the host runs (a 2-process ffmpeg tree of 22 threads: 0.28 ms
   * of CPU, where a read of all of /proc took 1.45 ms with 70 processes on the host and 19 ms with
   * 1,070; 5 times a second for the whole job). The kernel does not promise those lists are
   * exact while processes start and end (one that exits while a list is read can hide a sibling,
   * and a tree that makes processes die on purpose could try to hide one that way), so:
   * - the first sample once `wholeScanEveryMs` (2 s) have passed since the last whole read reads
   *   all of /proc as scan() does (so at most 2 s + one sampling interval apart); a member seen
   *   once is read by its pid in every later sample, wherever it is in the lists, so nothing
   *   stays out of the counts longer than that;
   * - the kill path (killOnce, alive, killAll) always reads all of /proc;
   * - meanwhile the kernel's own ceilings (RLIMIT_NPROC, RLIMIT_AS, RLIMIT_CPU per process) hold.
   * Members seen earlier and now outside the tree are still members (read one by one, with what
   * they started); one surely dead (pid reused, or gone from /proc) is forgotten. Without children lists, or once the root is reaped, this is scan().
   */
  sample(): ProcStat[] {
    const children = this.proc.children?.bind(this.proc);
    const now = monotonicMs();
    const whole = this.rootReaped || now - this.lastWholeScan >= this.wholeScanEveryMs;
    const members = whole || children === undefined ? undefined : this.walkOrGiveUp(children);
    if (members === undefined) {
      this.lastWholeScan = now;
      return this.scan();
    }
    this.last = members;
    return members;
  }

  /** walk(), or undefined (a whole scan instead) if anything in it throws: a sample never fails for the lists. */
  private walkOrGiveUp(children: (pid: number, threads: number) => number[] | undefined): ProcStat[] | undefined {
    try {
      return this.walk(children);
    } catch {
      return undefined;
    }
  }

  /** The tree from the root and every seen member outside it, by children lists; undefined: cannot tell (full scan). */
  private walk(children: (pid: number, threads: number) => number[] | undefined): ProcStat[] | undefined {
    const root = this.proc.one(this.root);
    if (root === undefined) return undefined;
    const members = new Map<number, ProcStat>();
    const from = (top: ProcStat): boolean => {
      members.set(top.pid, top);
      const queue = [top];
      while (queue.length > 0) {
        const p = queue.shift()!;
        const kids = children(p.pid, p.threads);
        if (kids === undefined) return false;
        for (const kid of kids) {
          if (members.has(kid)) continue;
          const s = this.proc.one(kid);
          // Gone since the list was read, or its pid already another's (not p's child): not ours.
          if (s === undefined || s.ppid !== p.pid) continue;
          members.set(kid, s);
          queue.push(s);
        }
      }
      return true;
    };
    if (!from(root)) return undefined;
    for (const [pid, start] of this.seen) {
      if (members.has(pid)) continue;
      const s = this.proc.one(pid);
      // Forgotten only when surely dead: its pid now another's, or gone from /proc. A read that
      // fails otherwise (no descriptor left, say) keeps it for the kill path's whole scans.
      if (s === undefined || s.startTicks !== start) {
        if (s !== undefined || this.proc.gone?.(pid) === true) this.seen.delete(pid);
        continue;
      }
      if (!from(s)) return undefined;
    }
    for (const p of members.values()) this.seen.set(p.pid, p.startTicks);
    return [...members.values()];
  }

  /**
   * After the root is reaped: the members seen before that are still alive, each read on its
   * own (nothing else of /proc, the common case: none is left), and their descendants.
   */
  private survivors(all: readonly ProcStat[] | undefined): ProcStat[] {
    const alive: ProcStat[] = [];
    for (const [pid, start] of this.seen) {
      if (pid === this.root) continue;
      const s = all ? all.find((p) => p.pid === pid) : this.proc.one(pid);
      if (s && s.startTicks === start) alive.push(s);
    }
    if (alive.length === 0) return [];
    // Only exited processes not yet waited for: a process gives its children to a reaper before
    // it is over, so a defunct one has no descendants and nothing else of /proc is read. (A leader
    // in state Z whose threads run on is not defunct: its children are read as usual.)
    if (alive.every(defunct)) return alive;
    const everyone = all ?? this.proc.all();
    const members = new Map<number, ProcStat>();
    for (const a of alive) {
      // Read again in this snapshot: a member that died (and whose pid was taken) since its own
      // read roots another process's subtree now, which is skipped whole.
      const now = everyone.find((p) => p.pid === a.pid);
      if (now === undefined || now.startTicks !== a.startTicks) continue;
      for (const p of descendants(a.pid, everyone)) members.set(p.pid, p);
    }
    for (const p of members.values()) if (!this.seen.has(p.pid)) this.seen.set(p.pid, p.startTicks);
    return [...members.values()];
  }

  /** The members found by the latest scan (another sampler of the same tick reads these instead of scanning again). */
  lastScan(): readonly ProcStat[] {
    return this.last;
  }

  private scanOf(all: readonly ProcStat[]): ProcStat[] {
    const members = descendants(this.root, all);
    const inTree = new Set(members.map((p) => p.pid));
    for (const p of members) this.seen.set(p.pid, p.startTicks);
    for (const p of all) {
      if (inTree.has(p.pid)) continue;
      if (this.seen.get(p.pid) === p.startTicks) members.push(p);
    }
    return members;
  }

  /** SIGKILL every live member, leaves first; returns how many were signalled. */
  killOnce(): number {
    if (!this.rootReaped) this.stopRoot();
    // A leader in state Z with live threads is signalled: the signal reaches its whole group.
    const members = this.scan().filter((p) => !defunct(p));
    // Descendants come after their parents in scan order: reverse to kill leaves first.
    for (const p of members.reverse()) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        /* gone, or not ours */
      }
    }
    return members.length;
  }

  /**
   * Stop the root (SIGSTOP) and wait, briefly, until it is stopped, so that the scan that follows
   * sees every child it will ever have. bwrap's process inside the sandbox arms its death signal
   * only once the sandbox is built: a root killed before that orphans it, and if the scan had not
   * seen it yet (it was made between the scan and the kill), nothing here knew of it and it ran
   * its command on, unwatched. A cancel right after the spawn did exactly that, 9 times in 15 on
   * a 2-core machine. A stopped root makes nothing more; SIGKILL ends it stopped. Only called
   * while the root is not reaped, so its pid is still ours. A root not stopped within the wait
   * (a clone stuck under load) is scanned and killed anyway: the old race, no worse.
   */
  private stopRoot(): void {
    try {
      process.kill(this.root, 'SIGSTOP');
    } catch {
      return; // gone (not reaped yet: a zombie has no children to make)
    }
    const deadline = monotonicMs() + STOP_WAIT_MS;
    for (;;) {
      const s = this.proc.one(this.root);
      if (s === undefined || s.startTicks !== (this.seen.get(this.root) ?? s.startTicks) || /^[TtZX]/.test(s.state)) return;
      if (monotonicMs() >= deadline) return;
      Atomics.wait(STOP_POLL, 0, 0, 1);
    }
  }

  /** Members still running (not defunct). */
  alive(): ProcStat[] {
    return this.scan().filter((p) => !defunct(p));
  }

  /**
   * Kill until nothing of the tree runs any more (a process may fork between the scan and the
   * signal), waiting up to `timeoutMs`. Returns how many members are still alive at the end.
   */
  async killAll(timeoutMs = 2000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const n = this.killOnce();
      if (n === 0) return 0;
      if (Date.now() >= deadline) return this.alive().length;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

/** The longest a monitored tree goes without a read of all of /proc (ProcessTree.sample). */
export const WHOLE_SCAN_EVERY_MS = 2000;

/** How long a kill waits for the root to be stopped (a kill path is rare; this bounds a stuck one). */
const STOP_WAIT_MS = 50;
/** Sleeps of the kill path's wait for the stop (Atomics.wait on a cell nobody writes). */
const STOP_POLL = new Int32Array(new SharedArrayBuffer(4));

export const CLOCK_TICKS = 100;
export const PAGE_SIZE = 4096;

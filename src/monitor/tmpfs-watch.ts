/**
 * The sandbox's writable tmpfs mounts (/tmp, /dev/shm) are size-bounded by the kernel, so
 * filling one cannot hurt the host. But a tree that fills one to its bound has breached
 * sandbox.tmpfsMiB, and a job that did so is killed for it and refused (exit 5) rather than
 * allowed to carry on as if nothing happened. The mounts live in the sandbox's own mount
 * namespace: the host reads them through /proc/PID/root of a process inside (one the monitor's
 * latest scan found: this watch runs beside it, src/sandbox/supervise.ts).
 */
import { statfs } from 'node:fs/promises';
import type { Breach } from './monitor.js';
import type { ProcessTree } from './proc.js';

/** Where the sandbox may write, as seen from inside it. */
export const SANDBOX_TMPFS = ['/tmp', '/dev/shm'] as const;

/** Pure: a mount is full when no block is left for the sandbox. */
export function tmpfsFull(s: { bavail: number; blocks: number }): boolean {
  return s.blocks > 0 && s.bavail === 0;
}

export function watchTmpfs(tree: ProcessTree, limitBytes: number, sampleMs: number, onBreach: (b: Breach) => void): { stop(): void } {
  let stopped = false;
  let busy = false;
  const mib = Math.round(limitBytes / 1048576);
  const sample = async (): Promise<void> => {
    // Any process but the outer bwrap (which stays in the host's mount namespace) is inside. The
    // monitor scans the tree at the same rate: its latest scan is used, not another one.
    const inside = tree.lastScan().find((p) => p.pid !== tree.root && p.state !== 'Z');
    if (!inside || busy) return;
    busy = true;
    try {
      for (const m of SANDBOX_TMPFS) {
        const s = await statfs(`/proc/${inside.pid}/root${m}`).catch(() => undefined);
        if (stopped || !s || !tmpfsFull(s)) continue;
        stopped = true;
        onBreach({ rule: 'sandbox.tmpfsMiB', actual: `${m} full`, limit: `${mib} MiB`, message: `the sandbox filled ${m} to its bound of ${mib} MiB` });
        return;
      }
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void sample(), sampleMs);
  timer.unref();
  return {
    stop(): void {
      stopped = true;
      clearInterval(timer);
    },
  };
}

/**
 * What the host looks like around a job, for tests that assume a breach: the last audit record,
 * what a directory holds, which processes carry a marker, and a wait that only bounds (never
 * times) what it waits for.
 */
import { readdir, readFile } from 'node:fs/promises';

/** The event of the last record of an audit log. */
export async function lastRecord(log: string): Promise<Record<string, unknown>> {
  const lines = (await readFile(log, 'utf8')).trim().split('\n');
  const last = lines[lines.length - 1] ?? '{}';
  return (JSON.parse(last) as { payload: { event: Record<string, unknown> } }).payload.event;
}

/**
 * Every complete record event of an audit log. A job may be appending while this reads: the
 * writer's one write(2) can be seen half-copied, so a last line without its newline is a record
 * in flight, not yet a record, and is left out.
 */
export async function allRecords(log: string): Promise<Array<Record<string, unknown>>> {
  const text = await readFile(log, 'utf8').catch(() => '');
  const complete = text.slice(0, text.lastIndexOf('\n') + 1);
  return complete.split('\n').filter((l) => l !== '').map((l) => (JSON.parse(l) as { payload: { event: Record<string, unknown> } }).payload.event);
}

/** Pids of live processes whose command line contains `marker`. */
export async function processesWith(marker: string): Promise<number[]> {
  const out: number[] = [];
  for (const e of await readdir('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    const cmd = await readFile(`/proc/${e}/cmdline`, 'utf8').catch(() => '');
    if (cmd.includes(marker)) {
      const stat = await readFile(`/proc/${e}/stat`, 'utf8').catch(() => '');
      if (!/\) Z /.test(stat)) out.push(Number(e));
    }
  }
  return out;
}

/** Poll until `cond` holds or `ms` pass; returns whether it held. */
export async function eventually(cond: () => Promise<boolean>, ms = 30_000, every = 20): Promise<boolean> {
  const end = Date.now() + ms;
  for (;;) {
    if (await cond()) return true;
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, every));
  }
}

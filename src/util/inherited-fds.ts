/**
 * Descriptors a process inherits without close-on-exec are inherited again by every child it
 * spawns: prlimit, bwrap and, through them, the sandboxed ffmpeg (neither closes what it did not
 * open). A CI runner, a shell (`exec 3>secret`) or a supervisor that leaks one would hand a
 * compromised ffmpeg a host file or pipe. Node opens everything it opens with O_CLOEXEC, so any
 * descriptor above stderr without that flag was inherited: the CLI closes them before it does
 * anything else. (A library caller's process is its own: what it leaks is documented.)
 */
import { closeSync, readdirSync, readFileSync } from 'node:fs';

const O_CLOEXEC = 0o2000000;

/** Pure: whether fdinfo's `flags:` line (octal) lacks O_CLOEXEC. */
export function inheritsAcrossExec(fdinfo: string): boolean {
  const m = /^flags:\s+([0-7]+)\s*$/m.exec(fdinfo);
  return m?.[1] !== undefined && (parseInt(m[1], 8) & O_CLOEXEC) === 0;
}

/** Descriptors above 2 that every child process would inherit. */
export function inheritedDescriptors(): number[] {
  const out: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc/self/fd');
  } catch {
    return out;
  }
  for (const e of entries) {
    const fd = Number(e);
    if (!Number.isInteger(fd) || fd <= 2) continue;
    try {
      if (inheritsAcrossExec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))) out.push(fd);
    } catch {
      /* the directory's own descriptor, gone by now */
    }
  }
  return out;
}

/** Close every descriptor the process inherited beyond stdio; returns their numbers. */
export function closeInheritedDescriptors(): number[] {
  const fds = inheritedDescriptors();
  for (const fd of fds) {
    try {
      closeSync(fd);
    } catch {
      /* already closed */
    }
  }
  return fds;
}

/**
 * Who the sandboxed processes are on the host. bubblewrap maps the sandbox's uid 65534 to the
 * uid that runs bwrap, so when zt-ffmpeg runs as root (containers, CI) the sandbox would be host
 * root: without any capability it could still write host-global sysctls under /proc/sys (owner
 * checks there are by host uid) and own whatever it leaves. So as root the sandbox runs as a
 * dedicated unprivileged host user (setup.sh creates `zt-ffmpeg`; the policy may name another),
 * never uid or gid 0, and refuses to run when that user does not exist. As anyone else the
 * sandbox runs as the caller, who is already unprivileged.
 */
import { readFile } from 'node:fs/promises';
import { ZtError } from '../errors.js';

export const DEFAULT_SANDBOX_USER = 'zt-ffmpeg';

export interface SandboxIdentity {
  /** Host uid and gid of every sandboxed process. */
  readonly uid: number;
  readonly gid: number;
  /** The user name it was resolved from (the caller's uid as a string when not dropped). */
  readonly user: string;
  /** True when the sandbox runs as a dedicated user rather than as the caller (root callers). */
  readonly dropped: boolean;
}

/** Pure: name → uid/gid from the text of /etc/passwd. */
export function parsePasswd(text: string): Map<string, { uid: number; gid: number }> {
  const out = new Map<string, { uid: number; gid: number }>();
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f.length < 4 || f[0] === undefined || f[0] === '' || f[0].startsWith('#')) continue;
    const uid = Number(f[2]);
    const gid = Number(f[3]);
    if (Number.isInteger(uid) && Number.isInteger(gid)) out.set(f[0], { uid, gid });
  }
  return out;
}

/** Pure: the identity for a caller, given the passwd entries and the policy's `sandbox.user`. */
export function sandboxIdentityFor(caller: { uid: number; gid: number }, user: string, passwd: ReadonlyMap<string, { uid: number; gid: number }>): SandboxIdentity {
  if (caller.uid !== 0) return { uid: caller.uid, gid: caller.gid, user: String(caller.uid), dropped: false };
  const numeric = /^[0-9]+$/.test(user) ? Number(user) : undefined;
  const entry = numeric !== undefined ? [...passwd.values()].find((e) => e.uid === numeric) ?? { uid: numeric, gid: numeric } : passwd.get(user);
  if (entry === undefined) {
    throw new ZtError('sandbox-unavailable', `the sandbox user "${user}" does not exist, and zt-ffmpeg never runs the sandbox as root`, {
      hint: `run ./setup.sh as root, or: useradd --system --no-create-home --shell /usr/sbin/nologin --user-group ${user}`,
      details: { sandboxUser: user },
    });
  }
  if (entry.uid === 0 || entry.gid === 0) {
    throw new ZtError('sandbox-unavailable', `the sandbox user "${user}" is uid ${entry.uid} gid ${entry.gid}; the sandbox never runs with uid or gid 0`, {
      hint: 'name a dedicated unprivileged user in sandbox.user (default zt-ffmpeg)',
      details: { sandboxUser: user, uid: entry.uid, gid: entry.gid },
    });
  }
  return { uid: entry.uid, gid: entry.gid, user, dropped: true };
}

export async function resolveSandboxIdentity(user: string | undefined): Promise<SandboxIdentity> {
  const caller = { uid: process.geteuid?.() ?? 0, gid: process.getegid?.() ?? 0 };
  if (caller.uid !== 0) return sandboxIdentityFor(caller, user ?? DEFAULT_SANDBOX_USER, new Map());
  const passwd = parsePasswd(await readFile('/etc/passwd', 'utf8').catch(() => ''));
  return sandboxIdentityFor(caller, user ?? DEFAULT_SANDBOX_USER, passwd);
}

/** Pure: whether `id` has permission `bit` (4 read, 1 search) on a file, from its owner and mode. */
export function permits(st: { uid: number; gid: number; mode: number }, id: { uid: number; gid: number }, bit: 4 | 1): boolean {
  if (st.uid === id.uid) return (st.mode & (bit << 6)) !== 0;
  if (st.gid === id.gid) return (st.mode & (bit << 3)) !== 0;
  return (st.mode & bit) !== 0;
}

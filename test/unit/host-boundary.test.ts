/**
 * Pure parts of the host side of the boundary: the escaping of untrusted strings, the
 * StrictModes verdict, the trust-root verdict, the sandbox identity, policy names, the flock
 * holder parser, exit codes of interrupted jobs.
 */
import { describe, it, expect } from 'vitest';
import { githubData, githubProperty, printable, printableLines, printableValue } from '../../src/util/printable.js';
import { replaceableBy } from '../../src/util/strict-modes.js';
import { trustRootProblem } from '../../src/keys/trust-root.js';
import { parsePasswd, permits, sandboxIdentityFor } from '../../src/sandbox/identity.js';
import { resolvePolicyPath, BUNDLED_DIR } from '../../src/policy/load.js';
import { devParts, parseFlockHolders } from '../../src/util/flock.js';
import { exitCodeOf, interruptedFailure } from '../../src/job/failure.js';
import { dotDotRefusal } from '../../src/publish/destination.js';
import { tmpfsFull } from '../../src/monitor/tmpfs-watch.js';
import { ZtError } from '../../src/errors.js';

describe('printable', () => {
  it('makes control characters, bidi controls and line separators visible, and leaves the rest', () => {
    expect(printable('clip\u001b[2K\r\u2713 done forged\n.mp4')).toBe('clip\\e[2K\\r\u2713 done forged\\n.mp4');
    expect(printable('a\u0000b\u007fc\u009bd')).toBe('a\\x00b\\x7fc\\x9bd');
    expect(printable('x\u202eevil\u2066\u2028')).toBe('x\\u{202e}evil\\u{2066}\\u{2028}');
    expect(printable('café — ünïcode ✓ 日本')).toBe('café — ünïcode ✓ 日本');
    expect(printableValue({ a: 'b\u001b' })).toBe('{"a":"b\\u001b"}');
    expect(printableLines('one\ntwo\u001b')).toEqual(['one', 'two\\e']);
  });
  it('GitHub annotations: pieces made inert, then encoded', () => {
    expect(githubData(['x\r\u001b[31m', '50%'])).toBe('x\\r\\e[31m%0A50%25');
    expect(githubProperty('a:b,c\n')).toBe('a%3Ab%2Cc\\n');
  });
});

describe('StrictModes', () => {
  const caller = 1000;
  it('refuses what another user owns or can write without the sticky bit; accepts root\'s /tmp', () => {
    expect(replaceableBy({ uid: 0, mode: 0o041777, symlink: false }, caller)).toBeUndefined();
    expect(replaceableBy({ uid: caller, mode: 0o040755, symlink: false }, caller)).toBeUndefined();
    expect(replaceableBy({ uid: 0, mode: 0o040777, symlink: false }, caller)).toBe('writable by group and others without the sticky bit');
    expect(replaceableBy({ uid: 0, mode: 0o040775, symlink: false }, caller)).toBe('writable by group without the sticky bit');
    expect(replaceableBy({ uid: 65534, mode: 0o041777, symlink: false }, caller)).toBe('owned by uid 65534');
    expect(replaceableBy({ uid: 65534, mode: 0o120777, symlink: true }, caller)).toBe('a symbolic link owned by uid 65534');
    expect(replaceableBy({ uid: 0, mode: 0o120777, symlink: true }, caller)).toBeUndefined();
  });
  it('trust roots: regular, owned by root or the caller, not writable by others; secrets 0600', () => {
    const f = (uid: number, mode: number): { uid: number; mode: number; isFile(): boolean } => ({ uid, mode: 0o100000 | mode, isFile: () => true });
    expect(trustRootProblem(f(0, 0o644), caller, false)).toBeUndefined();
    expect(trustRootProblem(f(caller, 0o600), caller, true)).toBeUndefined();
    expect(trustRootProblem(f(65534, 0o600), caller, true)).toBe('owned by uid 65534 (uid 65534, mode 0600)');
    expect(trustRootProblem(f(0, 0o664), caller, false)).toMatch(/writable by group/);
    expect(trustRootProblem(f(caller, 0o640), caller, true)).toMatch(/expected 0600/);
    expect(trustRootProblem({ uid: 0, mode: 0o040755, isFile: () => false }, caller, false)).toBe('not a regular file');
  });
  it('an output path with ".." is refused at advanced and optimal, with the path to use', () => {
    expect(dotDotRefusal('out/../x.mp4', 'initial')).toBeUndefined();
    const e = dotDotRefusal('/srv/out/../x.mp4', 'advanced');
    expect(e?.exitCode).toBe(2);
    expect(e?.hint).toBe('name it without "..": -o /srv/x.mp4');
    expect(dotDotRefusal('/srv/..x/y..mp4', 'optimal')).toBeUndefined();
  });
});

describe('the sandbox identity', () => {
  const passwd = parsePasswd('root:x:0:0:root:/root:/bin/bash\nzt-ffmpeg:x:999:995::/nonexistent:/usr/sbin/nologin\ntoor:x:0:5::/:/bin/sh\n# comment\n');
  it('a root caller runs the sandbox as the dedicated user, never as uid or gid 0', () => {
    expect(sandboxIdentityFor({ uid: 0, gid: 0 }, 'zt-ffmpeg', passwd)).toEqual({ uid: 999, gid: 995, user: 'zt-ffmpeg', dropped: true });
    expect(() => sandboxIdentityFor({ uid: 0, gid: 0 }, 'missing', passwd)).toThrow(/does not exist, and zt-ffmpeg never runs the sandbox as root/);
    expect(() => sandboxIdentityFor({ uid: 0, gid: 0 }, 'toor', passwd)).toThrow(/never runs with uid or gid 0/);
    expect(sandboxIdentityFor({ uid: 0, gid: 0 }, '4242', passwd)).toMatchObject({ uid: 4242, gid: 4242, dropped: true });
  });
  it('anyone else runs it as themselves', () => {
    expect(sandboxIdentityFor({ uid: 1000, gid: 1000 }, 'zt-ffmpeg', passwd)).toEqual({ uid: 1000, gid: 1000, user: '1000', dropped: false });
  });
  it('permission bits by owner, group, others', () => {
    const id = { uid: 999, gid: 995 };
    expect(permits({ uid: 0, gid: 0, mode: 0o600 }, id, 4)).toBe(false);
    expect(permits({ uid: 0, gid: 0, mode: 0o644 }, id, 4)).toBe(true);
    expect(permits({ uid: 0, gid: 995, mode: 0o640 }, id, 4)).toBe(true);
    expect(permits({ uid: 0, gid: 0, mode: 0o700 }, id, 1)).toBe(false);
    expect(permits({ uid: 0, gid: 0, mode: 0o711 }, id, 1)).toBe(true);
  });
});

describe('-p NAME', () => {
  it('a stage name is the bundled policy; a path is a file; anything else is refused', () => {
    expect(resolvePolicyPath('optimal')).toEqual({ path: `${BUNDLED_DIR}/optimal.yaml`, bundled: true });
    expect(resolvePolicyPath(undefined).bundled).toBe(true);
    expect(resolvePolicyPath('./optimal').bundled).toBe(false);
    expect(resolvePolicyPath('mine.yaml').bundled).toBe(false);
    expect(resolvePolicyPath('conf/mine').bundled).toBe(false);
    expect(() => resolvePolicyPath('mine')).toThrow(ZtError);
  });
});

describe('kernel locks', () => {
  it('names the holders of a FLOCK on a file from /proc/locks (not its waiters, not POSIX locks)', () => {
    const dev = 0xfe00; // major 254, minor 0
    expect(devParts(dev)).toEqual({ major: 254, minor: 0 });
    const text = [
      '1: POSIX  ADVISORY  WRITE 11184 fe:00:1234 0 EOF',
      '2: FLOCK  ADVISORY  WRITE 2149 fe:00:1234 0 EOF',
      '2: -> FLOCK  ADVISORY  WRITE 3000 fe:00:1234 0 EOF',
      '3: FLOCK  ADVISORY  WRITE 77 fe:01:1234 0 EOF',
    ].join('\n');
    expect(parseFlockHolders(text, dev, 1234)).toEqual([2149]);
  });
});

describe('interrupted jobs', () => {
  it('exit 128 + the signal', () => {
    expect(exitCodeOf(interruptedFailure('SIGINT'))).toBe(130);
    expect(exitCodeOf(interruptedFailure('SIGTERM'))).toBe(143);
    expect(exitCodeOf(interruptedFailure('SIGHUP'))).toBe(129);
  });
  it('a full sandbox tmpfs is one with no block left', () => {
    expect(tmpfsFull({ blocks: 4096, bavail: 0 })).toBe(true);
    expect(tmpfsFull({ blocks: 4096, bavail: 1 })).toBe(false);
  });
});

describe('descriptors inherited across exec', () => {
  it('reads O_CLOEXEC from fdinfo: only descriptors without it would reach a child', async () => {
    const { inheritsAcrossExec } = await import('../../src/util/inherited-fds.js');
    expect(inheritsAcrossExec('pos:\t0\nflags:\t02100000\nmnt_id:\t25\n')).toBe(false);
    expect(inheritsAcrossExec('pos:\t0\nflags:\t0100000\nmnt_id:\t25\n')).toBe(true);
    expect(inheritsAcrossExec('garbage')).toBe(false);
  });
});

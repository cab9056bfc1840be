/** Maps a failed file-system call on the audit trail to an actionable ZtError. */
import { ZtError } from '../errors.js';

const HINTS: Readonly<Record<string, string>> = {
  EACCES: 'make the directory writable by this user, or point --audit-log / ZT_FFMPEG_AUDIT_LOG at a writable path',
  EPERM: 'make the directory writable by this user, or point --audit-log / ZT_FFMPEG_AUDIT_LOG at a writable path',
  EROFS: 'the file system is read-only; point --audit-log / ZT_FFMPEG_AUDIT_LOG at a writable file system',
  ENOSPC: 'the disk is full; free space or point --audit-log / ZT_FFMPEG_AUDIT_LOG at a disk with room',
  EDQUOT: 'the disk quota is exhausted; free space or raise the quota',
  ENOTDIR: 'a component of the path is not a directory; fix --audit-log / ZT_FFMPEG_AUDIT_LOG',
  ELOOP: 'the audit log must not be a symbolic link; point --audit-log at the real file',
  EISDIR: 'the audit log path is a directory; point --audit-log at a file',
  EIO: 'the storage reported an I/O error; check the disk',
};

export function errnoOf(e: unknown): string {
  if (typeof e === 'object' && e !== null && 'code' in e && typeof (e as { code: unknown }).code === 'string') {
    return (e as { code: string }).code;
  }
  return 'EUNKNOWN';
}

/** "cannot <action> <path>: <ERRNO>" as a fail-closed 'audit-unavailable' error. */
export function auditUnavailable(action: string, path: string, e: unknown): ZtError {
  if (e instanceof ZtError) return e;
  const code = errnoOf(e);
  const detail = e instanceof Error ? e.message : String(e);
  return new ZtError('audit-unavailable', `cannot ${action} ${path}: ${code} (${detail}); the job is not run without its audit record`, {
    hint: HINTS[code] ?? 'check that the audit log path is a writable regular file on a healthy disk',
    cause: e,
    details: { path, errno: code, action },
  });
}

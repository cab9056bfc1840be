/**
 * The first look at an input, before any parser sees it: it must be a regular file (not a
 * symlink, FIFO, device, socket or directory), not empty, not over the size limit. The file
 * is opened once, without following a final symlink and without blocking on a FIFO; the same
 * descriptor is hashed, sniffed and later bound into the sandbox, so the bytes that were
 * validated are the bytes that are decoded.
 */
import { chmod, open, lstat, mkdtemp, readdir, readlink, rm, stat, type FileHandle } from 'node:fs/promises';
import { createHash, randomBytes } from 'node:crypto';
import os from 'node:os';
import { constants, type Stats } from 'node:fs';
import path from 'node:path';
import { ZtError, type Violation } from '../errors.js';
import { chunksOf } from '../util/hash.js';
import { flockExclusive } from '../util/flock.js';
import { openDirNoFollow } from '../util/open-dir.js';
import { startSeal, type ContentSeal } from '../util/seal.js';

export interface OpenedInput {
  readonly path: string;
  readonly handle: FileHandle;
  readonly stat: Stats;
  readonly extension: string;
  /** Close the handle (and remove the private copy, when the input was staged). */
  close(): Promise<void>;
}

export interface FileIdentity {
  readonly dev: number;
  readonly ino: number;
  readonly size: number;
  readonly mtimeMs: number;
  readonly ctimeMs: number;
}

export function identityOf(st: Stats): FileIdentity {
  return { dev: st.dev, ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs };
}

export function sameIdentity(a: FileIdentity, b: FileIdentity): boolean {
  return a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs;
}

function kindOf(st: Stats): string {
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isFIFO()) return 'fifo';
  if (st.isCharacterDevice()) return 'character device';
  if (st.isBlockDevice()) return 'block device';
  if (st.isSocket()) return 'socket';
  if (st.isDirectory()) return 'directory';
  return 'regular file';
}

function notRegular(file: string, kind: string): ZtError {
  const v: Violation = {
    rule: 'input.regular-file',
    actual: kind,
    limit: 'regular file',
    message: `${file} is a ${kind}, not a regular file`,
    hint: kind === 'symlink' ? 'pass the real file path, not a symbolic link' : 'pass a regular media file',
  };
  return new ZtError('input-refused', `input refused: ${v.message}`, { hint: v.hint, violations: [v] });
}

/** Open the input safely and check what kind of file it is and how big. */
export async function openInput(file: string, maxBytes: number): Promise<OpenedInput> {
  let lst: Stats;
  try {
    lst = await lstat(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const v: Violation = { rule: 'input.exists', actual: code ?? 'error', limit: 'an existing readable file', message: `cannot read ${file}: ${code}`, hint: 'check the path given with -i' };
    throw new ZtError('input-refused', `input refused: ${v.message}`, { hint: v.hint, violations: [v] });
  }
  if (!lst.isFile()) throw notRegular(file, kindOf(lst));
  let handle: FileHandle;
  try {
    handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') throw notRegular(file, 'symlink');
    const v: Violation = { rule: 'input.exists', actual: code ?? 'error', limit: 'a readable file', message: `cannot open ${file}: ${code}`, hint: 'check the path and its permissions' };
    throw new ZtError('input-refused', `input refused: ${v.message}`, { hint: v.hint, violations: [v] });
  }
  const st = await handle.stat();
  if (!st.isFile() || st.ino !== lst.ino || st.dev !== lst.dev) {
    await handle.close();
    throw notRegular(file, st.isFile() ? 'file swapped while opening' : kindOf(st));
  }
  const violations: Violation[] = [];
  if (st.size === 0) {
    violations.push({ rule: 'input.empty', actual: 0, limit: '> 0 bytes', message: `${file} is empty`, hint: 'pass a file with media in it' });
  }
  if (st.size > maxBytes) {
    violations.push({ rule: 'input.maxBytes', actual: st.size, limit: maxBytes, message: `${file} is ${st.size} bytes, over the limit of ${maxBytes}`, hint: 'use a smaller file or a policy with a larger input.maxBytes' });
  }
  if (violations.length > 0) {
    await handle.close();
    throw new ZtError('input-refused', `input refused: ${violations.map((v) => v.message).join('; ')}`, { hint: violations[0]?.hint, violations });
  }
  return { path: path.resolve(file), handle, stat: st, extension: path.extname(file).slice(1).toLowerCase(), close: () => handle.close() };
}

const COPY_PREFIX = 'zt-ffmpeg-input-';
/** A copy directory younger than this is never swept (its job may not have locked it yet). */
export const STALE_COPY_MS = 60_000;

/**
 * Remove the private copies that jobs killed outright (SIGKILL: no clean-up ran) left in `tmp`:
 * directories named like ours, ours (owner), real directories, a minute old, whose flock nobody
 * holds (a live job holds its copy's; a pid would not do: jobs in other PID namespaces share
 * TMPDIR). Only where no one else can swap an entry: `tmp` not writable by others, or sticky.
 * Best effort: anything unexpected is left as it is. Returns how many were removed.
 */
export async function sweepStaleCopies(tmp: string): Promise<number> {
  const me = process.geteuid?.() ?? 0;
  const t = await stat(tmp).catch(() => undefined);
  if (!t || ((t.mode & 0o002) !== 0 && (t.mode & 0o1000) === 0)) return 0;
  const names = await readdir(tmp).catch(() => [] as string[]);
  let removed = 0;
  for (const name of names) {
    if (!name.startsWith(COPY_PREFIX)) continue;
    const where = path.join(tmp, name);
    const handle = await openDirNoFollow(where).catch(() => undefined);
    if (!handle) continue; // a link, a file, or gone
    try {
      const st = await handle.stat();
      const named = await lstat(where).catch(() => undefined);
      if (st.uid !== me || named?.ino !== st.ino || named.dev !== st.dev) continue;
      // A copy being made has its flock within milliseconds: only an old directory can be stale.
      if (Date.now() - st.mtimeMs < STALE_COPY_MS) continue;
      if (!(await flockExclusive(handle.fd, 0))) continue; // its job is alive
      await rm(where, { recursive: true, force: true });
      removed++;
    } catch {
      /* best effort: leave it */
    } finally {
      await handle.close().catch(() => undefined);
    }
  }
  return removed;
}

/**
 * A private copy of an input the sandbox's uid cannot reach (a root caller's 0600 file, or one
 * under a 0700 directory: bubblewrap binds a descriptor by re-resolving its path as the sandbox
 * user, then checks it got the same inode). It lies in a directory others may pass through but
 * not list (0711), under a random name, so only whoever is handed the name finds it. Everything
 * after this (hash, magic, probe, decode, the unchanged check) reads the copy, so the bytes
 * validated are the bytes processed. Copied from the descriptor that was checked.
 */
export async function stagePrivateCopy(input: OpenedInput): Promise<OpenedInput> {
  await sweepStaleCopies(os.tmpdir());
  const dir = await mkdtemp(path.join(os.tmpdir(), COPY_PREFIX));
  // Held (flocked) for as long as the copy lives: how a later sweep tells a dead job's copy.
  let held: FileHandle | undefined;
  const release = async (): Promise<void> => {
    await rm(dir, { recursive: true, force: true });
    await held?.close().catch(() => undefined);
  };
  try {
    held = await openDirNoFollow(dir);
    if (!(await flockExclusive(held.fd, 0))) throw Object.assign(new Error(`${dir} is locked by another process`), { code: 'EBUSY' });
    await chmod(dir, 0o711);
    const copy = await open(path.join(dir, randomBytes(16).toString('hex')), constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o444);
    try {
      for await (const { data, pos } of chunksOf(input.handle)) {
        // A write may be short (a full TMPDIR): write the rest, or fail; never a shorter copy.
        for (let done = 0; done < data.length; ) {
          const { bytesWritten } = await copy.write(data, done, data.length - done, pos + done);
          if (bytesWritten === 0) throw Object.assign(new Error('no space left for the private copy'), { code: 'ENOSPC' });
          done += bytesWritten;
        }
      }
      await copy.chmod(0o444);
      const st = await copy.stat();
      if (st.size !== input.stat.size) {
        throw new ZtError('input-refused', `input refused: the private copy of ${input.path} has ${st.size} of its ${input.stat.size} bytes`, {
          hint: 'the input changed while it was copied; do not modify files while zt-ffmpeg processes them',
          violations: [{ rule: 'input.unchanged', actual: st.size, limit: input.stat.size, message: 'the private copy does not hold every byte of the input that was checked' }],
        });
      }
      await input.close();
      return { path: input.path, handle: copy, stat: st, extension: input.extension, close: async () => { await copy.close(); await release(); } };
    } catch (e) {
      await copy.close();
      throw e;
    }
  } catch (e) {
    await release();
    if (e instanceof ZtError) throw e;
    const code = (e as NodeJS.ErrnoException).code ?? 'error';
    throw new ZtError('sandbox-unavailable', `cannot make the private copy of ${input.path} that the sandbox user reads: ${code}`, {
      hint: `the sandbox user cannot reach the input, so it is copied to ${os.tmpdir()}: free space there, set TMPDIR to a roomier directory, or make the input readable by the sandbox user`,
      cause: e,
    });
  }
}

/**
 * Byte strings that begin a playlist or a demuxer script. Found anywhere inside a media file,
 * they are a smuggled playlist: harmless to a pinned demuxer, but exactly what a probing one
 * (or a nested one: AVI GAB2 subtitles, HLS in a data stream) would follow to a local file or
 * a URL. Matched case-sensitively, as the demuxers match them.
 */
export const EMBEDDED_MARKERS: readonly string[] = ['#EXTM3U', '#EXT-X-', '#EXTINF:', 'ffconcat version'];

export interface EmbeddedMarker {
  readonly marker: string;
  /** Byte offset of the first occurrence. */
  readonly offset: number;
}

export interface ContentDigest {
  readonly sha256: string;
  readonly bytes: number;
  /** The first bytes of the file, for magic-byte detection. */
  readonly head: Buffer;
  /** Playlist and script markers found anywhere in the file (first occurrence of each). */
  readonly markers: readonly EmbeddedMarker[];
  /** The keyed seal of the same bytes (src/util/seal.ts): how the job later proves they did not change. */
  readonly seal: ContentSeal;
}

const HEAD_BYTES = 256 * 1024;

/** Pure: markers in `chunk`, which starts at file offset `base`; `carry` is the tail of the previous chunk. */
export function findMarkers(chunk: Buffer, base: number, carry: Buffer, seen: Map<string, number>): void {
  // A marker split across the chunk boundary: the carried tail plus this chunk's first bytes.
  // (No copy of the whole chunk: this runs on every MiB of every input.)
  if (carry.length > 0) scan(Buffer.concat([carry, chunk.subarray(0, CARRY)]), base - carry.length, seen, CARRY + carry.length);
  scan(chunk, base, seen, chunk.length);
}

/**
 * Each marker's first occurrence in `buf` before `limit`. A prefix shared by several markers
 * ("#EXT") is searched first; only from its first hit on is each marker searched for whole,
 * with one indexOf each: bytes full of near misses ("ffcoffco…") cost no work per hit. The
 * prefixes are shorter than 7 bytes: V8 finds a short needle with memchr and a longer one with
 * Boyer-Moore-Horspool, which is 3-4 times slower on media bytes (100 MB of H.264: 17 ms for
 * "ffco", 59 ms for "ffconcat version"), so the whole markers are searched only where a prefix is.
 */
function scan(buf: Buffer, start: number, seen: Map<string, number>, limit: number): void {
  for (const prefix of MARKER_PREFIXES) {
    const wanted = EMBEDDED_MARKERS.filter((m) => m.startsWith(prefix) && !seen.has(m));
    if (wanted.length === 0) continue;
    const first = buf.indexOf(prefix, 0, 'latin1');
    if (first < 0 || first >= limit) continue;
    for (const m of wanted) {
      const at = buf.indexOf(m, first, 'latin1');
      if (at >= 0 && at < limit) seen.set(m, start + at);
    }
  }
}

const MARKER_PREFIXES = ['#EXT', 'ffco'];

const CARRY = Math.max(...EMBEDDED_MARKERS.map((m) => m.length)) - 1;

/**
 * One streaming pass over the descriptor: sha256 of everything, the head kept, markers found,
 * the seal made. All four come from the same reads, so they describe the same bytes even if
 * the file changed under the pass (and the seal then fails the later check).
 */
export async function digestInput(handle: FileHandle, expectedSize: number): Promise<ContentDigest> {
  const hash = createHash('sha256');
  const seal = startSeal();
  const head = Buffer.alloc(Math.min(HEAD_BYTES, expectedSize));
  const seen = new Map<string, number>();
  let carry = Buffer.alloc(0);
  let bytes = 0;
  // chunksOf reuses its buffers: the head and the carried tail are copies.
  for await (const { data, pos } of chunksOf(handle)) {
    if (pos < head.length) data.copy(head, pos, 0, Math.min(data.length, head.length - pos));
    hash.update(data);
    seal.update(data);
    if (seen.size < EMBEDDED_MARKERS.length) {
      findMarkers(data, pos, carry, seen);
      // The last CARRY bytes seen, also when a read returned fewer than CARRY bytes (a short
      // read: a marker can then span three reads).
      carry = Buffer.from(data.length >= CARRY ? data.subarray(data.length - CARRY) : Buffer.concat([carry, data]).subarray(-CARRY));
    }
    bytes = pos + data.length;
  }
  const markers = [...seen.entries()].map(([marker, offset]) => ({ marker, offset })).sort((a, b) => a.offset - b.offset);
  return { sha256: hash.digest('hex'), bytes, head, markers, seal: seal.finish() };
}

/**
 * Whether a user can open this descriptor's file by the path the kernel reports for it (what
 * bubblewrap does): search permission on every directory on the way, read permission on it.
 */
export async function reachableBy(handle: FileHandle, id: { uid: number; gid: number }, canRead: (st: Stats) => boolean, canSearch: (st: Stats) => boolean): Promise<boolean> {
  const where = await readlink(`/proc/self/fd/${handle.fd}`).catch(() => '');
  if (!where.startsWith('/') || where.endsWith(' (deleted)')) return false;
  const dirs: string[] = [];
  for (let d = path.dirname(where); ; d = path.dirname(d)) {
    dirs.push(d);
    if (d === '/') break;
  }
  // All at once: one round trip to the thread pool instead of one per directory.
  const [file, ...ancestors] = await Promise.all([handle.stat(), ...dirs.map((d) => stat(d).catch(() => undefined))]);
  return canRead(file) && ancestors.every((st) => st !== undefined && canSearch(st));
}

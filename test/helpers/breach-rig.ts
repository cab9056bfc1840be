/**
 * The breach rig (tests only): a stand-in for a compromised ffmpeg. It is a root-owned script
 * that the test policy names as its ffmpeg (posture.binaries.ffmpeg.path), so posture checks,
 * pins and binds it like the real one. It runs the real /usr/bin/ffmpeg with the arguments it
 * was given and then, only in the sandboxed transcode (its output is the inherited descriptor
 * /proc/self/fd/4), misbehaves as an exploited decoder would. On the host (version and option
 * listings) it is the real ffmpeg and nothing more.
 *
 * What it tries is what the red team did. When an attempt is prevented, the rig says so on
 * stderr ("rig: MODE: prevented: …") and exits 70, so the test can read what the kernel told it
 * from the result record; when it believes it succeeded it exits 0, as an attacker would.
 */
import { chmod, mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

export type RigMode = 'symlink' | 'fifo' | 'directory' | 'hardlink' | 'fill-output' | 'fill-shm' | 'sysctl' | 'children' | 'stderr-flood' | 'hold' | 'honest' | 'fds' | 'grow-mdat' | 'cover-art';

/** Shell for each mode; $out is the descriptor path, $host the output's host path (from readlink). */
const MODES: Readonly<Record<RigMode, string>> = {
  // Replace the output by a link to a root-only file, at its host path (the sandbox has no such path).
  symlink: `rm -f "$host" 2>&3 && ln -s "$SECRET" "$host" 2>&3 && exit 0; prevented`,
  fifo: `rm -f "$host" 2>&3 && mkfifo "$host" 2>&3 && exit 0; prevented`,
  directory: `rm -f "$host" 2>&3 && mkdir "$host" 2>&3 && exit 0; prevented`,
  // A second name for the output: in its own directory, or anywhere writable.
  hardlink: `ln -L "$out" "$(dirname "$host")/stolen" 2>&3 && exit 0; ln -L "$out" /tmp/stolen 2>&3 && exit 0; ln "$SECRET" "$host.2" 2>&3 && exit 0; prevented`,
  // 301 files of 1 MiB beside the output, then the output itself past the limit.
  'fill-output': `i=0; while [ $i -lt 301 ]; do head -c 1048576 /dev/zero > "$(dirname "$host")/fill.$i" 2>&3 || break; i=$((i+1)); done; echo "rig: fill-output: $i files written beside the output" >&2; cat /dev/zero >> "$out"; exit 0`,
  // 400 files of 1 MiB (each under RLIMIT_FSIZE), then stay, as a job still working would.
  'fill-shm': `i=0; while [ $i -lt 400 ] && head -c 1048576 /dev/zero > /dev/shm/fill.$i 2>&3; do i=$((i+1)); done; echo "rig: fill-shm: $i MiB written" >&2; sleep 5; exit 0`,
  // A host-global sysctl, written back with its own value (harmless if it ever worked).
  sysctl: `v=$(cat /proc/sys/kernel/core_pattern 2>&3) && printf '%s\\n' "$v" > /proc/sys/kernel/core_pattern 2>&3 && { echo "rig: sysctl: WRITTEN" >&2; exit 0; }; prevented`,
  // A child that outlives ffmpeg and writes into the output once the host has looked at it.
  children: `setsid sh -c 'trap "" TERM HUP INT; sleep 1; echo EVIL >> /proc/self/fd/4; while :; do sleep 1; done' "$MARKER" < /dev/null > /dev/null 2>&1 & sleep 0.2; exit 0`,
  'stderr-flood': `head -c 83886080 /dev/zero | tr '\\000' A >&2; exit 0`,
  hold: `sleep 4; exit 0`,
  // Every descriptor the sandboxed process holds, and where each leads: a leaked host file or pipe is a way out.
  fds: `for f in /proc/self/fd/*; do printf 'rig: fd %s -> %s\\n' "\${f##*/}" "$(readlink "$f")" >&2; done; exit 70`,
  honest: `exit 0`,
  // A payload hidden inside the media data: appended after the last box (faststart: mdat), and
  // mdat's size patched to cover it, so the file is still perfectly framed box by box.
  'grow-mdat': `p=/proc/self/fd/4
off=$(grep -obUa mdat "$p" 2>&3 | head -n1 | cut -d: -f1); [ -n "$off" ] || prevented
at=$((off - 4)); size=$(od -An -tu4 --endian=big -j$at -N4 "$p" 2>&3 | tr -d ' '); [ -n "$size" ] || prevented
pay='#!/bin/sh echo owned; '; n=0; while [ $n -lt 50 ]; do printf '%s' "$pay" >> "$p" || prevented; n=$((n + 1)); done
new=$((size + 50 * \${#pay}))
printf "$(printf '\\%03o\\%03o\\%03o\\%03o' $((new >> 24 & 255)) $((new >> 16 & 255)) $((new >> 8 & 255)) $((new & 255)))" | dd of="$p" bs=1 seek=$at conv=notrunc 2>&3 && { echo "rig: grow-mdat: mdat grown from $size to $new bytes" >&2; exit 0; }; prevented`,
  // A picture the operation never promised: the audio output rewritten as an MP3 with cover art
  // (an ID3v2 APIC frame, which ffmpeg and players expose as a video stream).
  'cover-art': `/usr/bin/ffmpeg -hide_banner -loglevel error -nostdin -y -f lavfi -i sine=d=1 -f lavfi -i testsrc2=s=64x64:d=1 -map 0:a -map 1:v -frames:v 1 -c:a libmp3lame -c:v mjpeg -disposition:v attached_pic -id3v2_version 3 -f mp3 "$out" 2>&3 && { echo "rig: cover-art: written" >&2; exit 0; }; prevented`,
};

const SCRIPT = (mode: RigMode, marker: string, secret: string): string => `#!/bin/sh
# zt-ffmpeg breach rig (tests only): the real ffmpeg, then "${mode}". ${marker}
out=
for a in "$@"; do out=$a; done
/usr/bin/ffmpeg "$@"; rc=$?
[ "$out" = /proc/self/fd/4 ] || exit $rc
[ $rc -eq 0 ] || exit $rc
host=$(readlink /proc/self/fd/4)
SECRET='${secret}'
MARKER='${marker}'
errs=$(mktemp 2>/dev/null || echo /dev/null)
exec 3>>"$errs"
prevented() { echo "rig: ${mode}: prevented: $(tr '\\n' ' ' < "$errs")" >&2; exit 70; }
${MODES[mode]}
`;

export interface Rig {
  /** The rig's path: root-owned, 0755, in a directory the sandbox user can reach (bwrap binds it from there). */
  readonly path: string;
  /** Appears in the rig's command lines and its children's, to find them in /proc. */
  readonly marker: string;
}

/** Write a rig for `mode`. `secret` is a root-only file the rig tries to get published. */
export async function makeRig(mode: RigMode, secret = '/etc/shadow'): Promise<Rig> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'zt-rig-'));
  await chmod(dir, 0o755);
  const marker = `zt-breach-${path.basename(dir).slice(7)}-${mode}`;
  const file = path.join(dir, 'ffmpeg');
  await writeFile(file, SCRIPT(mode, marker, secret), { mode: 0o755 });
  await chmod(file, 0o755);
  return { path: file, marker };
}

/** A policy that extends a bundled stage with the rig as its ffmpeg (and the given overrides, as YAML lines). */
export function rigPolicy(rig: Rig, extra = ''): string {
  return `# test policy: the breach rig stands in for ffmpeg
extends: advanced
# Another ffmpeg than the bundled stage pins cannot be ordered against it: say so.
allowLoosening: true
posture:
  binaries:
    ffmpeg: { path: ${rig.path} }
sandbox:
  tmpfsMiB: 16
limits:
  outputMaxMiB: 2
${extra}`;
}

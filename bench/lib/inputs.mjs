/**
 * Benchmark inputs, generated with ffmpeg's lavfi sources and cached in .tmp/bench-inputs/ under
 * a name keyed by the generating arguments and the ffmpeg version (so a changed recipe or
 * ffmpeg makes a new file). Written to a temporary name and renamed, so an interrupted
 * generation never leaves a truncated input behind.
 */
import { createHash } from 'node:crypto';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { timedRun, failureOf } from './proc.mjs';

const FFMPEG = '/usr/bin/ffmpeg';
const ENV = { PATH: '/usr/bin:/bin' };

const video = (size, seconds) => ['-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=25:duration=${seconds}`];
const audio = (seconds) => ['-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${seconds}`];
const h264aac = (preset) => ['-c:v', 'libx264', '-preset', preset, '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-ac', '2', '-b:a', '128k', '-shortest', '-f', 'mp4'];

/** name → { ext, steps: [[args…, OUT]] , describe }. `{SEG}` is the previous step's output. */
export const RECIPES = {
  '1s-320x240': { ext: 'mp4', describe: '1 s 320x240 25 fps h264 (veryfast) + aac stereo, mp4', steps: [[...video('320x240', 1), ...audio(1), ...h264aac('veryfast')]] },
  '10s-720p': { ext: 'mp4', describe: '10 s 1280x720 25 fps h264 (veryfast) + aac stereo, mp4', steps: [[...video('1280x720', 10), ...audio(10), ...h264aac('veryfast')]] },
  '60s-1080p': { ext: 'mp4', describe: '60 s 1920x1080 25 fps h264 (ultrafast) + aac stereo, mp4', steps: [[...video('1920x1080', 60), ...audio(60), ...h264aac('ultrafast')]] },
  '30s-wav': { ext: 'wav', describe: '30 s 48 kHz stereo pcm_s16le, wav', steps: [[...audio(30), '-ac', '2', '-c:a', 'pcm_s16le', '-f', 'wav']] },
  // ~1 GiB fast: 4 s of lossless 1080p h264 (≈14 MB), stream-copied in a loop until -fs.
  '1gib': {
    ext: 'mp4',
    describe: '≈1 GiB: 4 s of lossless (qp 0) 1080p h264 + aac looped by stream copy (≈300 s, ≈28 Mbit/s), mp4',
    steps: [
      [...video('1920x1080', 4), ...audio(4), '-c:v', 'libx264', '-preset', 'ultrafast', '-qp', '0', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-ac', '2', '-shortest', '-f', 'mp4'],
      ['-stream_loop', '-1', '-i', '{SEG}', '-c', 'copy', '-fs', String(1024 * 1024 * 1024), '-f', 'mp4'],
    ],
  },
};

async function exists(p) {
  try {
    return (await stat(p)).isFile();
  } catch {
    return false;
  }
}

/**
 * The cached input for `name`, generating it if missing. Returns { path, bytes, generatedMs,
 * cached, describe }. Throws (with ffmpeg's stderr tail) when generation fails.
 */
export async function ensureInput(cacheDir, name, ffmpegVersion, log) {
  const r = RECIPES[name];
  if (!r) throw new Error(`no input recipe ${name}`);
  const key = createHash('sha256').update(JSON.stringify({ steps: r.steps, ffmpegVersion })).digest('hex').slice(0, 12);
  const final = path.join(cacheDir, `${name}-${key}.${r.ext}`);
  await mkdir(cacheDir, { recursive: true });
  if (await exists(final)) return { path: final, bytes: (await stat(final)).size, generatedMs: 0, cached: true, describe: r.describe };
  log(`generating input ${name}: ${r.describe}`);
  const t0 = performance.now();
  let prev;
  const temps = [];
  try {
    for (let i = 0; i < r.steps.length; i++) {
      const out = path.join(cacheDir, `.${name}-${key}.${process.pid}.step${i}.${r.ext}`);
      temps.push(out);
      const args = ['-hide_banner', '-loglevel', 'error', '-nostdin', '-y', ...r.steps[i].map((a) => (a === '{SEG}' ? prev : a)), out];
      const res = await timedRun(FFMPEG, args, { env: ENV, timeoutMs: 900_000 });
      const why = failureOf(res, `generating ${name}`);
      if (why) throw new Error(why);
      prev = out;
    }
    await rename(prev, final);
  } finally {
    for (const t of temps) await rm(t, { force: true });
  }
  return { path: final, bytes: (await stat(final)).size, generatedMs: performance.now() - t0, cached: false, describe: r.describe };
}

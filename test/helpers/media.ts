/**
 * Test media, generated at test time with ffmpeg's lavfi sources (never downloaded), or written
 * byte by byte.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';

export function ffmpeg(args: readonly string[], timeoutMs = 60_000): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('/usr/bin/ffmpeg', ['-hide_banner', '-loglevel', 'error', '-nostdin', '-y', ...args], { timeout: timeoutMs, killSignal: 'SIGKILL', env: { PATH: '/usr/bin' } }, (err, _o, stderr) => {
      if (err) reject(new Error(`ffmpeg ${args.join(' ')} failed: ${stderr}`));
      else resolve();
    });
  });
}

export function ffprobeJson(file: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    execFile('/usr/bin/ffprobe', ['-v', 'error', '-show_format', '-show_streams', '-of', 'json', file], { timeout: 30_000, killSignal: 'SIGKILL', env: { PATH: '/usr/bin' } }, (err, stdout, stderr) => {
      if (err) reject(new Error(`ffprobe ${file} failed: ${stderr}`));
      else resolve(JSON.parse(stdout) as Record<string, unknown>);
    });
  });
}

const V = (size: string, d: number, rate = 25): string[] => ['-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=${rate}:duration=${d}`];
const A = (d: number): string[] => ['-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${d}`];

/** The benign samples: name → ffmpeg arguments that make it (output path appended). */
export const SAMPLES: Readonly<Record<string, readonly string[]>> = {
  'h264-aac.mp4': [...V('320x240', 1), ...A(1), '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest'],
  'h264-aac.mov': [...V('320x240', 1), ...A(1), '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest'],
  'h264-opus.mkv': [...V('320x240', 1), ...A(1), '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'libopus', '-shortest'],
  'vp9-opus.webm': [...V('320x240', 1), ...A(1), '-c:v', 'libvpx-vp9', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '200k', '-c:a', 'libopus', '-shortest'],
  'tone.mp3': [...A(1), '-c:a', 'libmp3lame'],
  'tone.aac': [...A(1), '-c:a', 'aac', '-f', 'adts'],
  'tone.wav': [...A(1), '-c:a', 'pcm_s16le'],
  'tone.flac': [...A(1), '-c:a', 'flac'],
  'tone.ogg': [...A(1), '-c:a', 'libvorbis'],
  'tone.opus': [...A(1), '-c:a', 'libopus'],
  'frame.png': [...V('320x240', 1), '-frames:v', '1', '-update', '1'],
  'frame.jpg': [...V('320x240', 1), '-frames:v', '1', '-update', '1', '-q:v', '3'],
};

export async function makeSample(dir: string, name: keyof typeof SAMPLES | string): Promise<string> {
  const args = SAMPLES[name];
  if (!args) throw new Error(`no sample ${name}`);
  const out = path.join(dir, name);
  await ffmpeg([...args, out]);
  return out;
}

/**
 * Host-side parsers under hostile inputs (issue 17), measured in this process with the compiled
 * library in dist/: each figure is the median wall time of a few runs of the parser on an input
 * built to be as slow as the format allows.
 *
 *  - the structure walks on 16 MiB of the densest framing each container allows (8-byte boxes,
 *    2-byte EBML Voids, 8-byte RIFF chunks, 2-byte JPEG restart markers, 24-byte MP3 frames,
 *    12-byte PNG chunks, one FLAC frame checked by its CRC), and on 16 MiB of JPEG fill bytes;
 *  - the policy loader on 5,000 unknown keys;
 *  - the audit line reader on one 256 MiB line.
 */
import { mkdir, open, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { median } from './stats.mjs';

const MiB = 1 << 20;

function repeat(prefix, unit, total) {
  const n = Math.floor((total - prefix.length) / unit.length);
  const b = Buffer.alloc(prefix.length + n * unit.length);
  prefix.copy(b);
  for (let i = 0; i < n; i++) unit.copy(b, prefix.length + i * unit.length);
  return b;
}

function flacFrameHeader() {
  const h = [0xff, 0xf8, 0xc9, 0x18, 0x00];
  let crc = 0;
  for (const x of h) {
    crc ^= x;
    for (let k = 0; k < 8; k++) crc = crc & 0x80 ? ((crc << 1) ^ 7) & 0xff : (crc << 1) & 0xff;
  }
  return Buffer.from([...h, crc]);
}

/** [name, magic type, bytes] of each dense input. */
function denseInputs() {
  const N = 16 * MiB;
  const wav = repeat(Buffer.from('RIFF\0\0\0\0WAVE', 'latin1'), Buffer.from('JUNK\0\0\0\0', 'latin1'), N);
  wav.writeUInt32LE(wav.length - 8, 4);
  const png = Buffer.concat([Buffer.from('89504e470d0a1a0a0000000d494844520000000100000001080200000000000000', 'hex'), repeat(Buffer.alloc(0), Buffer.from('000000007445587400000000', 'hex'), N - 45), Buffer.from('0000000049454e4400000000', 'hex')]);
  const flac = Buffer.alloc(N, 0x37);
  Buffer.from('664c614380000022', 'hex').copy(flac);
  flacFrameHeader().copy(flac, 42);
  const fill = Buffer.alloc(N, 0xff);
  fill[1] = 0xd8;
  return [
    ['mp4: 8-byte boxes', 'mp4', repeat(Buffer.from('00000008667479700000000866726565', 'hex'), Buffer.from('0000000866726565', 'hex'), N)],
    ['mkv: 2-byte Void elements', 'mkv', repeat(Buffer.from('1a45dfa384428681011853806701ffffffffffffff', 'hex'), Buffer.from('ec80', 'hex'), N)],
    ['wav: 8-byte chunks', 'wav', wav],
    ['jpg: 2-byte restart markers', 'jpg', Buffer.concat([Buffer.from('ffd8', 'hex'), repeat(Buffer.alloc(0), Buffer.from('ffd0', 'hex'), N - 4), Buffer.from('ffd9', 'hex')])],
    ['jpg: fill bytes', 'jpg', fill],
    ['mp3: 24-byte frames', 'mp3', repeat(Buffer.alloc(0), Buffer.concat([Buffer.from('fff314c4', 'hex'), Buffer.alloc(20)]), N)],
    ['png: 12-byte chunks', 'png', png],
    ['flac: one frame, CRC over 16 MiB', 'flac', flac],
  ];
}

async function timeIt(fn, runs) {
  const ms = [];
  let last;
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    last = await fn();
    ms.push(performance.now() - t);
  }
  return { ms: median(ms), last };
}

export async function parsersBench(dist, work, { log, runs = 3 }) {
  const { walkBuffer } = await import(pathToFileURL(path.join(dist, 'inspect', 'structure.js')).href);
  const { loadPolicy } = await import(pathToFileURL(path.join(dist, 'policy', 'load.js')).href);
  const { readLines } = await import(pathToFileURL(path.join(dist, 'audit', 'lines.js')).href);
  await mkdir(work, { recursive: true });
  const rows = [];
  for (const [what, magic, bytes] of denseInputs()) {
    log(`parsers: ${what}`);
    const r = await timeIt(() => walkBuffer(bytes, magic), runs);
    rows.push({ what: `walk ${what} (${Math.round(bytes.length / MiB)} MiB)`, ms: r.ms, nsPerByte: (r.ms * 1e6) / bytes.length, result: r.last.problems[0]?.kind ?? 'ok' });
  }
  const keys = path.join(work, 'keys.yaml');
  await writeFile(keys, `extends: advanced\nstage: advanced\ninput:\n${Array.from({ length: 5000 }, (_, i) => `  unknownKey${i}: 1\n`).join('')}`);
  log('parsers: 5000 unknown keys');
  const k = await timeIt(() => loadPolicy(keys).then(() => 'accepted', (e) => `exit ${e.exitCode}`), runs);
  rows.push({ what: 'load a policy with 5,000 unknown keys', ms: k.ms, result: k.last });
  const line = path.join(work, 'long-line.log');
  const fh = await open(line, 'w');
  const chunk = Buffer.alloc(MiB, 0x61);
  for (let i = 0; i < 256; i++) await fh.write(chunk);
  await fh.write('\n');
  await fh.close();
  log('parsers: one 256 MiB line');
  const before = process.memoryUsage().rss;
  const l = await timeIt(async () => {
    let kept = 0;
    for await (const ln of readLines(line)) kept = ln.bytes.length;
    return `${kept} bytes kept`;
  }, 1);
  rows.push({ what: 'read one 256 MiB audit line', ms: l.ms, result: l.last, rssGrowthBytes: Math.max(0, process.memoryUsage().rss - before) });
  return { runs, rows };
}

/**
 * The output's facts read from its container (src/verify/facts) against what ffprobe says of the
 * same real ffmpeg outputs, and the refusals that make the reader stricter than the probe: a
 * payload hidden in mdat behind a patched size, data in padding, a box the muxer never writes,
 * overlapping or stray chunks, chunk tables that disagree, a stray RIFF chunk.
 */
import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { readContainerFacts } from '../../src/verify/facts/index.js';
import type { ContainerFacts } from '../../src/verify/facts/result.js';
import type { ReadAt } from '../../src/inspect/structure.js';
import { ffmpeg, ffprobeJson } from '../helpers/media.js';
import { parseProbeJson } from '../../src/inspect/probe-result.js';
import { checkOutputProbe } from '../../src/verify/output-probe.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'zt-facts-'));
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

const readAtOf = (buf: Buffer): ReadAt => async (into, position) => (position >= buf.length ? 0 : buf.copy(into, 0, position, Math.min(buf.length, position + into.length)));
const factsOf = (buf: Buffer): Promise<ContainerFacts> => readContainerFacts(readAtOf(buf), buf.length);

const AV = ['-f', 'lavfi', '-i', 'testsrc2=s=320x240:r=25:d=2', '-f', 'lavfi', '-i', 'sine=d=2:sample_rate=48000', '-ac', '2'];
/** What the vetted operations write (policies/advanced.yaml), and a remux. */
const OUTPUTS: Record<string, readonly string[]> = {
  'h264-aac.mp4': [...AV, '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-movflags', '+faststart', '-f', 'mp4'],
  'h264-aac.mov': [...AV, '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-f', 'mov'],
  'aac.m4a': [...AV, '-vn', '-c:a', 'aac', '-f', 'ipod'],
  'h264-opus.mkv': [...AV, '-c:v', 'libx264', '-preset', 'veryfast', '-c:a', 'libopus', '-f', 'matroska'],
  'h264-opus.webm': [...AV, '-c:v', 'libx264', '-preset', 'veryfast', '-c:a', 'libopus', '-f', 'matroska'],
  'pcm.wav': [...AV, '-vn', '-c:a', 'pcm_s16le', '-f', 'wav'],
  'pcm-6ch.wav': ['-f', 'lavfi', '-i', 'sine=d=1', '-ac', '6', '-c:a', 'pcm_s16le', '-f', 'wav'],
  'pcm.flac': [...AV, '-vn', '-c:a', 'flac', '-f', 'flac'],
  'vorbis.ogg': [...AV, '-vn', '-c:a', 'libvorbis', '-q:a', '4', '-f', 'ogg'],
  'opus.opus': [...AV, '-vn', '-c:a', 'libopus', '-b:a', '96k', '-f', 'ogg'],
  'vbr.mp3': [...AV, '-vn', '-c:a', 'libmp3lame', '-q:a', '4', '-f', 'mp3'],
  'cbr-mono.mp3': ['-f', 'lavfi', '-i', 'sine=d=3:sample_rate=22050', '-c:a', 'libmp3lame', '-b:a', '64k', '-f', 'mp3'],
  'still.png': [...AV, '-frames:v', '1', '-update', '1', '-c:v', 'png', '-f', 'image2'],
  'still.jpg': [...AV, '-frames:v', '1', '-update', '1', '-c:v', 'mjpeg', '-f', 'image2'],
};

async function make(name: string): Promise<{ file: string; buf: Buffer }> {
  const file = path.join(dir, name);
  await ffmpeg(['-y', '-v', 'error', ...(OUTPUTS[name] ?? []), file]);
  return { file, buf: await readFile(file) };
}

function mustFacts(f: ContainerFacts): Extract<ContainerFacts, { kind: 'facts' }> {
  if (f.kind !== 'facts') throw new Error(`expected facts, got ${JSON.stringify(f)}`);
  return f;
}

describe('the facts read from the container are what ffprobe reports', () => {
  it.each(Object.keys(OUTPUTS))('%s', async (name) => {
    const { file, buf } = await make(name);
    const facts = mustFacts(await factsOf(buf));
    const probe = await ffprobeJson(file);
    const format = probe['format'] as { format_name: string; duration?: string };
    const streams = probe['streams'] as Array<Record<string, unknown>>;
    // ffprobe names a still by its file name (image2) or its bytes (png_pipe, jpeg_pipe): the operations accept both.
    if (name.startsWith('still')) expect(['image2', facts.probe.formatName]).toContain(format.format_name);
    else expect(facts.probe.formatName).toBe(format.format_name);
    expect(facts.probe.streams.map((s) => [s.codecType, s.codecName])).toEqual(streams.map((s) => [s['codec_type'], s['codec_name']]));
    for (const [i, s] of facts.probe.streams.entries()) {
      const p = streams[i] ?? {};
      if (s.codecType === 'video') {
        expect([s.width, s.height]).toEqual([p['width'], p['height']]);
        if (!name.startsWith('still')) expect(s.frameRate).toBeCloseTo(25, 3);
      } else {
        expect(s.sampleRate).toBe(Number(p['sample_rate']));
        expect(s.channels).toBe(p['channels']);
      }
    }
    if (format.duration !== undefined && !name.startsWith('still')) expect(facts.probe.duration ?? 0).toBeCloseTo(Number(format.duration), 1);
  });
});

/** The offset of the first top-level box of `type` in an ISO-BMFF file. */
function topBox(buf: Buffer, type: string): { at: number; size: number } {
  for (let pos = 0; pos + 8 <= buf.length; ) {
    const size = buf.readUInt32BE(pos);
    if (buf.toString('latin1', pos + 4, pos + 8) === type) return { at: pos, size };
    if (size < 8) break;
    pos += size;
  }
  throw new Error(`no top-level ${type}`);
}

/** The offset of the first box of `type` anywhere (a byte search; the tests' files are small and known). */
const boxAt = (buf: Buffer, type: string): number => buf.indexOf(Buffer.from(type, 'latin1')) - 4;

describe('what the probe would pass and the container reader refuses', () => {
  it('a payload hidden at the end of mdat, its size patched to cover it (the structure walk alone sees a well-framed file)', async () => {
    const { buf } = await make('h264-aac.mp4');
    const mdat = topBox(buf, 'mdat');
    expect(mdat.at + mdat.size).toBe(buf.length); // faststart: mdat is last
    const payload = Buffer.from('#!/bin/sh\necho owned\n'.repeat(50));
    const evil = Buffer.concat([buf, payload]);
    evil.writeUInt32BE(mdat.size + payload.length, mdat.at);
    const f = await factsOf(evil);
    expect(f).toMatchObject({ kind: 'refused', reader: 'isobmff' });
    expect(f.kind === 'refused' && f.problem).toContain(`${payload.length} of the`);
    expect(f.kind === 'refused' && f.problem).toContain('belong to no sample');
  });

  it('data in a free box, and a top-level box the muxer never writes', async () => {
    const { buf } = await make('h264-aac.mp4');
    const free = Buffer.concat([Buffer.from([0, 0, 0, 24]), Buffer.from('free'), Buffer.from('secret payload!!')]);
    const uuid = Buffer.concat([Buffer.from([0, 0, 0, 24]), Buffer.from('uuid'), Buffer.alloc(16, 7)]);
    const ftyp = topBox(buf, 'ftyp');
    const at = ftyp.at + ftyp.size;
    // Inserting shifts the media: rewrite nothing, so also expect the chunk check if the box check did not fire first.
    for (const [extra, why] of [[free, 'holds data'], [uuid, 'which the muxer does not write']] as const) {
      const f = await factsOf(Buffer.concat([buf.subarray(0, at), extra, buf.subarray(at)]));
      expect(f.kind).toBe('refused');
      expect(f.kind === 'refused' && f.problem).toContain(why);
    }
  });

  it('chunk offsets outside mdat, and sample tables that disagree', async () => {
    const { buf } = await make('h264-aac.mp4');
    const stco = boxAt(buf, 'stco');
    const outside = Buffer.from(buf);
    outside.writeUInt32BE(4, stco + 16); // the first chunk now starts inside ftyp
    const f1 = await factsOf(outside);
    expect(f1.kind).toBe('refused');
    expect(f1.kind === 'refused' && f1.problem).toMatch(/outside every mdat|overlap/);

    const stsz = boxAt(buf, 'stsz');
    const moreSamples = Buffer.from(buf);
    moreSamples.writeUInt32BE(moreSamples.readUInt32BE(stsz + 16) - 1, stsz + 16); // one sample fewer declared
    const f2 = await factsOf(moreSamples);
    expect(f2.kind).toBe('refused');
  });

  it('a stray chunk in a WAV, and a byte rate that lies', async () => {
    const { buf } = await make('pcm.wav');
    const junk = Buffer.concat([Buffer.from('zzzz'), Buffer.from([8, 0, 0, 0]), Buffer.from('payload!')]);
    const withJunk = Buffer.concat([buf, junk]);
    withJunk.writeUInt32LE(withJunk.length - 8, 4);
    const f1 = await factsOf(withJunk);
    expect(f1.kind).toBe('refused');
    const fmt = buf.indexOf(Buffer.from('fmt ', 'latin1'));
    const lying = Buffer.from(buf);
    lying.writeUInt32LE(1, fmt + 16); // byte rate
    const f2 = await factsOf(lying);
    expect(f2.kind).toBe('refused');
    expect(f2.kind === 'refused' && f2.problem).toContain('byte rate');
  });

  it('a NaN sample rate or duration in a Matroska header (found by the fuzzer): refused, never a NaN fact', async () => {
    const { buf } = await make('h264-opus.mkv');
    for (const id of [[0xb5, 0x88], [0x44, 0x89, 0x88]]) {
      const at = buf.indexOf(Buffer.from(id));
      expect(at).toBeGreaterThan(0);
      const bad = Buffer.from(buf);
      bad.writeDoubleBE(Number.NaN, at + id.length);
      const f = await factsOf(bad);
      expect(f.kind, JSON.stringify(f)).toBe('refused');
    }
  });

  it('framing problems found by the structure walk are refusals too (trailing data after the last box)', async () => {
    const { buf } = await make('h264-aac.mp4');
    const f = await factsOf(Buffer.concat([buf, Buffer.from('PK\x03\x04 a zip appended')]));
    expect(f.kind).toBe('refused');
  });
});

describe('what no reader states is left to the sandboxed probe', () => {
  it('a fragmented mp4, a Matroska without Duration, an Ogg Theora, an MP3 without a Xing header', async () => {
    const frag = path.join(dir, 'frag.mp4');
    await ffmpeg(['-y', '-v', 'error', ...AV, '-c:v', 'libx264', '-preset', 'veryfast', '-c:a', 'aac', '-movflags', 'frag_keyframe+empty_moov', '-f', 'mp4', frag]);
    const ogg = path.join(dir, 'theora.ogv');
    await ffmpeg(['-y', '-v', 'error', ...AV, '-an', '-c:v', 'libtheora', '-f', 'ogg', ogg]);
    const mp3 = path.join(dir, 'noxing.mp3');
    await ffmpeg(['-y', '-v', 'error', ...AV, '-vn', '-c:a', 'libmp3lame', '-write_xing', '0', mp3]);
    for (const f of [frag, ogg, mp3]) {
      const facts = await factsOf(await readFile(f));
      expect(facts.kind, `${f}: ${JSON.stringify(facts)}`).toBe('unsupported');
    }
    // The same bytes a live WebM writer emits: Segment of unknown size.
    const webmFile = path.join(dir, 'vp9.webm');
    await ffmpeg(['-y', '-v', 'error', ...AV, '-c:v', 'libvpx-vp9', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '200k', '-c:a', 'libopus', '-f', 'webm', webmFile]);
    const webm = await readFile(webmFile);
    // VP9 states its picture size only in its bitstream, which this reader does not decode.
    expect(await factsOf(webm)).toEqual({ kind: 'unsupported', reason: 'CodecID "V_VP9"' });
    const seg = webm.indexOf(Buffer.from([0x18, 0x53, 0x80, 0x67]));
    const sizeLen = 8; // ffmpeg writes the Segment size as 8 bytes
    const unknown = Buffer.concat([webm.subarray(0, seg + 4), Buffer.from([0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), webm.subarray(seg + 4 + sizeLen)]);
    expect(webm[seg + 4]).toBe(0x01);
    expect((await factsOf(unknown)).kind).toBe('unsupported');
  });
});

/** Every offset of a box type (a byte search over a small known file). */
const allAt = (buf: Buffer, type: string): number[] => {
  const out: number[] = [];
  for (let i = buf.indexOf(type, 0, 'latin1'); i >= 0; i = buf.indexOf(type, i + 1, 'latin1')) out.push(i - 4);
  return out;
};

describe('what a compromised muxer writes to mislead the reader (the review of issue 16)', () => {
  it('a sample entry that claims 64x36 for a 320x240 stream: the size is the SPS\'s, what decodes', async () => {
    const { buf } = await make('h264-aac.mp4');
    const avc1 = boxAt(buf, 'avc1');
    const lying = Buffer.from(buf);
    lying.writeUInt16BE(64, avc1 + 8 + 24);
    lying.writeUInt16BE(36, avc1 + 8 + 26);
    const f = mustFacts(await factsOf(lying));
    expect(f.probe.streams[0]).toMatchObject({ codecName: 'h264', width: 320, height: 240 });
  });

  it('an esds inside avc1 (ffmpeg would decode another codec), cover art in udta, a uuid in moov: left to the sandboxed probe', async () => {
    const { buf } = await make('h264-aac.mp4');
    const esds = buf.subarray(boxAt(buf, 'esds'), boxAt(buf, 'esds') + buf.readUInt32BE(boxAt(buf, 'esds')));
    // Replace avc1's btrt (20 bytes) by an esds of the same size is not possible; turn btrt into an "esds" label instead.
    const substituted = Buffer.from(buf);
    const btrt = allAt(substituted, 'btrt')[0] ?? -1;
    expect(btrt).toBeGreaterThan(boxAt(buf, 'avc1'));
    substituted.write('esds', btrt + 4, 'latin1');
    expect((await factsOf(substituted)).kind).toBe('unsupported');
    expect(esds.length).toBeGreaterThan(0);

    const cover = path.join(dir, 'cover.mp4');
    const png = path.join(dir, 'cover.png');
    await ffmpeg(['-y', '-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=s=64x64', '-frames:v', '1', png]);
    await ffmpeg(['-y', '-v', 'error', ...AV, '-i', png, '-map', '0:v', '-map', '1:a', '-map', '2:v', '-c:v:0', 'libx264', '-preset', 'veryfast', '-c:v:1', 'png', '-disposition:v:1', 'attached_pic', '-c:a', 'aac', '-f', 'mp4', cover]);
    expect((await factsOf(await readFile(cover))).kind).toBe('unsupported');

    const udta = boxAt(buf, 'udta');
    const withUuid = Buffer.from(buf);
    withUuid.write('uuid', udta + 4, 'latin1');
    expect(await factsOf(withUuid)).toMatchObject({ kind: 'unsupported', reason: expect.stringContaining('"uuid" box in "moov"') });
  });

  it('sample times that make the frame rate 100x what mdhd says: left to the probe; mdhd and stts must agree', async () => {
    const { buf } = await make('h264-aac.mp4');
    const stts = boxAt(buf, 'stts');
    const fast = Buffer.from(buf);
    const runs = fast.readUInt32BE(stts + 12);
    for (let i = 0; i < runs; i++) fast.writeUInt32BE(Math.max(1, Math.floor(fast.readUInt32BE(stts + 20 + i * 8) / 100)), stts + 20 + i * 8);
    expect(await factsOf(fast)).toMatchObject({ kind: 'unsupported', reason: expect.stringMatching(/^mdhd says \d+ but the samples last \d+/) });
  });

  it('an mvhd that says the movie lasts one tick: the duration is the tracks\' own timing', async () => {
    const { buf } = await make('h264-aac.mp4');
    const mvhd = boxAt(buf, 'mvhd');
    const short = Buffer.from(buf);
    expect(short[mvhd + 8]).toBe(0); // version 0: duration at body + 16
    short.writeUInt32BE(1, mvhd + 8 + 16);
    expect(mustFacts(await factsOf(short)).probe.duration).toBeGreaterThan(1.9);
  });

  it('an attachment in a Matroska, an animated PNG: left to the probe, which sees them', async () => {
    const font = path.join(dir, 'font.ttf');
    await writeFile(font, Buffer.alloc(64, 1));
    const att = path.join(dir, 'att.mkv');
    await ffmpeg(['-y', '-v', 'error', ...AV, '-c:v', 'libx264', '-preset', 'veryfast', '-c:a', 'libopus', '-attach', font, '-metadata:s:t', 'mimetype=application/x-truetype-font', '-f', 'matroska', att]);
    expect(await factsOf(await readFile(att))).toMatchObject({ kind: 'unsupported', reason: expect.stringContaining('Segment element 0x1941a469') });
    const apng = path.join(dir, 'anim.png');
    await ffmpeg(['-y', '-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=s=32x32:r=5:d=1', '-plays', '0', '-f', 'apng', apng]);
    expect(await factsOf(await readFile(apng))).toEqual({ kind: 'unsupported', reason: 'an animated PNG' });
  });
});

describe('the second review: what ffmpeg follows that a reader must read too', () => {
  it('a Matroska Void that holds data (a SeekHead could point into it): left to the probe', async () => {
    const { buf } = await make('h264-opus.mkv');
    // Walk the EBML header and the Segment's children to the first Void with content.
    const vint = (at: number, keepMarker: boolean): [number, number] => {
      const first = buf[at] ?? 0;
      let len = 1;
      while ((first & (0x80 >> (len - 1))) === 0) len++;
      let v = keepMarker ? first : first & (0xff >> len);
      for (let i = 1; i < len; i++) v = v * 256 + (buf[at + i] ?? 0);
      return [v, len];
    };
    const elem = (at: number): { id: number; data: number; size: number } => {
      const [id, il] = vint(at, true);
      const [size, sl] = vint(at + il, false);
      return { id, data: at + il + sl, size };
    };
    const ebml = elem(0);
    const seg = elem(ebml.data + ebml.size);
    let at = seg.data;
    let found: { id: number; data: number; size: number } | undefined;
    while (at < buf.length) {
      const e = elem(at);
      if (e.id === 0xec && e.size > 0) {
        found = e;
        break;
      }
      at = e.data + e.size;
    }
    expect(found).toBeDefined();
    const evil = Buffer.from(buf);
    evil[(found?.data ?? 0)] = 0x1a;
    expect(await factsOf(evil)).toEqual({ kind: 'unsupported', reason: 'a Void element that holds data' });
  });

  it('cover art in a FLAC (PICTURE block) or an MP3 (APIC): left to the probe; audio-only targets refuse a picture stream', async () => {
    const jpg = path.join(dir, 'cover.jpg');
    await ffmpeg(['-y', '-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=s=64x64', '-frames:v', '1', jpg]);
    for (const [name, codec] of [['pic.flac', 'flac'], ['pic.mp3', 'libmp3lame']] as const) {
      const f = path.join(dir, name);
      await ffmpeg(['-y', '-v', 'error', '-f', 'lavfi', '-i', 'sine=d=1', '-i', jpg, '-map', '0', '-map', '1', '-c:a', codec, '-c:v', 'copy', '-disposition:v', 'attached_pic', ...(name.endsWith('mp3') ? ['-id3v2_version', '3'] : []), f]);
      expect(await factsOf(await readFile(f)), name).toMatchObject({ kind: 'unsupported' });
    }
    const p = parseProbeJson(JSON.stringify({ format: { format_name: 'mp3' }, streams: [{ index: 0, codec_type: 'audio', codec_name: 'mp3' }, { index: 1, codec_type: 'video', codec_name: 'mjpeg', width: 64, height: 64 }] }));
    const v = checkOutputProbe(p, { format: 'mp3', args: [], expect: { formats: ['mp3'], audio: ['mp3'] } }, undefined);
    expect(v).toEqual([expect.objectContaining({ rule: 'output.codecs.video', actual: 'mjpeg' })]);
  });
});

describe('the picture size a decoder reaches', () => {
  it('an SPS inside a later sample (a 64x64 stream that turns 640x480): the size is the largest SPS gives', async () => {
    const a = path.join(dir, 'a.h264');
    const b = path.join(dir, 'b.h264');
    await ffmpeg(['-y', '-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=s=64x64:r=25:d=0.4', '-c:v', 'libx264', '-preset', 'ultrafast', '-f', 'h264', a]);
    await ffmpeg(['-y', '-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=s=640x480:r=25:d=0.4', '-c:v', 'libx264', '-preset', 'ultrafast', '-f', 'h264', b]);
    const c = path.join(dir, 'c.h264');
    await writeFile(c, Buffer.concat([await readFile(a), await readFile(b)]));
    const out = path.join(dir, 'grows.mp4');
    await ffmpeg(['-y', '-v', 'error', '-r', '25', '-f', 'h264', '-i', c, '-c', 'copy', '-movflags', '+faststart', out]);
    const f = mustFacts(await factsOf(await readFile(out)));
    expect(f.probe.streams[0]).toMatchObject({ codecName: 'h264', width: 640, height: 480 });
    // What the old path saw: the first SPS only.
    const probed = ((await ffprobeJson(out))['streams'] as Array<{ width: number }>)[0];
    expect(probed?.width).toBe(64);
  });
});

describe('a header that understates how long the output plays', () => {
  it('FLAC STREAMINFO, an MP3 Xing count, a Matroska Duration cut to a fraction: refused against what the walk counted', async () => {
    const flac = Buffer.from((await make('pcm.flac')).buf);
    // Total samples: the low 32 bits at byte 22 (the 36-bit field ends STREAMINFO's 18th byte).
    flac.writeUInt32BE(1000, 22);
    expect(await factsOf(flac)).toMatchObject({ kind: 'refused', problem: expect.stringMatching(/^STREAMINFO claims \d+ frames but the file holds \d+/) });

    const mp3 = Buffer.from((await make('vbr.mp3')).buf);
    const xing = mp3.indexOf('Xing', 0, 'latin1') >= 0 ? mp3.indexOf('Xing', 0, 'latin1') : mp3.indexOf('Info', 0, 'latin1');
    expect(xing).toBeGreaterThan(0);
    mp3.writeUInt32BE(3, xing + 8);
    expect(await factsOf(mp3)).toMatchObject({ kind: 'refused', problem: expect.stringContaining('claims 3 frames') });

    const longMkv = path.join(dir, 'long.mkv');
    await ffmpeg(['-y', '-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=s=64x64:r=10:d=20', '-c:v', 'libx264', '-preset', 'ultrafast', '-f', 'matroska', longMkv]);
    const mkv = Buffer.from(await readFile(longMkv));
    const dur = mkv.indexOf(Buffer.from([0x44, 0x89, 0x88]));
    mkv.writeDoubleBE(2000, dur + 3); // 2 s at the default TimestampScale (ms)
    expect(await factsOf(mkv)).toMatchObject({ kind: 'refused', problem: expect.stringMatching(/^Info says the output lasts 2 s but a Cluster starts at/) });
  });
});

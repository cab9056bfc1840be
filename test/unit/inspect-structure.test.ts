/** The container framing walk, the marker scan and the verdict rules, on bytes built in the test. */
import { describe, expect, it } from 'vitest';
import { walkBuffer } from '../../src/inspect/structure.js';
import { findMarkers } from '../../src/inspect/file.js';
import { checkDeclaredDimensions, checkEmbedded, checkProbe, checkStructure } from '../../src/inspect/rules.js';
import { classifyProbe } from '../../src/inspect/inspect-input.js';
import { parseProbeJson } from '../../src/inspect/probe-result.js';
import type { InputConfig, Policy } from '../../src/policy/types.js';
import { pngWithDimensions } from '../helpers/hostile-samples.js';
import { SERIALIZERS } from '../fuzz/containers.js';
import { ogg, jpeg as jpegSeed } from '../fuzz/seeds.js';

function box(type: string, body: Buffer | number): Buffer {
  const b = typeof body === 'number' ? Buffer.alloc(body) : body;
  const h = Buffer.alloc(8);
  h.writeUInt32BE(8 + b.length);
  h.write(type, 4, 'latin1');
  return Buffer.concat([h, b]);
}

function riff(form: string, chunks: Array<[string, Buffer]>, lieAbout?: number): Buffer {
  const parts = chunks.map(([id, data]) => {
    const h = Buffer.alloc(8);
    h.write(id, 0, 'latin1');
    h.writeUInt32LE(lieAbout ?? data.length, 4);
    return Buffer.concat([h, data, Buffer.alloc(data.length & 1)]);
  });
  const body = Buffer.concat([Buffer.from(form, 'latin1'), ...parts]);
  const h = Buffer.alloc(8);
  h.write('RIFF', 0, 'latin1');
  h.writeUInt32LE(body.length, 4);
  return Buffer.concat([h, body]);
}

const JPEG = Buffer.from([
  0xff, 0xd8, // SOI
  0xff, 0xc0, 0x00, 0x0b, 0x08, 0x00, 0x10, 0x00, 0x20, 0x01, 0x01, 0x11, 0x00, // SOF0: 32 x 16
  0xff, 0xda, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3f, 0x00, // SOS
  0x12, 0xff, 0x00, 0x34, 0xff, 0xd0, 0x56, // entropy data with a stuffed 0xFF and a restart marker
  0xff, 0xd9, // EOI
]);

const EBML = (): Buffer => {
  const header = Buffer.from([0x1a, 0x45, 0xdf, 0xa3, 0x80 | 4, 0x42, 0x86, 0x81, 0x01]);
  // A Segment holding one 4-byte Void element.
  const segment = Buffer.concat([Buffer.from([0x18, 0x53, 0x80, 0x67, 0x80 | 6, 0xec, 0x84]), Buffer.alloc(4)]);
  return Buffer.concat([header, segment]);
};

function oggPage(body: number): Buffer {
  const h = Buffer.alloc(28);
  h.write('OggS', 0, 'latin1');
  h[26] = 1;
  h[27] = body;
  return Buffer.concat([h, Buffer.alloc(body)]);
}

describe('walking the container', () => {
  it('accepts well-formed files of every walked family', async () => {
    const mp4 = Buffer.concat([box('ftyp', 8), box('moov', box('mvhd', 100)), box('mdat', 100)]);
    for (const [buf, magic] of [
      [mp4, 'mp4'],
      [riff('WAVE', [['fmt ', Buffer.alloc(16)], ['data', Buffer.alloc(11)]]), 'wav'],
      [EBML(), 'mkv'],
      [SERIALIZERS.ogg(ogg()).bytes, 'ogg'],
      [pngWithDimensions(64, 48), 'png'],
      [JPEG, 'jpg'],
    ] as const) {
      const r = await walkBuffer(buf, magic);
      expect(r.problems, magic).toEqual([]);
      expect(r.complete, magic).toBe(true);
    }
  });

  it('finds truncation: a box, chunk, element or page that declares more than the file holds', async () => {
    const mp4 = Buffer.concat([box('ftyp', 8), box('mdat', 100)]);
    expect((await walkBuffer(mp4.subarray(0, 60), 'mp4')).problems[0]?.kind).toBe('truncated');
    expect((await walkBuffer(riff('WAVE', [['data', Buffer.alloc(10)]], 0xfffffff0), 'wav')).problems[0]?.message).toMatch(/declares 4294967288 bytes/);
    expect((await walkBuffer(EBML().subarray(0, 16), 'webm')).problems[0]?.message).toMatch(/Segment/);
    expect((await walkBuffer(oggPage(10).subarray(0, 30), 'opus')).problems[0]?.kind).toBe('truncated');
    expect((await walkBuffer(JPEG.subarray(0, 30), 'jpg')).problems[0]?.kind).toBe('truncated');
  });

  it('finds trailing data: another file after the end (a polyglot)', async () => {
    const tail = Buffer.concat([box('ftyp', 8), box('mdat', 10)]);
    const mp4 = Buffer.concat([box('ftyp', 8), box('moov', box('mvhd', 100))]);
    for (const [buf, magic] of [
      [Buffer.concat([pngWithDimensions(8, 8), tail]), 'png'],
      [Buffer.concat([JPEG, tail]), 'jpg'],
      [Buffer.concat([mp4, Buffer.from('#EXTM3U\n#EXTINF:1,\nfile:///etc/passwd\n')]), 'mp4'],
      [Buffer.concat([EBML(), tail]), 'mkv'],
      [Buffer.concat([SERIALIZERS.ogg(ogg()).bytes, tail]), 'ogg'],
      [Buffer.concat([riff('AVI ', [['JUNK', Buffer.alloc(4)]]), tail]), 'avi'],
    ] as const) {
      const r = await walkBuffer(buf, magic);
      expect(r.problems.map((p) => p.kind), magic).toEqual(['trailing-data']);
    }
    // Zero padding after a JPEG's end is not another file.
    expect((await walkBuffer(Buffer.concat([JPEG, Buffer.alloc(64)]), 'jpg')).problems).toEqual([]);
  });

  it('reads the dimensions an image header declares', async () => {
    expect((await walkBuffer(pngWithDimensions(100_000, 100_000), 'png')).declared).toEqual({ width: 100_000, height: 100_000 });
    expect((await walkBuffer(JPEG, 'jpg')).declared).toEqual({ width: 32, height: 16 });
  });

  it('does not walk formats without a walker (MPEG-TS), and resolves unknown sizes by their children', async () => {
    expect(await walkBuffer(Buffer.alloc(100), 'mts')).toEqual({ walker: undefined, problems: [], complete: false });
    const live = Buffer.concat([EBML().subarray(0, 9), Buffer.from([0x18, 0x53, 0x80, 0x67, 0xff, 0xec, 0x90]), Buffer.alloc(16)]);
    expect(await walkBuffer(live, 'mkv')).toMatchObject({ problems: [], complete: true });
  });
});

describe('smuggled playlists', () => {
  it('are found anywhere, also across chunk boundaries', () => {
    const seen = new Map<string, number>();
    const a = Buffer.from('....media....#EXT');
    const b = Buffer.from('M3U\n#EXTINF:1,\nx');
    findMarkers(a, 0, Buffer.alloc(0), seen);
    findMarkers(b, a.length, a.subarray(a.length - 15), seen);
    expect(seen.get('#EXTM3U')).toBe(13);
    expect(seen.get('#EXTINF:')).toBe(a.length + 4);
  });
});

const INPUT = {
  formats: ['mov', 'wav', 'png_pipe', 'jpeg_pipe', 'image2'],
  codecs: { video: ['h264', 'png', 'mjpeg'], audio: ['aac'], subtitle: [] },
  maxStreams: 4, maxWidth: 1920, maxHeight: 1080, maxPixels: 1920 * 1080, maxFrameRate: 60,
  maxDurationSeconds: 60, maxBitrate: 1_000_000, maxSampleRate: 48000, maxChannels: 2,
  allowAttachments: false, allowDataStreams: false, maxMetadataEntries: 4, maxMetadataBytes: 100,
  requireMagicMatchesExtension: true, requireMagicMatchesFormat: true,
} as unknown as InputConfig;
const LENIENT = { ...INPUT, requireMagicMatchesFormat: false } as InputConfig;

describe('the verdict', () => {
  it('refuses at the strict stages and only warns otherwise', () => {
    const s = { walker: 'png', problems: [{ kind: 'trailing-data' as const, offset: 10, message: 'x' }], complete: true };
    expect(checkStructure(s, INPUT).violations.map((v) => v.rule)).toEqual(['input.structure']);
    expect(checkStructure(s, LENIENT)).toMatchObject({ violations: [], warnings: [{ rule: 'input.structure' }] });
    expect(checkEmbedded([{ marker: '#EXTM3U', offset: 5 }], INPUT).violations[0]?.actual).toBe('"#EXTM3U" at byte 5');
    expect(checkEmbedded([{ marker: '#EXTM3U', offset: 5 }], LENIENT).violations).toEqual([]);
  });

  it('checks declared dimensions whatever the decoder reported', () => {
    expect(checkDeclaredDimensions({ width: 100_000, height: 10 }, INPUT).map((v) => v.rule)).toEqual(['input.maxWidth']);
    expect(checkDeclaredDimensions({ width: 1920, height: 1080 }, INPUT)).toEqual([]);
  });

  it('refuses a video stream of unknown size, and a JPEG read by image2 is still a JPEG', () => {
    const p = parseProbeJson(JSON.stringify({ format: { format_name: 'image2', nb_streams: 1 }, streams: [{ index: 0, codec_type: 'video', codec_name: 'mjpeg', width: 0, height: 0 }] }));
    const r = checkProbe(p, INPUT, 'jpg');
    expect(r.violations.map((v) => v.rule)).toEqual(['input.dimensions']);
    expect(checkProbe(p, INPUT, 'png').violations.map((v) => v.rule)).not.toContain('input.magic-format');
    expect(checkProbe(p, INPUT, 'wav').violations.map((v) => v.rule)).toContain('input.magic-format');
  });

  it('counts chapter tags and stream bitrates', () => {
    const p = parseProbeJson(JSON.stringify({
      format: { format_name: 'mov,mp4', duration: '1', nb_streams: 1 },
      streams: [{ index: 0, codec_type: 'audio', codec_name: 'aac', sample_rate: '48000', channels: 2, bit_rate: '5000000' }],
      chapters: [{ tags: { title: 'x'.repeat(200) } }],
    }));
    const rules = checkProbe(p, INPUT, 'mp4').violations.map((v) => v.rule);
    expect(rules).toEqual(expect.arrayContaining(['input.maxBitrate', 'input.maxMetadataBytes']));
  });
});

describe('classifying a probe', () => {
  const policy = { input: INPUT, mode: 'enforce' } as unknown as Policy;
  const ok = JSON.stringify({ format: { format_name: 'wav' }, streams: [{ codec_type: 'audio', codec_name: 'aac' }] });

  it('a crash, a kill, an error exit or invalid JSON is a refusal, never a pass', () => {
    expect(classifyProbe({ exitCode: undefined, signal: 'SIGSEGV', stdout: '', stderr: '' }, policy, undefined).violations[0]?.rule).toBe('input.probe');
    expect(classifyProbe({ exitCode: 0, signal: undefined, stdout: '{"format":', stderr: '' }, policy, undefined).violations[0]?.rule).toBe('input.probe.json');
    expect(classifyProbe({ exitCode: 0, signal: undefined, stdout: '{}', stderr: '' }, policy, undefined).violations[0]?.rule).toBe('input.probe.json');
    expect(classifyProbe({ exitCode: undefined, signal: 'SIGKILL', stdout: '', stderr: '', killedFor: { actual: '>30', limit: 30, message: 'wall clock' } }, policy, undefined).violations[0]?.rule).toBe('input.probe.timeout');
    expect(classifyProbe({ exitCode: 0, signal: undefined, stdout: ok, stderr: '' }, policy, undefined)).toMatchObject({ violations: [], warnings: [] });
  });

  it('limits enforced inside the parser are reported under the policy rule', () => {
    const streams = classifyProbe({ exitCode: 1, signal: undefined, stdout: '', stderr: '[matroska] Number of streams exceeds max_streams parameter (4), see the documentation\n' }, policy, undefined);
    expect(streams.violations).toMatchObject([{ rule: 'input.maxStreams', limit: 4 }]);
    const codec = classifyProbe({ exitCode: 1, signal: undefined, stdout: '', stderr: "[ffv1 @ 0x1] Codec (ffv1) not on whitelist 'h264'\n" }, policy, { sections: {}, decoders: { ffv1: { type: 'V', codec: 'ffv1' } } });
    expect(codec.violations).toMatchObject([{ rule: 'input.codecs.video', actual: 'ffv1' }]);
  });

  it('parser complaints on a successful probe refuse at the strict stages', () => {
    const r = classifyProbe({ exitCode: 0, signal: undefined, stdout: ok, stderr: '[h264 @ 0x1] corrupt macroblock\n' }, policy, undefined);
    expect(r.violations.map((v) => v.rule)).toEqual(['input.probe.errors']);
    const lenient = classifyProbe({ exitCode: 0, signal: undefined, stdout: ok, stderr: '[h264 @ 0x1] corrupt macroblock\n' }, { ...policy, input: LENIENT } as Policy, undefined);
    expect(lenient.warnings.map((v) => v.rule)).toEqual(['input.probe.errors']);
  });
});

describe('JPEG padding after the end-of-image marker (the fuzz oracle of seed 442814324)', () => {
  it('a cut inside the padding leaves a complete image: accepted; a cut before EOI: truncated', async () => {
    const image = SERIALIZERS.jpeg(jpegSeed()).bytes;
    expect(image.subarray(-2)).toEqual(Buffer.from([0xff, 0xd9]));
    const padded = Buffer.concat([image, Buffer.alloc(40, 0xff), Buffer.alloc(40, 0)]);
    const whole = await walkBuffer(padded, 'jpg');
    expect(whole.problems).toEqual([]);
    expect(whole.tolerated?.[0]).toMatchObject({ name: 'jpeg-padding-after-eoi', offset: image.length });
    expect((await walkBuffer(padded.subarray(0, image.length + 33), 'jpg')).problems).toEqual([]);
    expect((await walkBuffer(padded.subarray(0, image.length - 1), 'jpg')).problems[0]?.kind).toBe('truncated');
  });
});

/**
 * "Complete or refused": every decision the framing walks make about where bytes belong, one
 * test each, on files built byte by byte (test/fuzz/containers.ts, the same builders the fuzzer
 * mutates). The walk is also linear: the number of reads it makes is bounded by the file's size
 * over the read window, whatever the bytes (no per-byte or per-element I/O).
 */
import { describe, expect, it } from 'vitest';
import { walkBuffer, walkStructure, type StructureReport } from '../../src/inspect/structure.js';
import { WINDOW_BYTES } from '../../src/inspect/structure/source.js';
import { MAX_DEPTH } from '../../src/inspect/structure/report.js';
import { MAX_OGG_STREAMS } from '../../src/inspect/structure/ogg.js';
import { checkStructure } from '../../src/inspect/rules.js';
import type { InputConfig } from '../../src/policy/types.js';
import { SERIALIZERS, MAGIC_OF, apeTag, id3v1Tag, id3v2Tag, isoBox, ebmlEl, oggPageEl, type El, type FormatName } from '../fuzz/containers.js';
import * as seed from '../fuzz/seeds.js';

const bytesOf = (f: FormatName, els: El[]): Buffer => SERIALIZERS[f](els).bytes;
const walk = (f: FormatName, b: Buffer, opts: Parameters<typeof walkBuffer>[2] = {}): Promise<StructureReport> => walkBuffer(b, MAGIC_OF[f], opts);
const kinds = (r: StructureReport): string[] => r.problems.map((p) => p.kind);
const ZIP = Buffer.from('PK\x03\x04\x14\x00\x00\x00\x08\x00<html><script>payload</script>', 'latin1');

/** Walk `buf` counting the positioned reads it takes. */
async function countedWalk(buf: Buffer, magic: string): Promise<{ report: StructureReport; reads: number }> {
  let reads = 0;
  const report = await walkStructure(async (into, position) => {
    reads++;
    if (position >= buf.length) return 0;
    return buf.copy(into, 0, position, Math.min(buf.length, position + into.length));
  }, buf.length, magic);
  return { report, reads };
}

describe('ISO-BMFF', () => {
  const mp4 = (): Buffer => bytesOf('isobmff', seed.mp4());

  it('walks the movie boxes and a fragmented file', async () => {
    expect(await walk('isobmff', mp4())).toMatchObject({ problems: [], complete: true });
    expect((await walk('isobmff', bytesOf('isobmff', seed.fragmentedMp4()))).problems).toEqual([]);
  });

  it('refuses appended data, also after two million free boxes (no element limit)', async () => {
    expect(kinds(await walk('isobmff', Buffer.concat([mp4(), ZIP])))).toEqual(['trailing-data']);
    expect(kinds(await walk('isobmff', Buffer.concat([mp4(), Buffer.from('<html>payload</html>')])))).toEqual(['truncated']); // "<htm" read as a box size;
    const free = isoBox({ id: 'free', body: Buffer.alloc(0) });
    // Built once: the loop below runs two million times (building the file in its condition took minutes on a slow machine).
    const head = mp4();
    const many = Buffer.concat([head, Buffer.alloc(2_000_000 * 8), Buffer.from('<html>')]);
    for (let i = head.length; i < head.length + 2_000_000 * 8; i += 8) free.copy(many, i);
    const { report, reads } = await countedWalk(many, 'mp4');
    expect(report.problems[0]).toMatchObject({ kind: 'trailing-data', offset: head.length + 16_000_000 });
    expect(report.elements).toBeGreaterThan(2_000_000);
    expect(reads).toBeLessThanOrEqual(Math.ceil(many.length / WINDOW_BYTES) + 4);
  });

  it('decides a top-level size-0 box is unverified: it would hide whatever follows', async () => {
    const r = await walk('isobmff', bytesOf('isobmff', [seed.iso.ftyp(), seed.iso.moov(), { id: 'mdat', size: 'zero', body: Buffer.concat([Buffer.alloc(64), ZIP]) }]));
    expect(r.problems[0]).toMatchObject({ kind: 'unverified' });
    expect(r.problems[0]?.message).toMatch(/size 0/);
  });

  it('refuses an mp4 followed by a whole mov (a second ftyp), and a second moov', async () => {
    const mov = bytesOf('isobmff', [{ id: 'ftyp', body: Buffer.from('qt  \0\0\0\0qt  ') }, seed.iso.moov(), seed.iso.mdat()]);
    expect(await walk('isobmff', Buffer.concat([mp4(), mov]))).toMatchObject({ problems: [{ kind: 'trailing-data', message: expect.stringMatching(/second ftyp/) }] });
    const movWithoutFtyp = bytesOf('isobmff', [{ id: 'wide', body: Buffer.alloc(0) }, seed.iso.mdat(), seed.iso.moov()]);
    expect(await walk('isobmff', Buffer.concat([mp4(), movWithoutFtyp]))).toMatchObject({ problems: [{ kind: 'malformed', message: expect.stringMatching(/second top-level "moov"/) }] });
  });

  it('refuses a file without moov as truncated, and a 64-bit size box is walked like any other', async () => {
    expect(kinds(await walk('isobmff', bytesOf('isobmff', [seed.iso.ftyp(), seed.iso.mdat()])))).toEqual(['truncated']);
    expect((await walk('isobmff', bytesOf('isobmff', [seed.iso.ftyp(), seed.iso.moov(), { ...seed.iso.mdat(), size: 'wide' }]))).problems).toEqual([]);
  });

  it('checks nested sizes: a child larger than its parent, a size-0 child, slack bytes', async () => {
    const lying = seed.iso.moov({ id: 'trak', body: [{ id: 'tkhd', body: Buffer.alloc(84), size: { delta: 40 } }] });
    expect(await walk('isobmff', bytesOf('isobmff', [seed.iso.ftyp(), lying, seed.iso.mdat()]))).toMatchObject({ problems: [{ kind: 'malformed', message: expect.stringMatching(/beyond the end of its parent box "trak"/) }] });
    const zero = seed.iso.moov({ id: 'free', size: 'zero', body: Buffer.alloc(8) });
    expect(kinds(await walk('isobmff', bytesOf('isobmff', [seed.iso.ftyp(), zero])))).toEqual(['malformed']);
    const slack: El = { id: 'moov', body: [{ id: 'mvhd', body: Buffer.alloc(100) }, { id: 'raw', body: Buffer.alloc(0) }] };
    const withSlack = Buffer.concat([isoBox(seed.iso.ftyp()), isoBox({ ...slack, body: [{ id: 'mvhd', body: Buffer.alloc(100) }], size: { delta: 5 } }), Buffer.alloc(5)]);
    expect(await walk('isobmff', withSlack)).toMatchObject({ problems: [{ kind: 'malformed', message: expect.stringMatching(/5 bytes at the end of box "moov".*slack/) }] });
  });

  it("tolerates QuickTime's zero that ends a udta, by name, and only where the tolerance is on", async () => {
    const udta: El = { id: 'udta', body: [{ id: '\xa9nam', body: Buffer.from('\0\x05\0\0title', 'latin1') }, { id: 'raw', body: Buffer.alloc(0) }] };
    const built = Buffer.concat([isoBox(seed.iso.ftyp()), isoBox({ id: 'moov', body: Buffer.concat([isoBox({ id: 'mvhd', body: Buffer.alloc(100) }), isoBox({ ...udta, body: Buffer.concat([isoBox({ id: '\xa9nam', body: Buffer.from('\0\x05\0\0title', 'latin1') }), Buffer.alloc(4)]) })]) })]);
    expect(await walk('isobmff', built)).toMatchObject({ problems: [], tolerated: [{ name: 'isobmff-udta-zero-terminator' }] });
    expect(kinds(await walk('isobmff', built, { tolerances: new Set() }))).toEqual(['malformed']);
  });

  it('refuses nesting deeper than the walk follows, naming the limit', async () => {
    let deep: El = { id: 'mvhd', body: Buffer.alloc(4) };
    for (let i = 0; i < MAX_DEPTH + 4; i++) deep = { id: 'udta', body: [deep] };
    const r = await walk('isobmff', bytesOf('isobmff', [seed.iso.ftyp(), { id: 'moov', body: [deep] }]));
    expect(r.problems[0]).toMatchObject({ kind: 'unverified', message: expect.stringMatching(new RegExp(`more than the ${MAX_DEPTH}`)) });
  });
});

describe('EBML', () => {
  const mkv = (): Buffer => bytesOf('ebml', seed.mkv());

  it('refuses a real mkv followed by 999 Void elements and a payload (no element limit)', async () => {
    const voids = Buffer.concat(Array.from({ length: 999 }, () => ebmlEl(seed.ebml.void(2))));
    expect(kinds(await walk('ebml', Buffer.concat([mkv(), voids, ZIP])))).toEqual(['trailing-data']);
    expect((await walk('ebml', Buffer.concat([mkv(), voids]))).problems).toEqual([]);
  });

  it('accepts a live WebM whose unknown-size Segment and Clusters run to the end, and refuses anything appended', async () => {
    const live = bytesOf('ebml', seed.liveWebm());
    expect(await walk('ebml', live)).toMatchObject({ problems: [], complete: true });
    expect(kinds(await walk('ebml', Buffer.concat([live, ZIP])))).toEqual(['trailing-data']);
    expect(await walk('ebml', Buffer.concat([live, mkv()]))).toMatchObject({ problems: [{ kind: 'trailing-data', message: expect.stringMatching(/second EBML header/) }] });
    expect(kinds(await walk('ebml', live.subarray(0, live.length - 3)))).toEqual(['truncated']);
  });

  it('refuses a second Segment, an unknown size where Matroska allows none, and nested lies', async () => {
    const segment = seed.mkv()[1]!;
    expect(await walk('ebml', Buffer.concat([mkv(), ebmlEl(segment)]))).toMatchObject({ problems: [{ kind: 'trailing-data', message: expect.stringMatching(/second Segment/) }] });
    const unknownTracks: El = { id: 0x18538067, body: [{ ...seed.ebml.tracks(), size: 'unknown' }] };
    expect(await walk('ebml', bytesOf('ebml', [seed.ebml.header(), unknownTracks]))).toMatchObject({ problems: [{ kind: 'malformed', message: expect.stringMatching(/unknown size/) }] });
    const lie: El = { id: 0x18538067, body: [{ id: 0x1654ae6b, body: [{ id: 0xae, size: { delta: 9 }, body: Buffer.alloc(4) }] }] };
    expect(kinds(await walk('ebml', bytesOf('ebml', [seed.ebml.header(), lie])))).toEqual(['malformed']);
  });

  it('refuses a file without a Segment, and nesting beyond the limit (recursive SimpleTags)', async () => {
    expect(kinds(await walk('ebml', bytesOf('ebml', [seed.ebml.header()])))).toEqual(['truncated']);
    let tag: El = { id: 0x45a3, body: Buffer.from('X') };
    for (let i = 0; i < MAX_DEPTH + 2; i++) tag = { id: 0x67c8, body: [tag] };
    const r = await walk('ebml', bytesOf('ebml', [seed.ebml.header(), { id: 0x18538067, body: [{ id: 0x1254c367, body: [{ id: 0x7373, body: [tag] }] }] }]));
    expect(kinds(r)).toEqual(['unverified']);
  });
});

describe('RIFF', () => {
  const wav = (): Buffer => bytesOf('riff-wave', [seed.riff.wave(seed.riff.info())]);

  it('refuses a second RIFF after a WAV, but walks AVI OpenDML extensions', async () => {
    expect(await walk('riff-wave', Buffer.concat([wav(), wav()]))).toMatchObject({ problems: [{ kind: 'trailing-data', message: expect.stringMatching(/second RIFF/) }] });
    expect((await walk('riff-avi', bytesOf('riff-avi', [seed.riff.avi(), seed.riff.avix()]))).problems).toEqual([]);
    expect(kinds(await walk('riff-avi', Buffer.concat([bytesOf('riff-avi', [seed.riff.avi()]), wav()])))).toEqual(['trailing-data']);
  });

  it('refuses slack bytes (1 to 7) at the end of a RIFF, and a LIST child that overruns the LIST', async () => {
    for (let n = 1; n < 8; n++) {
      const w = seed.riff.wave();
      const padded = bytesOf('riff-wave', [{ ...w, body: [...(w.body as El[]), { id: 'raw', body: Buffer.alloc(0) }] }]);
      const withSlack = Buffer.concat([padded, Buffer.alloc(n)]);
      withSlack.writeUInt32LE(padded.length - 8 + n, 4);
      expect(await walk('riff-wave', withSlack), `${n} bytes`).toMatchObject({ problems: [{ kind: 'malformed', message: expect.stringMatching(/slack/) }] });
    }
    const list: El = { id: 'LIST', meta: Buffer.from('INFO'), body: [{ id: 'ISFT', size: { delta: 8 }, body: Buffer.from('x\0') }] };
    expect(kinds(await walk('riff-wave', bytesOf('riff-wave', [seed.riff.wave(list)])))).toEqual(['malformed']);
  });
});

describe('Ogg', () => {
  it('refuses a chained second stream, a stream without its end, and a page gap', async () => {
    const one = bytesOf('ogg', seed.ogg(1));
    expect(await walk('ogg', Buffer.concat([one, one]))).toMatchObject({ problems: [{ kind: 'malformed' }] }); // same serial twice
    const other = bytesOf('ogg', seed.ogg(1).map((p) => ({ ...p, meta: Buffer.from(p.meta!).fill(7, 1, 2) })));
    expect(await walk('ogg', Buffer.concat([one, other]))).toMatchObject({ problems: [{ kind: 'trailing-data', message: expect.stringMatching(/chained/) }] });
    const pages = seed.ogg(1);
    expect(kinds(await walk('ogg', bytesOf('ogg', pages.slice(0, -1))))).toEqual(['truncated']);
    expect(kinds(await walk('ogg', bytesOf('ogg', [pages[0]!, pages[2]!, pages[3]!])))).toEqual(['malformed']);
  });

  it(`refuses more than ${MAX_OGG_STREAMS} logical streams, naming the limit`, async () => {
    const bos = Array.from({ length: MAX_OGG_STREAMS + 1 }, (_, i) => oggPageEl({ flags: 2 | 4, serial: i, seq: 0 }, Buffer.alloc(1)));
    expect(await walk('ogg', bytesOf('ogg', bos))).toMatchObject({ problems: [{ kind: 'unverified', message: expect.stringMatching(new RegExp(`${MAX_OGG_STREAMS} the structure walk tracks`)) }] });
  });
});

describe('JPEG', () => {
  it('walks 16 MiB of fill bytes in bounded reads (no await per byte) and reports the missing end', async () => {
    const fill = Buffer.alloc(16 << 20, 0xff);
    fill[1] = 0xd8;
    const { report, reads } = await countedWalk(fill, 'jpg');
    expect(kinds(report)).toEqual(['truncated']);
    expect(reads).toBeLessThanOrEqual(Math.ceil(fill.length / WINDOW_BYTES) + 4);
    const stuffed = Buffer.concat([bytesOf('jpeg', seed.jpeg().slice(0, 6)), Buffer.alloc(4 << 20).fill(Buffer.from([0xff, 0x00])), Buffer.from([0xff, 0xd9])]);
    expect((await countedWalk(stuffed, 'jpg')).reads).toBeLessThanOrEqual(Math.ceil(stuffed.length / WINDOW_BYTES) + 4);
  });

  it('tolerates zero padding after the end by name, and refuses anything else', async () => {
    const jpg = bytesOf('jpeg', seed.jpeg());
    expect(await walk('jpeg', Buffer.concat([jpg, Buffer.alloc(100)]))).toMatchObject({ problems: [], tolerated: [{ name: 'jpeg-padding-after-eoi' }] });
    expect(kinds(await walk('jpeg', Buffer.concat([jpg, ZIP])))).toEqual(['trailing-data']);
  });
});

describe('MP3 and FLAC', () => {
  it('walks ID3v2, frames, APE and ID3v1 to the end; refuses what follows or precedes them', async () => {
    const mp3 = bytesOf('mp3', seed.mp3());
    expect(await walk('mp3', mp3)).toMatchObject({ problems: [], complete: true });
    expect(kinds(await walk('mp3', Buffer.concat([mp3, ZIP])))).toEqual(['trailing-data']);
    const frames = bytesOf('mp3', seed.mp3(3, false));
    expect(await walk('mp3', Buffer.concat([frames, id3v2Tag(Buffer.alloc(20)), frames]))).toMatchObject({ problems: [{ kind: 'trailing-data', message: expect.stringMatching(/ID3v2 tag .* after the audio/) }] });
    expect(kinds(await walk('mp3', Buffer.concat([Buffer.alloc(7), frames])))).toEqual(['malformed']);
    expect(kinds(await walk('mp3', frames.subarray(0, frames.length - 100)))).toEqual(['truncated']);
    expect((await walk('mp3', Buffer.concat([frames, apeTag([['Cover Art (Front)', Buffer.alloc(500, 9)]]), id3v1Tag()]))).problems).toEqual([]);
  });

  it('decides a free-format frame is unverified, and a change of stream parameters is a second stream', async () => {
    const free = Buffer.concat([Buffer.from([0xff, 0xfb, 0x00, 0x64]), Buffer.alloc(400)]);
    expect(kinds(await walk('mp3', free))).toEqual(['unverified']);
    const frames = bytesOf('mp3', seed.mp3(2, false));
    const mono48k = Buffer.concat([Buffer.from([0xff, 0xfb, 0x94, 0xc4]), Buffer.alloc(380)]);
    expect(kinds(await walk('mp3', Buffer.concat([frames, mono48k])))).toEqual(['trailing-data']);
  });

  it('proves every FLAC frame by its CRC: appended, cut or altered frames are refused', async () => {
    const flac = bytesOf('flac', seed.flac());
    expect(await walk('flac', flac)).toMatchObject({ problems: [], complete: true });
    expect(kinds(await walk('flac', Buffer.concat([flac, ZIP])))).toEqual(['trailing-data']);
    expect(kinds(await walk('flac', flac.subarray(0, flac.length - 5)))).toEqual(['truncated']);
    const altered = Buffer.from(flac);
    altered.writeUInt8(altered.readUInt8(altered.length - 10) ^ 1, altered.length - 10);
    expect(kinds(await walk('flac', altered))).not.toEqual([]);
    expect((await walk('flac', bytesOf('flac', [...seed.flac(), { id: 'raw', body: apeTag([['Title', Buffer.from('x')]]) }, { id: 'raw', body: id3v1Tag() }]))).problems).toEqual([]);
    const twoInfos = [...seed.flac()];
    twoInfos.splice(2, 0, seed.flac()[1]!);
    expect(kinds(await walk('flac', bytesOf('flac', twoInfos)))).toEqual(['malformed']);
  });
});

describe('the verdict on an unverified structure', () => {
  const strict = { requireMagicMatchesFormat: true } as InputConfig;
  const lenient = { requireMagicMatchesFormat: false } as InputConfig;
  it('refuses at the strict stages and warns at initial, under its own rule', () => {
    const r: StructureReport = { walker: 'isobmff', problems: [{ kind: 'unverified', offset: 40, message: 'size 0' }], complete: true };
    expect(checkStructure(r, strict).violations).toMatchObject([{ rule: 'input.structure.unverified', actual: 'unverified at byte 40' }]);
    expect(checkStructure(r, lenient)).toMatchObject({ violations: [], warnings: [{ rule: 'input.structure.unverified' }] });
  });
  it('treats a walk that did not reach a verdict on every byte as unverified', () => {
    expect(checkStructure({ walker: 'ebml', problems: [], complete: false }, strict).violations.map((v) => v.rule)).toEqual(['input.structure.unverified']);
    expect(checkStructure({ walker: undefined, problems: [], complete: false }, strict).violations).toEqual([]);
  });
});

describe('ADTS (AAC)', () => {
  it('walks every frame of a real ADTS stream to the end; refuses appended bytes, a second stream and a cut frame', async () => {
    const { execFileSync } = await import('node:child_process');
    const aac = execFileSync('/usr/bin/ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000:duration=0.5', '-c:a', 'aac', '-f', 'adts', '-'], { timeout: 20_000, maxBuffer: 1 << 24 });
    expect(await walkBuffer(aac, 'aac')).toMatchObject({ walker: 'adts', problems: [], complete: true });
    expect(kinds(await walkBuffer(Buffer.concat([aac, ZIP]), 'aac'))).toEqual(['trailing-data']);
    const other = execFileSync('/usr/bin/ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=22050:duration=0.2', '-c:a', 'aac', '-f', 'adts', '-'], { timeout: 20_000, maxBuffer: 1 << 24 });
    expect(kinds(await walkBuffer(Buffer.concat([aac, other]), 'aac'))).toEqual(['trailing-data']);
    expect(kinds(await walkBuffer(aac.subarray(0, aac.length - 5), 'aac'))).toEqual(['truncated']);
    expect(kinds(await walkBuffer(Buffer.concat([Buffer.alloc(9), aac]), 'aac'))).toEqual(['malformed']);
  });
});

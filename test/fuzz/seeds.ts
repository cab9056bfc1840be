/**
 * Small valid files of every walked container, as element trees (containers.ts): the seeds the
 * fuzzer mutates and the samples the unit tests start from. Each is accepted by its walker; the
 * fuzz targets check that before they use one.
 */
import { MP3_HEADER, apeTag, flacFrameHeader, id3v1Tag, id3v2Tag, oggPageEl, pngIdat, pngIhdr, streamInfo, type El, type FormatName } from './containers.js';

const z = (n: number, fill = 0): Buffer => Buffer.alloc(n, fill);
const b = (...xs: number[]): Buffer => Buffer.from(xs);

export const iso = {
  ftyp: (): El => ({ id: 'ftyp', body: Buffer.from('isom\0\0\x02\0isomiso2mp41', 'latin1') }),
  moov: (...extra: El[]): El => ({
    id: 'moov',
    body: [
      { id: 'mvhd', body: z(100) },
      {
        id: 'trak',
        body: [
          { id: 'tkhd', body: z(84) },
          { id: 'mdia', body: [{ id: 'mdhd', body: z(24) }, { id: 'hdlr', body: z(33) }, { id: 'minf', body: [{ id: 'stbl', body: [{ id: 'stsd', meta: z(8), body: [{ id: 'avc1', body: z(78) }] }, { id: 'stts', body: z(8) }] }] }] },
        ],
      },
      { id: 'udta', body: [{ id: 'meta', meta: z(4), body: [{ id: 'hdlr', body: z(25) }, { id: 'ilst', body: [{ id: '\xa9too', body: [{ id: 'data', body: Buffer.from('\0\0\0\x01\0\0\0\0Lavf', 'latin1') }] }] }] }] },
      ...extra,
    ],
  }),
  mdat: (n = 64): El => ({ id: 'mdat', body: z(n, 0x11) }),
  free: (n = 0): El => ({ id: 'free', body: z(n) }),
};

export const mp4 = (): El[] => [iso.ftyp(), iso.moov(), iso.mdat()];
/** A fragmented mp4: moov with mvex, then moof/mdat pairs. */
export const fragmentedMp4 = (): El[] => [
  iso.ftyp(),
  iso.moov({ id: 'mvex', body: [{ id: 'trex', body: z(24) }] }),
  { id: 'moof', body: [{ id: 'mfhd', body: z(8) }, { id: 'traf', body: [{ id: 'tfhd', body: z(8) }, { id: 'trun', body: z(12) }] }] },
  iso.mdat(32),
  { id: 'moof', body: [{ id: 'mfhd', body: z(8) }, { id: 'traf', body: [{ id: 'tfhd', body: z(8) }] }] },
  iso.mdat(32),
];

export const ebml = {
  header: (doc = 'webm'): El => ({ id: 0x1a45dfa3, body: [{ id: 0x4286, body: b(1) }, { id: 0x4282, body: Buffer.from(doc) }] }),
  info: (): El => ({ id: 0x1549a966, body: [{ id: 0x2ad7b1, body: b(0x0f, 0x42, 0x40) }, { id: 0x4d80, body: Buffer.from('Lavf') }] }),
  tracks: (): El => ({ id: 0x1654ae6b, body: [{ id: 0xae, body: [{ id: 0xd7, body: b(1) }, { id: 0x86, body: Buffer.from('V_VP8') }, { id: 0xe0, body: [{ id: 0xb0, body: b(64) }, { id: 0xba, body: b(48) }] }] }] }),
  cluster: (blocks = 2, size: El['size'] = 'exact'): El => ({
    id: 0x1f43b675,
    size,
    body: [{ id: 0xe7, body: b(0) }, ...Array.from({ length: blocks }, (_, i): El => ({ id: 0xa3, body: Buffer.concat([b(0x81, 0, i, 0x80), z(20, 0x22)]) }))],
  }),
  tags: (): El => ({ id: 0x1254c367, body: [{ id: 0x7373, body: [{ id: 0x63c0, body: [] }, { id: 0x67c8, body: [{ id: 0x45a3, body: Buffer.from('ENCODER') }, { id: 0x4487, body: Buffer.from('Lavf') }] }] }] }),
  void: (n = 4): El => ({ id: 0xec, body: z(n) }),
};

export const mkv = (): El[] => [ebml.header('matroska'), { id: 0x18538067, body: [ebml.info(), ebml.tracks(), ebml.cluster(), ebml.tags()] }];
/** A live WebM: Segment and Clusters of unknown size, running to the end of the file. */
export const liveWebm = (): El[] => [ebml.header(), { id: 0x18538067, size: 'unknown', body: [ebml.info(), ebml.tracks(), ebml.cluster(2, 'unknown'), ebml.cluster(3, 'unknown')] }];

export const riff = {
  wave: (...chunks: El[]): El => ({ id: 'RIFF', meta: Buffer.from('WAVE'), body: [{ id: 'fmt ', body: z(16, 1) }, ...chunks, { id: 'data', body: z(11, 0x33) }] }),
  info: (): El => ({ id: 'LIST', meta: Buffer.from('INFO'), body: [{ id: 'ISFT', body: Buffer.from('Lavf59\0') }] }),
  avi: (): El => ({
    id: 'RIFF',
    meta: Buffer.from('AVI '),
    body: [
      { id: 'LIST', meta: Buffer.from('hdrl'), body: [{ id: 'avih', body: z(56) }, { id: 'LIST', meta: Buffer.from('strl'), body: [{ id: 'strh', body: z(56) }, { id: 'strf', body: z(40) }] }] },
      { id: 'LIST', meta: Buffer.from('movi'), body: [{ id: '00dc', body: z(21, 0x44) }, { id: '00dc', body: z(8, 0x44) }] },
      { id: 'idx1', body: z(32) },
    ],
  }),
  avix: (): El => ({ id: 'RIFF', meta: Buffer.from('AVIX'), body: [{ id: 'LIST', meta: Buffer.from('movi'), body: [{ id: '00dc', body: z(9, 0x44) }] }] }),
};

const BOS = 2;
const EOS = 4;
export const ogg = (streams = 1): El[] => {
  const pages: El[] = [];
  for (let s = 0; s < streams; s++) pages.push(oggPageEl({ flags: BOS, serial: 100 + s, seq: 0 }, Buffer.from('OpusHead\x01\x02\0\0\x80\xbb\0\0\0\0\0', 'latin1')));
  for (let s = 0; s < streams; s++) pages.push(oggPageEl({ flags: 0, serial: 100 + s, seq: 1 }, Buffer.from('OpusTags\0\0\0\0\0\0\0\0', 'latin1')));
  for (let s = 0; s < streams; s++) pages.push(oggPageEl({ flags: 0, serial: 100 + s, seq: 2 }, z(300, 0x55)));
  for (let s = 0; s < streams; s++) pages.push(oggPageEl({ flags: EOS, serial: 100 + s, seq: 3 }, z(40, 0x55)));
  return pages;
};

export const png = (w = 8, h = 8): El[] => [pngIhdr(w, h), { id: 'tEXt', body: Buffer.from('Comment\0hi') }, pngIdat(), { id: 'IEND', body: Buffer.alloc(0) }];

export const jpeg = (w = 32, h = 16): El[] => {
  const sof = b(8, h >> 8, h & 0xff, w >> 8, w & 0xff, 1, 1, 0x11, 0);
  return [
    { id: 0xd8, body: Buffer.alloc(0) },
    { id: 0xe0, body: Buffer.from('JFIF\0\x01\x01\0\0\x01\0\x01\0\0', 'latin1') },
    { id: 0xdb, body: z(65, 1) },
    { id: 0xc0, body: sof },
    { id: 0xc4, body: z(29, 0) },
    { id: 0xda, body: b(1, 1, 0, 0, 0x3f, 0) },
    { id: 'ecs', body: b(0x12, 0xff, 0x00, 0x34, 0x56) },
    { id: 0xd0, body: Buffer.alloc(0) },
    { id: 'ecs', body: b(0x78, 0x9a) },
    { id: 0xd9, body: Buffer.alloc(0) },
  ];
};

export const mp3 = (frames = 4, tags = true): El[] => [
  ...(tags ? [{ id: 'raw', body: id3v2Tag(Buffer.concat([Buffer.from('TIT2\0\0\0\x06\0\0\0title', 'latin1'), z(20)])) }] : []),
  ...Array.from({ length: frames }, (_, i): El => ({ id: 'frame', meta: MP3_HEADER, body: z(413, i + 1) })),
  ...(tags ? [{ id: 'raw', body: apeTag([['Title', Buffer.from('t')]]) }, { id: 'raw', body: id3v1Tag() }] : []),
];

export const flac = (frames = 3): El[] => [
  { id: 'raw', body: Buffer.from('fLaC') },
  streamInfo(),
  { id: 4, body: Buffer.from('\x04\0\0\0Lavf\0\0\0\0', 'latin1') },
  { id: 1, body: z(16) },
  ...Array.from({ length: frames }, (_, i): El => ({ id: 'frame', meta: flacFrameHeader(i), body: z(30 + 7 * i, 0x66 + i) })),
];

/** The seeds per format. */
export const SEEDS: Readonly<Record<FormatName, ReadonlyArray<() => El[]>>> = {
  isobmff: [mp4, fragmentedMp4, () => [iso.ftyp(), iso.free(8), iso.mdat(), iso.moov()]],
  ebml: [mkv, liveWebm, () => [ebml.header(), ebml.void(2), { id: 0x18538067, body: [ebml.info(), ebml.cluster(1, 'unknown'), ebml.cluster(1)] }]],
  'riff-wave': [() => [riff.wave()], () => [riff.wave(riff.info(), { id: 'fact', body: z(4) })]],
  'riff-avi': [() => [riff.avi()], () => [riff.avi(), riff.avix()]],
  ogg: [() => ogg(1), () => ogg(2)],
  png: [() => png(), () => png(1, 1)],
  jpeg: [() => jpeg()],
  mp3: [() => mp3(), () => mp3(3, false)],
  flac: [() => flac(), () => [{ id: 'raw', body: id3v2Tag(z(10)) }, ...flac(2), { id: 'raw', body: id3v1Tag() }]],
};

/** What the structure mutators insert, per container (see mutate.ts). */
import { MP3_HEADER, apeTag, flacFrameHeader, id3v1Tag, id3v2Tag, oggPageEl, type El, type FormatName } from './containers.js';
import type { Dictionary } from './mutate.js';
import type { Rng } from './rng.js';

const body = (rng: Rng): Buffer => (rng.bool(0.3) ? Buffer.alloc(rng.small(64)) : rng.bytes(rng.small(200)));
const SIZES_ALL = ['exact', 'exact', 'zero', 'wide', { delta: 1 }, { delta: -1 }, { delta: 4 }, { delta: -8 }, { delta: 1 << 20 }] as const;

const ISO_TYPES = ['ftyp', 'moov', 'mdat', 'free', 'skip', 'wide', 'trak', 'mdia', 'minf', 'stbl', 'stsd', 'dref', 'udta', 'meta', 'ilst', 'hdlr', 'moof', 'traf', 'mfra', 'mvex', '\xa9nam', 'uuid', '\0\0\0\x01'];
const ISO_CONTAINERS = ['moov', 'trak', 'mdia', 'minf', 'stbl', 'udta', 'ilst', 'meta', 'moof', 'traf', 'edts', 'dinf'];

const EBML_IDS = [0x1a45dfa3, 0x18538067, 0x1f43b675, 0xa3, 0xa0, 0xa1, 0xe7, 0xec, 0xbf, 0x1654ae6b, 0xae, 0xe0, 0x1549a966, 0x1254c367, 0x7373, 0x67c8, 0x45a3, 0x1c53bb6b, 0xbb, 0x1941a469, 0x61a7, 0x4286, 0x80, 0x123456, 0x7fff];
const EBML_MASTERS = [0x18538067, 0x1f43b675, 0xa0, 0x1654ae6b, 0xae, 0x1254c367, 0x7373, 0x67c8, 0x1043a770, 0xb6, 0x1c53bb6b, 0xbb];

const RIFF_IDS = ['data', 'fmt ', 'JUNK', 'fact', 'LIST', 'RIFF', 'idx1', '00dc', '01wb', 'ix00', 'id3 ', 'bext'];

export const DICTIONARIES: Readonly<Record<FormatName, Dictionary>> = {
  isobmff: {
    leaf: (rng) => ({ id: rng.pick(ISO_TYPES), body: body(rng), ...(rng.bool(0.1) ? { size: rng.pick(SIZES_ALL) } : {}) }),
    container: (rng, children) => ({ id: rng.pick(ISO_CONTAINERS), body: children, ...(rng.bool(0.2) ? { meta: Buffer.alloc(rng.pick([4, 8])) } : {}) }),
    sizes: SIZES_ALL,
  },
  ebml: {
    leaf: (rng) => ({ id: rng.pick(EBML_IDS), body: body(rng) }),
    container: (rng, children) => ({ id: rng.pick(EBML_MASTERS), body: children, ...(rng.bool(0.3) ? { size: 'unknown' as const } : {}) }),
    sizes: ['exact', 'unknown', 'wide', { delta: 1 }, { delta: -1 }, { delta: 100 }],
  },
  'riff-wave': riffDictionary(),
  'riff-avi': riffDictionary(),
  ogg: {
    leaf: (rng) => oggPageEl({ flags: rng.pick([0, 0, 1, 2, 4, 6, 8]), serial: rng.pick([100, 101, 7, rng.int(1 << 30)]), seq: rng.small(8) }, body(rng)),
    sizes: ['exact', { delta: 1 }, { delta: -1 }, { delta: 50 }],
  },
  png: {
    leaf: (rng) => ({ id: rng.pick(['IHDR', 'IDAT', 'IEND', 'tEXt', 'iCCP', 'acTL', 'zzzz', 'PLTE']), body: body(rng) }),
    sizes: ['exact', { delta: 1 }, { delta: -1 }, { delta: 1 << 20 }],
  },
  jpeg: {
    leaf: (rng) => {
      switch (rng.int(4)) {
        case 0:
          return { id: 'ecs', body: Buffer.concat([body(rng), Buffer.from([0xff, rng.pick([0x00, 0xd0, 0xff, 0xd9])])]) };
        case 1:
          return { id: 'raw', body: Buffer.alloc(rng.small(3000), 0xff) };
        default:
          return { id: rng.pick([0xd8, 0xd9, 0xda, 0xc0, 0xc2, 0xc4, 0xdb, 0xdd, 0xe0, 0xe1, 0xfe, 0xd0, 0xd7, 0x01, 0x00]), body: body(rng) };
      }
    },
    sizes: ['exact', { delta: 1 }, { delta: -1 }, { delta: -3 }, { delta: 3000 }],
  },
  mp3: {
    leaf: (rng): El => {
      switch (rng.int(6)) {
        case 0:
          return { id: 'raw', body: id3v2Tag(body(rng), rng.pick([2, 3, 4])) };
        case 1:
          return { id: 'raw', body: id3v1Tag() };
        case 2:
          return { id: 'raw', body: apeTag([[rng.pick(['Title', 'Cover Art (Front)', 'x']), body(rng)]], rng.bool()) };
        case 3:
          return { id: 'raw', body: Buffer.concat([Buffer.from('LYRICSBEGIN'), body(rng), Buffer.from('000020LYRICS200')]) };
        default: {
          const header = Buffer.from(MP3_HEADER);
          if (rng.bool(0.3)) header[2] = rng.int(256);
          if (rng.bool(0.2)) header[1] = rng.int(256);
          return { id: 'frame', meta: header, body: body(rng) };
        }
      }
    },
    sizes: ['exact', { delta: 1 }, { delta: -1 }, { delta: -100 }],
  },
  flac: {
    leaf: (rng): El => {
      switch (rng.int(4)) {
        case 0:
          return { id: rng.pick([0, 1, 2, 3, 4, 5, 6, 7, 127]), body: body(rng) };
        case 1:
          return { id: 'raw', body: rng.pick([id3v1Tag(), apeTag([['Title', body(rng)]]), Buffer.from('fLaC')]) };
        default:
          return { id: 'frame', meta: flacFrameHeader(rng.int(100)), body: body(rng) };
      }
    },
    sizes: ['exact', { delta: 1 }, { delta: 0x100 }],
  },
};

function riffDictionary(): Dictionary {
  return {
    leaf: (rng) => {
      const id = rng.pick(RIFF_IDS);
      return id === 'LIST' || id === 'RIFF' ? { id, meta: Buffer.from(rng.pick(['INFO', 'movi', 'WAVE', 'AVI ', 'AVIX', 'hdrl'])), body: [] } : { id, body: body(rng) };
    },
    container: (rng, children) => ({ id: 'LIST', meta: Buffer.from(rng.pick(['INFO', 'movi', 'hdrl', 'strl'])), body: children }),
    sizes: ['exact', 'zero', { delta: 1 }, { delta: -1 }, { delta: 7 }, { delta: 1 << 20 }],
  };
}

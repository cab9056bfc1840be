/**
 * The container's own framing, walked by a small bounds-checked parser before any decoder runs:
 * ISO-BMFF boxes, RIFF chunks (WAV, AVI), EBML elements (Matroska, WebM), Ogg pages, PNG chunks
 * and JPEG segments must tile the file exactly. What this finds:
 *   - truncation and lying sizes: an element that declares more bytes than the file holds
 *     (a cut download, or a header claiming hours of audio that are not there);
 *   - trailing data: bytes after the container's end (how polyglots are built: a PNG followed by
 *     an mp4, a JPEG followed by a video, an mp4 followed by a playlist);
 *   - garbage where a box or page must start;
 *   - the dimensions an image header declares, checked against the policy whatever ffprobe
 *     manages to report (a decoder that rejects a 100000 × 100000 IHDR reports 0 × 0).
 * Formats without a cheap framing walk (MP3, AAC, FLAC frames) are not walked.
 */
import { judgeRiffSize, type RiffChunk } from './riff-tolerance.js';

/** Positioned reads: fills `buf` from `position`, returns the bytes read (0 at EOF). */
export type ReadAt = (buf: Buffer, position: number) => Promise<number>;

export type StructureProblemKind = 'truncated' | 'inconsistent-size' | 'trailing-data' | 'malformed';

export interface StructureProblem {
  readonly kind: StructureProblemKind;
  readonly offset: number;
  readonly message: string;
}

export interface StructureReport {
  /** Which walker ran, or undefined when the format has none. */
  readonly walker: string | undefined;
  readonly problems: readonly StructureProblem[];
  /** Dimensions declared by an image header (PNG IHDR, JPEG SOF). */
  readonly declared?: { readonly width: number; readonly height: number };
  /** False when the walk stopped early (unknown sizes, or a bound was reached). */
  readonly complete: boolean;
  /** What real writers do that was tolerated (riff-tolerance.ts), for the record. */
  readonly tolerated?: readonly string[];
}

/** A small read-through window so that walkers can ask for a few bytes at a time cheaply. */
class Source {
  private window = Buffer.alloc(0);
  private windowAt = 0;
  constructor(
    private readonly readAt: ReadAt,
    readonly size: number,
    private readonly windowBytes = 64 * 1024,
  ) {}

  /** Up to `len` bytes at `pos` (fewer at EOF). */
  async bytes(pos: number, len: number): Promise<Buffer> {
    if (pos >= this.size || len <= 0) return Buffer.alloc(0);
    const want = Math.min(len, this.size - pos);
    if (pos >= this.windowAt && pos + want <= this.windowAt + this.window.length) {
      return this.window.subarray(pos - this.windowAt, pos - this.windowAt + want);
    }
    const n = Math.max(want, this.windowBytes);
    const buf = Buffer.alloc(Math.min(n, this.size - pos));
    let got = 0;
    while (got < buf.length) {
      const r = await this.readAt(buf.subarray(got), pos + got);
      if (r === 0) break;
      got += r;
    }
    this.window = buf.subarray(0, got);
    this.windowAt = pos;
    return this.window.subarray(0, Math.min(want, got));
  }
}

const MAX_ELEMENTS = 2_000_000;

const printable4 = (b: Buffer, at: number): boolean => {
  for (let i = at; i < at + 4; i++) {
    const c = b[i];
    if (c === undefined || c < 0x20 || c > 0x7e) return false;
  }
  return true;
};

const fourcc = (b: Buffer, at: number): string => b.toString('latin1', at, at + 4);

function beyond(kind: string, name: string, offset: number, declared: number, remain: number): StructureProblem {
  return { kind: 'truncated', offset, message: `truncated: ${kind} "${name}" at byte ${offset} declares ${declared} bytes but only ${remain} remain` };
}

function trailing(offset: number, size: number, what: string): StructureProblem {
  return { kind: 'trailing-data', offset, message: `${size - offset} bytes follow the end of the ${what} at byte ${offset} (another file appended: a polyglot)` };
}

// --- ISO-BMFF (mp4, mov, m4a, 3gp) -------------------------------------------------------------

async function walkIsoBmff(s: Source): Promise<StructureReport> {
  const problems: StructureProblem[] = [];
  let pos = 0;
  for (let n = 0; pos < s.size; n++) {
    if (n >= MAX_ELEMENTS) return { walker: 'isobmff', problems, complete: false };
    const h = await s.bytes(pos, 16);
    if (h.length < 8 || !printable4(h, 4)) {
      problems.push(pos === 0 ? { kind: 'malformed', offset: 0, message: 'the file does not start with an ISO-BMFF box' } : trailing(pos, s.size, 'last ISO-BMFF box'));
      break;
    }
    const type = fourcc(h, 4);
    let boxSize = h.readUInt32BE(0);
    let header = 8;
    if (boxSize === 1) {
      if (h.length < 16) {
        problems.push(beyond('box', type, pos, 16, s.size - pos));
        break;
      }
      boxSize = Number(h.readBigUInt64BE(8));
      header = 16;
    } else if (boxSize === 0) {
      boxSize = s.size - pos;
    }
    if (boxSize < header) {
      problems.push({ kind: 'malformed', offset: pos, message: `box "${type}" at byte ${pos} has an impossible size of ${boxSize}` });
      break;
    }
    if (pos + boxSize > s.size) {
      problems.push(beyond('box', type, pos, boxSize, s.size - pos));
      break;
    }
    pos += boxSize;
  }
  return { walker: 'isobmff', problems, complete: true };
}

// --- RIFF (wav, avi) -----------------------------------------------------------------------------
// What real WAV writers leave in their sizes is decided in riff-tolerance.ts, one tolerance at a time.

/** The chunks of a RIFF file from byte 12 to the end of the file, whatever the RIFF size says. */
async function riffChunks(s: Source): Promise<RiffChunk[]> {
  const chunks: RiffChunk[] = [];
  for (let c = 12; c + 8 <= s.size && chunks.length < MAX_ELEMENTS;) {
    const ch = await s.bytes(c, 12);
    if (!printable4(ch, 0)) break;
    const id = fourcc(ch, 0);
    const length = ch.readUInt32LE(4);
    chunks.push({ id, offset: c, length, ...(id === 'fact' && length >= 4 && ch.length >= 12 ? { samples: ch.readUInt32LE(8) } : {}) });
    c += 8 + length + (length & 1);
  }
  return chunks;
}

/** A WAV whose RIFF size disagrees with its chunks: tolerated, inconsistent, or left to the walk. */
async function wavSizes(s: Source, riffSize: number): Promise<StructureReport | undefined> {
  const v = judgeRiffSize(riffSize, await riffChunks(s), s.size);
  switch (v.kind) {
    case 'tolerated':
      return { walker: 'riff-wave', problems: [], complete: true, tolerated: [v.message] };
    case 'inconsistent':
      return { walker: 'riff-wave', problems: [{ kind: 'inconsistent-size', offset: v.offset, message: v.message }], complete: true };
    case 'consistent':
    case 'walk':
      return undefined;
  }
}

async function walkRiff(s: Source, form: string): Promise<StructureReport> {
  const problems: StructureProblem[] = [];
  if (form === 'WAVE') {
    const head = await s.bytes(0, 12);
    if (head.length === 12 && fourcc(head, 0) === 'RIFF' && fourcc(head, 8) === form) {
      const judged = await wavSizes(s, head.readUInt32LE(4));
      if (judged) return judged;
    }
  }
  let pos = 0;
  let first = true;
  while (pos < s.size) {
    const h = await s.bytes(pos, 12);
    if (h.length < 12 || fourcc(h, 0) !== 'RIFF' || (first && fourcc(h, 8) !== form)) {
      problems.push(first ? { kind: 'malformed', offset: 0, message: `the file does not start with a RIFF "${form}" header` } : trailing(pos, s.size, 'RIFF data'));
      break;
    }
    const riffSize = h.readUInt32LE(4);
    const end = pos + 8 + riffSize;
    if (end > s.size) {
      problems.push(beyond('RIFF chunk', fourcc(h, 8), pos, riffSize + 8, s.size - pos));
      break;
    }
    // The chunks inside must fit too (a data chunk claiming hours the file does not hold).
    let c = pos + 12;
    for (let n = 0; c + 8 <= end && n < MAX_ELEMENTS; n++) {
      const ch = await s.bytes(c, 8);
      const id = fourcc(ch, 0);
      const len = ch.readUInt32LE(4);
      if (!printable4(ch, 0)) {
        problems.push({ kind: 'malformed', offset: c, message: `garbage where a RIFF chunk must start at byte ${c}` });
        break;
      }
      if (c + 8 + len > end) {
        problems.push(beyond('chunk', id, c, len + 8, end - c));
        break;
      }
      c += 8 + len + (len & 1);
    }
    pos = end + (riffSize & 1 && end < s.size ? 1 : 0);
    first = false;
    if (problems.length > 0) break;
  }
  return { walker: `riff-${form.trim().toLowerCase()}`, problems, complete: true };
}

// --- EBML (Matroska, WebM) -----------------------------------------------------------------------

/** An EBML variable-length integer: its length and value (the value keeps the marker bit for IDs). */
function vint(b: Buffer, at: number, keepMarker: boolean): { len: number; value: number; unknown: boolean } | undefined {
  const first = b[at];
  if (first === undefined || first === 0) return undefined;
  let len = 1;
  while (len <= 8 && (first & (0x80 >> (len - 1))) === 0) len++;
  if (len > 8 || at + len > b.length) return undefined;
  let value = keepMarker ? first : first & (0xff >> len);
  let allOnes = (first & (0xff >> len)) === 0xff >> len;
  for (let i = 1; i < len; i++) {
    const x = b[at + i] ?? 0;
    value = value * 256 + x;
    if (x !== 0xff) allOnes = false;
  }
  return { len, value, unknown: !keepMarker && allOnes };
}

const EBML_HEADER = 0x1a45dfa3;
const EBML_SEGMENT = 0x18538067;
const EBML_VOID = 0xec;

async function walkEbml(s: Source): Promise<StructureReport> {
  const problems: StructureProblem[] = [];
  let pos = 0;
  for (let n = 0; pos < s.size && n < 1000; n++) {
    const h = await s.bytes(pos, 12);
    const id = vint(h, 0, true);
    const size = id ? vint(h, id.len, false) : undefined;
    if (!id || !size || (n === 0 && id.value !== EBML_HEADER)) {
      problems.push(n === 0 ? { kind: 'malformed', offset: 0, message: 'the file does not start with an EBML header' } : trailing(pos, s.size, 'Matroska segment'));
      break;
    }
    if (n > 0 && id.value !== EBML_SEGMENT && id.value !== EBML_VOID) {
      problems.push(trailing(pos, s.size, 'Matroska segment'));
      break;
    }
    if (size.unknown) return { walker: 'ebml', problems, complete: false };
    const total = id.len + size.len + size.value;
    if (pos + total > s.size) {
      problems.push(beyond('element', id.value === EBML_SEGMENT ? 'Segment' : `0x${id.value.toString(16)}`, pos, total, s.size - pos));
      break;
    }
    pos += total;
  }
  return { walker: 'ebml', problems, complete: true };
}

// --- Ogg -----------------------------------------------------------------------------------------

async function walkOgg(s: Source): Promise<StructureReport> {
  const problems: StructureProblem[] = [];
  let pos = 0;
  for (let n = 0; pos < s.size; n++) {
    if (n >= MAX_ELEMENTS) return { walker: 'ogg', problems, complete: false };
    const h = await s.bytes(pos, 27 + 255);
    if (h.length < 27 || h.toString('latin1', 0, 4) !== 'OggS') {
      problems.push(pos === 0 ? { kind: 'malformed', offset: 0, message: 'the file does not start with an Ogg page' } : trailing(pos, s.size, 'last Ogg page'));
      break;
    }
    const segments = h[26] ?? 0;
    if (h.length < 27 + segments) {
      problems.push(beyond('Ogg page', `#${n}`, pos, 27 + segments, s.size - pos));
      break;
    }
    let body = 0;
    for (let i = 0; i < segments; i++) body += h[27 + i] ?? 0;
    const total = 27 + segments + body;
    if (pos + total > s.size) {
      problems.push(beyond('Ogg page', `#${n}`, pos, total, s.size - pos));
      break;
    }
    pos += total;
  }
  return { walker: 'ogg', problems, complete: true };
}

// --- PNG -----------------------------------------------------------------------------------------

async function walkPng(s: Source): Promise<StructureReport> {
  const problems: StructureProblem[] = [];
  let declared: { width: number; height: number } | undefined;
  let pos = 8;
  let ended = false;
  for (let n = 0; pos < s.size && n < MAX_ELEMENTS; n++) {
    const h = await s.bytes(pos, 16);
    if (h.length < 8 || !/^[A-Za-z]{4}$/.test(fourcc(h, 4))) {
      problems.push({ kind: 'malformed', offset: pos, message: `garbage where a PNG chunk must start at byte ${pos}` });
      break;
    }
    const len = h.readUInt32BE(0);
    const type = fourcc(h, 4);
    if (n === 0 && type === 'IHDR' && h.length >= 16) declared = { width: h.readUInt32BE(8), height: h.readUInt32BE(12) };
    const total = 12 + len;
    if (pos + total > s.size) {
      problems.push(beyond('chunk', type, pos, total, s.size - pos));
      break;
    }
    pos += total;
    if (type === 'IEND') {
      ended = true;
      break;
    }
  }
  if (problems.length === 0 && !ended) problems.push({ kind: 'truncated', offset: pos, message: 'the PNG has no IEND chunk (truncated)' });
  if (ended && pos < s.size) problems.push(trailing(pos, s.size, 'PNG (IEND)'));
  return { walker: 'png', problems, complete: true, ...(declared ? { declared } : {}) };
}

// --- JPEG ----------------------------------------------------------------------------------------

const isSof = (m: number): boolean => m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc;

async function walkJpeg(s: Source): Promise<StructureReport> {
  const problems: StructureProblem[] = [];
  let declared: { width: number; height: number } | undefined;
  let pos = 2;
  let ended = false;
  for (let n = 0; pos < s.size && n < MAX_ELEMENTS; n++) {
    // Markers: 0xFF (fill bytes allowed) then a code.
    let b = await s.bytes(pos, 2);
    if (b.length === 0) break;
    if (b[0] !== 0xff) {
      problems.push({ kind: 'malformed', offset: pos, message: `garbage where a JPEG marker must start at byte ${pos}` });
      break;
    }
    while (b[1] === 0xff) {
      pos++;
      b = await s.bytes(pos, 2);
    }
    const m = b[1];
    if (m === undefined) break;
    pos += 2;
    if (m === 0xd9) {
      ended = true;
      break;
    }
    if ((m >= 0xd0 && m <= 0xd7) || m === 0x01) continue;
    const lenBuf = await s.bytes(pos, 9);
    if (lenBuf.length < 2) break;
    const len = lenBuf.readUInt16BE(0);
    if (len < 2 || pos + len > s.size) {
      problems.push(beyond('segment', `0xFF${m.toString(16).toUpperCase()}`, pos - 2, len + 2, s.size - pos + 2));
      break;
    }
    if (isSof(m) && declared === undefined && lenBuf.length >= 7) declared = { height: lenBuf.readUInt16BE(3), width: lenBuf.readUInt16BE(5) };
    pos += len;
    if (m === 0xda) {
      // Entropy-coded data: runs until a 0xFF followed by a code that is not 0x00 or RSTn.
      let found = false;
      while (pos < s.size && !found) {
        const chunk = await s.bytes(pos, 64 * 1024);
        if (chunk.length === 0) break;
        let i = 0;
        for (; i < chunk.length - 1; i++) {
          if (chunk[i] !== 0xff) continue;
          const c = chunk[i + 1] ?? 0;
          if (c === 0x00 || c === 0xff || (c >= 0xd0 && c <= 0xd7)) continue;
          found = true;
          break;
        }
        pos += found ? i : Math.max(1, chunk.length - 1);
        if (!found && chunk.length < 2) pos = s.size;
      }
    }
  }
  if (problems.length === 0 && !ended) problems.push({ kind: 'truncated', offset: pos, message: 'the JPEG has no end-of-image marker (truncated)' });
  if (ended && pos < s.size) {
    // Zero or 0xFF padding after EOI is harmless; anything else is another file.
    const rest = await s.bytes(pos, Math.min(s.size - pos, 1024 * 1024));
    const padding = rest.every((x) => x === 0x00 || x === 0xff) && pos + rest.length === s.size;
    if (!padding) problems.push(trailing(pos, s.size, 'JPEG (end-of-image marker)'));
  }
  return { walker: 'jpeg', problems, complete: true, ...(declared ? { declared } : {}) };
}

// --- dispatch ------------------------------------------------------------------------------------

/** Walk the container named by the magic bytes (file-type's extension). */
export async function walkStructure(readAt: ReadAt, size: number, magicType: string | undefined): Promise<StructureReport> {
  const s = new Source(readAt, size);
  switch (magicType) {
    case 'mp4':
    case 'mov':
    case 'm4a':
    case 'm4v':
    case 'm4b':
    case 'm4p':
    case '3gp':
    case '3g2':
    case 'f4v':
      return walkIsoBmff(s);
    case 'wav':
      return walkRiff(s, 'WAVE');
    case 'avi':
      return walkRiff(s, 'AVI ');
    case 'mkv':
    case 'webm':
    case 'mka':
      return walkEbml(s);
    case 'ogg':
    case 'oga':
    case 'ogv':
    case 'ogx':
    case 'opus':
    case 'spx':
      return walkOgg(s);
    case 'png':
    case 'apng':
      return walkPng(s);
    case 'jpg':
      return walkJpeg(s);
    default:
      return { walker: undefined, problems: [], complete: false };
  }
}

/** Convenience for tests and small inputs: walk an in-memory buffer. */
export function walkBuffer(buf: Buffer, magicType: string | undefined): Promise<StructureReport> {
  return walkStructure(async (into, position) => {
    if (position >= buf.length) return 0;
    return buf.copy(into, 0, position, Math.min(buf.length, position + into.length));
  }, buf.length, magicType);
}

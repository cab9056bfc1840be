/**
 * What real WAV writers leave in RIFF sizes, decided one tolerance at a time. The walk
 * (structure.ts) lists the chunks from the first one to the end of the file, ignoring the RIFF
 * header's size; these pure functions say what a disagreement between the two means:
 *   - a streaming placeholder: a writer that could not seek back (sox or lame writing to a pipe)
 *     leaves 0x7FFFF0xx, 0x7FFFFFFF, 0 or 0xFFFFFFFF in the RIFF and data sizes. Tolerated when
 *     every chunk before the data is complete, the data chunk is the last one and runs to the end
 *     of the file (so nothing follows it), and no fact chunk claims a placeholder sample count
 *     (ffprobe would believe the duration it claims: refused as an inconsistent size field);
 *   - off by one chunk: a RIFF size that leaves out exactly its 4-byte fact chunk (the writer
 *     forgot to count it). Tolerated when that fact chunk is not the last, every chunk is
 *     complete and the chunks end exactly where the file ends; any other chunk left out is
 *     data appended after the file;
 *   - any other RIFF size that disagrees with chunks that tile the file exactly: an
 *     "inconsistent size field", refused at the strict stages, never called a truncation.
 * A real truncation (the last chunk runs past the end of the file and the RIFF size agrees)
 * is left to the walk, which calls it "truncated".
 */

export interface RiffChunk {
  readonly id: string;
  readonly offset: number;
  /** The declared length of the chunk's body. */
  readonly length: number;
  /** For a fact chunk: the sample count it declares. */
  readonly samples?: number;
}

export type RiffSizeVerdict =
  | { readonly kind: 'consistent' }
  | { readonly kind: 'tolerated'; readonly tolerance: 'streaming-placeholder' | 'riff-size-off-by-one-chunk'; readonly message: string }
  | { readonly kind: 'inconsistent'; readonly offset: number; readonly message: string }
  /** Not a size-field problem: a truncation or trailing bytes, for the walk to report. */
  | { readonly kind: 'walk' };

const hex = (n: number): string => `0x${n.toString(16).toUpperCase()}`;

/** Sizes written by a writer that could not seek back to fix its header. */
export function isStreamingPlaceholder(size: number): boolean {
  return size === 0 || size === 0xffffffff || (size >= 0x7fff0000 && size <= 0x80000fff);
}

const chunkEnd = (c: RiffChunk): number => c.offset + 8 + c.length;
/** Where the next chunk starts: chunks are padded to an even length. */
const nextOffset = (c: RiffChunk): number => chunkEnd(c) + (c.length & 1);

/** The chunks end exactly where the file ends (the last one's pad byte may be missing). */
function tilesFile(chunks: readonly RiffChunk[], fileSize: number): boolean {
  const last = chunks[chunks.length - 1];
  if (!last) return false;
  for (let i = 1; i < chunks.length; i++) if (chunks[i]!.offset !== nextOffset(chunks[i - 1]!)) return false;
  return chunkEnd(last) === fileSize || nextOffset(last) === fileSize;
}

/** Tolerance 1: placeholder sizes from a writer that streamed to a pipe. */
export function streamingPlaceholder(riffSize: number, chunks: readonly RiffChunk[], fileSize: number): RiffSizeVerdict | undefined {
  const data = chunks[chunks.length - 1];
  if (!data || data.id !== 'data' || 8 + riffSize <= fileSize || !isStreamingPlaceholder(riffSize)) return undefined;
  if (!(isStreamingPlaceholder(data.length) && chunkEnd(data) >= fileSize)) return undefined;
  const before = chunks.slice(0, -1);
  if (!before.some((c) => c.id === 'fmt ') || before.some((c) => nextOffset(c) > data.offset)) return undefined;
  const fact = before.find((c) => c.id === 'fact');
  if (fact?.samples !== undefined && fact.samples !== 0 && isStreamingPlaceholder(fact.samples)) {
    return { kind: 'inconsistent', offset: fact.offset, message: `inconsistent size field: the fact chunk at byte ${fact.offset} counts ${fact.samples} samples, a streaming placeholder the file does not hold (the duration it claims is not the file's)` };
  }
  return { kind: 'tolerated', tolerance: 'streaming-placeholder', message: `streaming placeholder sizes (RIFF ${hex(riffSize)}, data ${hex(data.length)}): the data chunk is the last one and runs to the end of the file` };
}

/** Tolerance 2: the RIFF size leaves out exactly one complete chunk. */
export function offByOneChunk(riffSize: number, chunks: readonly RiffChunk[], fileSize: number): RiffSizeVerdict | undefined {
  const missing = fileSize - (8 + riffSize);
  if (missing <= 0 || !tilesFile(chunks, fileSize)) return undefined;
  // Only the writer bug seen in the wild: a 4-byte fact chunk (a sample count) left out of the
  // count, before the data. Any other chunk outside the RIFF size, and anything last, is bytes
  // appended after the file (a trailing JUNK chunk can carry a whole second file): the walk refuses it.
  const left = chunks.find((c, i) => c.id === 'fact' && c.length === 4 && i < chunks.length - 1 && (8 + c.length === missing || nextOffset(c) - c.offset === missing));
  if (!left) return undefined;
  return { kind: 'tolerated', tolerance: 'riff-size-off-by-one-chunk', message: `the RIFF size (${riffSize}) leaves out the "${left.id}" chunk (${missing} bytes); every chunk is complete and nothing follows them` };
}

/** Pure: what a WAV's RIFF size means, given the chunks that tile the file from byte 12. */
export function judgeRiffSize(riffSize: number, chunks: readonly RiffChunk[], fileSize: number): RiffSizeVerdict {
  if (8 + riffSize === fileSize || 8 + riffSize + 1 === fileSize) return { kind: 'consistent' };
  const t = streamingPlaceholder(riffSize, chunks, fileSize) ?? offByOneChunk(riffSize, chunks, fileSize);
  if (t) return t;
  if (tilesFile(chunks, fileSize)) {
    return { kind: 'inconsistent', offset: 0, message: `inconsistent size field: the RIFF header declares ${riffSize + 8} bytes, but its chunks end at byte ${fileSize}, where the file ends` };
  }
  return { kind: 'walk' };
}

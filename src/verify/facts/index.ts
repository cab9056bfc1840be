/**
 * The output's facts read on the host from the container the wrapper chose, instead of a second
 * sandboxed ffprobe: the magic bytes pick the reader, the structure walk (src/inspect/structure)
 * proves the framing (every byte belongs to an element, no trailing data, no second container),
 * and the reader states the streams from the container's own tables. Where it states them, the
 * output check holds them to what the operation promised exactly as it holds ffprobe's; where a
 * reader refuses, the output is not published; where none can state every fact (a fragmented
 * mp4, a live WebM, Ogg Theora, an MP3 without a Xing header ...), the caller runs the sandboxed probe.
 *
 * The bytes are hostile (a compromised ffmpeg wrote them): every reader is bounds-checked, holds
 * at most a few MiB (MAX_MOOV_BYTES), and is fuzzed (test/fuzz/targets/output-facts.ts).
 */
import type { FileHandle } from 'node:fs/promises';
import { detectMagic } from '../../inspect/magic.js';
import { walkStructure, type ReadAt, type StructureReport } from '../../inspect/structure.js';
import { isobmffFacts } from './isobmff.js';
import { matroskaFacts } from './matroska.js';
import { waveFacts } from './riff-wave.js';
import { flacFacts, mp3Facts, oggFacts } from './audio.js';
import { isStillWalker, stillFacts } from './stills.js';
import { FactsRefusal, FactsUnsupported, type ContainerFacts } from './result.js';
import type { ProbeResult } from '../../inspect/probe-result.js';

export type { ContainerFacts } from './result.js';

/** A reader, given the structure walk's report (its element count bounds what a header may claim). */
type Reader = (readAt: ReadAt, size: number, structure: StructureReport) => Promise<ProbeResult>;
const READERS: Readonly<Record<string, Reader>> = { isobmff: isobmffFacts, ebml: matroskaFacts, 'riff-wave': waveFacts, flac: flacFacts, ogg: oggFacts, mp3: mp3Facts };

export function readAtOf(handle: FileHandle): ReadAt {
  return async (buf, position) => (await handle.read(buf, 0, buf.length, position)).bytesRead;
}

/** Facts of the container in `readAt` (size bytes), or why there are none. */
export async function readContainerFacts(readAt: ReadAt, size: number): Promise<ContainerFacts> {
  const head = Buffer.alloc(Math.min(size, 4100));
  const got = size === 0 ? 0 : await readAt(head, 0);
  const magic = await detectMagic(head.subarray(0, got));
  const structure = await walkStructure(readAt, size, magic.type);
  const reader = structure.walker;
  if (reader === undefined) return { kind: 'unsupported', reason: `no container reader for ${magic.type ? `"${magic.type}"` : 'these magic bytes'}` };
  const problem = structure.problems[0];
  if (problem) return { kind: 'refused', reader, problem: `${problem.kind} at byte ${problem.offset}: ${problem.message}` };
  const read = READERS[reader];
  if (!read && !isStillWalker(reader)) return { kind: 'unsupported', reason: `the ${reader} reader does not state every stream's facts` };
  try {
    const probe = read ? await read(readAt, size, structure) : await stillFacts(structure, readAt, size);
    return { kind: 'facts', probe, reader };
  } catch (e) {
    if (e instanceof FactsUnsupported) return { kind: 'unsupported', reason: e.message };
    if (e instanceof FactsRefusal) return { kind: 'refused', reader, problem: e.message };
    // A Buffer read past a bound this reader should have checked: the bytes are not what a muxer
    // writes. Any other error is a bug of the reader, not ffmpeg's fault: the probe decides.
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ERR_OUT_OF_RANGE' || code === 'ERR_BUFFER_OUT_OF_BOUNDS') return { kind: 'refused', reader, problem: `a field out of bounds (${(e as Error).message})` };
    return { kind: 'unsupported', reason: `the ${reader} reader failed (${e instanceof Error ? e.message : String(e)}); report it` };
  }
}

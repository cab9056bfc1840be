/**
 * The facts of a WAV output: its one fmt chunk (codec from the format tag and bit depth, sample
 * rate, channels, byte rate) and its one data chunk (duration = data bytes / byte rate). Other
 * chunks are those a muxer writes beside them (LIST, fact); anything else is refused.
 */
import { FactsRefusal, FactsUnsupported, probeOf, stream } from './result.js';
import type { ReadAt } from '../../inspect/structure.js';
import { bytesAt } from './read.js';
import type { ProbeResult } from '../../inspect/probe-result.js';

const MAX_CHUNKS = 1024;
const ALSO: ReadonlySet<string> = new Set(['LIST', 'fact']);
const PCM: Readonly<Record<string, string>> = { '1:8': 'pcm_u8', '1:16': 'pcm_s16le', '1:24': 'pcm_s24le', '1:32': 'pcm_s32le', '3:32': 'pcm_f32le', '3:64': 'pcm_f64le' };


export async function waveFacts(readAt: ReadAt, size: number): Promise<ProbeResult> {
  const riff = await bytesAt(readAt, 0, 12, 'the RIFF header');
  if (riff.toString('latin1', 0, 4) !== 'RIFF' || riff.toString('latin1', 8, 12) !== 'WAVE') throw new FactsUnsupported('a RIFF file that is not RIFF/WAVE (RF64?)');
  let fmt: Buffer | undefined;
  let dataBytes: number | undefined;
  let pos = 12;
  for (let n = 0; pos < size; n++) {
    if (n >= MAX_CHUNKS) throw new FactsRefusal(`more than ${MAX_CHUNKS} chunks`);
    const h = await bytesAt(readAt, pos, 8, 'a chunk header');
    const id = h.toString('latin1', 0, 4);
    const len = h.readUInt32LE(4);
    if (pos + 8 + len > size) throw new FactsRefusal(`chunk "${id.replace(/[^\x20-\x7e]/g, '?')}" at byte ${pos} runs past the end of the file`);
    if (id === 'fmt ') {
      if (fmt || len < 16 || len > 64) throw new FactsRefusal(`a second or malformed fmt chunk (${len} bytes)`);
      fmt = await bytesAt(readAt, pos + 8, len);
    } else if (id === 'data') {
      if (dataBytes !== undefined) throw new FactsRefusal('two data chunks');
      dataBytes = len;
    } else if (!ALSO.has(id)) {
      throw new FactsRefusal(`a chunk "${id.replace(/[^\x20-\x7e]/g, '?')}" at byte ${pos}, which the muxer does not write`);
    }
    pos += 8 + len + (len & 1);
  }
  if (!fmt || dataBytes === undefined) throw new FactsRefusal(`no ${fmt ? 'data' : 'fmt'} chunk`);
  let tag = fmt.readUInt16LE(0);
  const channels = fmt.readUInt16LE(2);
  const sampleRate = fmt.readUInt32LE(4);
  const byteRate = fmt.readUInt32LE(8);
  const bits = fmt.readUInt16LE(14);
  if (tag === 0xfffe) {
    if (fmt.length < 40) throw new FactsRefusal('a WAVE_FORMAT_EXTENSIBLE fmt chunk without its sub-format');
    tag = fmt.readUInt16LE(24);
  }
  const codec = PCM[`${tag}:${bits}`];
  if (!codec) throw new FactsUnsupported(`WAV format tag ${tag} at ${bits} bits`);
  if (byteRate === 0 || byteRate !== sampleRate * channels * (bits / 8)) throw new FactsRefusal(`a byte rate of ${byteRate} for ${sampleRate} Hz × ${channels} channels × ${bits} bits`);
  const duration = dataBytes / byteRate;
  return probeOf('wav', duration, [stream(0, 'audio', codec, { sampleRate, channels, duration })]);
}

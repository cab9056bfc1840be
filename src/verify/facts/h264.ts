/**
 * The picture size an H.264 decoder will use, from the sequence parameter set in an
 * AVCDecoderConfigurationRecord (avcC in mp4, CodecPrivate in Matroska), not from what the
 * container claims next to it: a muxer's width and height are a label, the SPS is what decodes.
 * Exactly one SPS is read; more (or none) is left to the sandboxed probe (FactsUnsupported).
 */
import { FactsRefusal, FactsUnsupported } from './result.js';
import { WINDOW_BYTES, type Source } from '../../inspect/structure/source.js';

/** The RBSP of a NAL unit: its emulation-prevention bytes (00 00 03) removed. */
function rbsp(nal: Buffer): Buffer {
  const out = Buffer.alloc(nal.length);
  let n = 0;
  let zeros = 0;
  for (const b of nal) {
    if (zeros >= 2 && b === 3) {
      zeros = 0;
      continue;
    }
    out[n++] = b;
    zeros = b === 0 ? zeros + 1 : 0;
  }
  return out.subarray(0, n);
}

class Bits {
  private pos = 0;
  constructor(private readonly b: Buffer) {}

  u(n: number): number {
    let v = 0;
    for (let i = 0; i < n; i++) {
      const byte = this.b[this.pos >> 3];
      if (byte === undefined) throw new FactsRefusal('the H.264 SPS ends early');
      v = v * 2 + ((byte >> (7 - (this.pos & 7))) & 1);
      this.pos++;
    }
    return v;
  }

  /** ue(v): Exp-Golomb, at most 31 leading zeros. */
  ue(): number {
    let zeros = 0;
    while (this.u(1) === 0) {
      if (++zeros > 31) throw new FactsRefusal('an H.264 SPS field out of range');
    }
    return 2 ** zeros - 1 + this.u(zeros);
  }

  se(): number {
    const k = this.ue();
    return k % 2 === 1 ? (k + 1) / 2 : -(k / 2);
  }
}

const HIGH_PROFILES: ReadonlySet<number> = new Set([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135]);

function skipScalingList(r: Bits, size: number): void {
  let last = 8;
  let next = 8;
  for (let j = 0; j < size; j++) {
    if (next !== 0) next = (last + r.se() + 256) % 256;
    last = next === 0 ? last : next;
  }
}

/** Width and height (after cropping) of the one SPS of an avcC record. */
export function avcPictureSize(avcC: Buffer): { width: number; height: number; nalLengthSize: number } {
  if (avcC.length < 7 || avcC[0] !== 1) throw new FactsUnsupported('an AVC configuration record of another version');
  const nalLengthSize = ((avcC[4] ?? 0) & 3) + 1;
  const count = (avcC[5] ?? 0) & 0x1f;
  if (count !== 1) throw new FactsUnsupported(`${count} H.264 sequence parameter sets`);
  const len = avcC.readUInt16BE(6);
  if (8 + len > avcC.length || len < 4) throw new FactsRefusal('an H.264 SPS that does not fit its configuration record');
  const nal = avcC.subarray(8, 8 + len);
  if (((nal[0] ?? 0) & 0x1f) !== 7) throw new FactsRefusal('the AVC configuration record holds no SPS where one belongs');
  return { ...spsPictureSize(nal), nalLengthSize };
}

/** Width and height (after cropping) of an SPS NAL unit (its header byte included). */
export function spsPictureSize(nal: Buffer): { width: number; height: number } {
  const r = new Bits(rbsp(nal.subarray(1)));
  const profile = r.u(8);
  r.u(16); // constraint flags, level
  r.ue(); // seq_parameter_set_id
  let chroma = 1;
  if (HIGH_PROFILES.has(profile)) {
    chroma = r.ue();
    if (chroma > 3) throw new FactsRefusal(`an H.264 chroma format of ${chroma}`);
    if (chroma === 3) r.u(1);
    r.ue();
    r.ue();
    r.u(1);
    if (r.u(1)) for (let i = 0; i < (chroma === 3 ? 12 : 8); i++) if (r.u(1)) skipScalingList(r, i < 6 ? 16 : 64);
  }
  r.ue(); // log2_max_frame_num_minus4
  const pocType = r.ue();
  if (pocType === 0) r.ue();
  else if (pocType === 1) {
    r.u(1);
    r.se();
    r.se();
    const cycle = r.ue();
    if (cycle > 255) throw new FactsRefusal('an H.264 SPS field out of range');
    for (let i = 0; i < cycle; i++) r.se();
  } else if (pocType !== 2) throw new FactsRefusal(`an H.264 picture order count type of ${pocType}`);
  r.ue(); // max_num_ref_frames
  r.u(1);
  const wMbs = r.ue() + 1;
  const hUnits = r.ue() + 1;
  const frameMbsOnly = r.u(1);
  if (!frameMbsOnly) r.u(1);
  r.u(1); // direct_8x8_inference
  let [cl, cr, ct, cb] = [0, 0, 0, 0];
  if (r.u(1)) [cl, cr, ct, cb] = [r.ue(), r.ue(), r.ue(), r.ue()];
  const subW = chroma === 1 || chroma === 2 ? 2 : 1;
  const subH = chroma === 1 ? 2 : 1;
  const cropX = chroma === 0 ? 1 : subW;
  const cropY = (chroma === 0 ? 1 : subH) * (2 - frameMbsOnly);
  const width = wMbs * 16 - cropX * (cl + cr);
  const height = (2 - frameMbsOnly) * hUnits * 16 - cropY * (ct + cb);
  if (width <= 0 || height <= 0) throw new FactsRefusal(`an H.264 SPS cropped to ${width}x${height}`);
  return { width, height };
}

/**
 * The picture sizes of the parameter sets a length-prefixed sample carries of its own (a decoder
 * switches to them). A subset SPS (SVC/MVC) or a sample that does not split into NAL units
 * cleanly is not read here.
 */
export function inBandSizes(sample: Buffer, nalLengthSize: number): Array<{ width: number; height: number }> {
  const sizes: Array<{ width: number; height: number }> = [];
  let pos = 0;
  while (pos + nalLengthSize <= sample.length) {
    const len = sample.readUIntBE(pos, nalLengthSize);
    pos += nalLengthSize;
    if (len === 0 || pos + len > sample.length) throw new FactsUnsupported('a video sample that does not split into NAL units');
    const type = (sample[pos] ?? 0) & 0x1f;
    if (type === 15) throw new FactsUnsupported('a subset sequence parameter set (SVC/MVC)');
    if (type === 7) sizes.push(spsPictureSize(sample.subarray(pos, pos + len)));
    pos += len;
  }
  if (pos !== sample.length) throw new FactsUnsupported('a video sample that does not split into NAL units');
  return sizes;
}

/** A sample larger than this is not read here (an 8K intra frame is a few MiB). */
export const MAX_SAMPLE_BYTES = 32 * 1024 * 1024;

/**
 * Every sample of an H.264 track, `[offset, length]` in file order, searched for parameter sets
 * of its own: a decoder switches to them, so the picture size the stream reaches is the largest
 * of every SPS it carries (ffprobe reads only the first frames). Read through one sequential
 * window (`Source`), so a track of 100k small samples costs a few hundred reads.
 */
export async function largestInBand(s: Source, ranges: Iterable<readonly [number, number]>, nalLengthSize: number, into: { width: number; height: number }): Promise<void> {
  for (const [at, len] of ranges) {
    if (len > MAX_SAMPLE_BYTES) throw new FactsUnsupported(`a video sample of ${len} bytes`);
    let sample: Buffer;
    if (len <= WINDOW_BYTES) {
      sample = await s.bytes(at, len);
    } else {
      sample = Buffer.alloc(len);
      let got = 0;
      while (got < len) {
        const part = await s.bytes(at + got, Math.min(WINDOW_BYTES, len - got));
        if (part.length === 0) break;
        part.copy(sample, got);
        got += part.length;
      }
      if (got < len) sample = sample.subarray(0, got);
    }
    if (sample.length < len) throw new FactsRefusal('the file ends inside a video sample');
    for (const sz of inBandSizes(sample, nalLengthSize)) {
      into.width = Math.max(into.width, sz.width);
      into.height = Math.max(into.height, sz.height);
    }
  }
}

/**
 * The picture size an H.264 decoder will use, from the sequence parameter set in an
 * AVCDecoderConfigurationRecord (avcC in mp4, CodecPrivate in Matroska), not from what the
 * container claims next to it: a muxer's width and height are a label, the SPS is what decodes.
 * Exactly one SPS is read; more (or none) is left to the sandboxed probe (FactsUnsupported).
 */
import { FactsRefusal, FactsUnsupported } from './result.js';

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
  return { width, height, nalLengthSize };
}

/** Whether a length-prefixed sample carries parameter sets of its own (which would override the record's). */
export function sampleHasParameterSets(sample: Buffer, nalLengthSize: number): boolean {
  let pos = 0;
  while (pos + nalLengthSize <= sample.length) {
    const len = sample.readUIntBE(pos, nalLengthSize);
    pos += nalLengthSize;
    if (len === 0 || pos + len > sample.length) return true; // not a clean sample: let the probe decide
    const type = (sample[pos] ?? 0) & 0x1f;
    if (type === 7 || type === 8 || type === 13 || type === 15) return true;
    pos += len;
  }
  return pos !== sample.length;
}

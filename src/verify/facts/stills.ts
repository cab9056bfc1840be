/**
 * The facts of a single-picture output (PNG, JPEG): one video stream of that codec, with the
 * size its header declares (the structure walk read IHDR or SOF and proved the rest of the file;
 * for these formats the header is what decodes). An animated PNG (acTL before the image data)
 * or a JPEG whose height is left to a DNL marker is not read here (FactsUnsupported).
 */
import { FactsRefusal, FactsUnsupported, probeOf, stream } from './result.js';
import type { ReadAt, StructureReport } from '../../inspect/structure.js';
import type { ProbeResult } from '../../inspect/probe-result.js';

const STILLS: Readonly<Record<string, { readonly formatName: string; readonly codec: string }>> = {
  png: { formatName: 'png_pipe', codec: 'png' },
  jpeg: { formatName: 'jpeg_pipe', codec: 'mjpeg' },
};

export function isStillWalker(walker: string | undefined): boolean {
  return walker !== undefined && walker in STILLS;
}

/** Whether a PNG has an animation control chunk before its first IDAT (it is then an APNG). */
async function animated(readAt: ReadAt, size: number): Promise<boolean> {
  const h = Buffer.alloc(8);
  let pos = 8;
  for (let n = 0; pos + 8 <= size && n < 100_000; n++) {
    if ((await readAt(h, pos)) < 8) return false;
    const type = h.toString('latin1', 4, 8);
    if (type === 'acTL' || type === 'fcTL') return true;
    if (type === 'IDAT' || type === 'IEND') return false;
    pos += 12 + h.readUInt32BE(0);
  }
  return false;
}

export async function stillFacts(structure: StructureReport, readAt: ReadAt, size: number): Promise<ProbeResult> {
  const s = structure.walker === undefined ? undefined : STILLS[structure.walker];
  if (!s) throw new FactsRefusal(`no still picture reader for "${structure.walker ?? 'none'}"`);
  if (!structure.declared) throw new FactsRefusal('the picture does not declare its size');
  if (structure.declared.width === 0 || structure.declared.height === 0) throw new FactsUnsupported('a picture that does not state its size in its header');
  if (structure.walker === 'png' && (await animated(readAt, size))) throw new FactsUnsupported('an animated PNG');
  return probeOf(s.formatName, undefined, [stream(0, 'video', s.codec, { width: structure.declared.width, height: structure.declared.height })]);
}

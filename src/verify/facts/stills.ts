/**
 * The facts of a single-picture output (PNG, JPEG): one video stream of that codec, with the
 * size its header declares (the structure walk read IHDR or SOF and proved the rest of the file).
 */
import { FactsRefusal, probeOf, stream } from './result.js';
import type { StructureReport } from '../../inspect/structure.js';
import type { ProbeResult } from '../../inspect/probe-result.js';

const STILLS: Readonly<Record<string, { readonly formatName: string; readonly codec: string }>> = {
  png: { formatName: 'png_pipe', codec: 'png' },
  jpeg: { formatName: 'jpeg_pipe', codec: 'mjpeg' },
};

export function isStillWalker(walker: string | undefined): boolean {
  return walker !== undefined && walker in STILLS;
}

export function stillFacts(structure: StructureReport): ProbeResult {
  const s = structure.walker === undefined ? undefined : STILLS[structure.walker];
  if (!s) throw new FactsRefusal(`no still picture reader for "${structure.walker ?? 'none'}"`);
  if (!structure.declared) throw new FactsRefusal('the picture does not declare its size');
  return probeOf(s.formatName, undefined, [stream(0, 'video', s.codec, { width: structure.declared.width, height: structure.declared.height })]);
}

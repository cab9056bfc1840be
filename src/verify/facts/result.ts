/**
 * What reading an output's container yields: the facts the output check needs (the same shape
 * ffprobe's JSON is parsed into), a refusal (the container is not what a muxer writes: data
 * that belongs to no sample, tables that disagree), or "unsupported" (this reader cannot state
 * every fact, and the sandboxed ffprobe is asked instead).
 */
import type { ProbeResult, ProbeStream } from '../../inspect/probe-result.js';

export type ContainerFacts =
  | { readonly kind: 'facts'; readonly probe: ProbeResult; readonly reader: string }
  | { readonly kind: 'refused'; readonly reader: string; readonly problem: string }
  | { readonly kind: 'unsupported'; readonly reason: string };

/** Thrown inside a reader for a container that is wrong; caught by readContainerFacts. */
export class FactsRefusal extends Error {}

/** Thrown inside a reader for what it does not read; the sandboxed probe decides instead. */
export class FactsUnsupported extends Error {}

/** A stream as the output check sees it; what a container does not state is undefined. */
export function stream(index: number, codecType: string, codecName: string | undefined, f: Partial<Pick<ProbeStream, 'width' | 'height' | 'frameRate' | 'sampleRate' | 'channels' | 'duration'>> = {}): ProbeStream {
  return {
    index,
    codecType,
    codecName,
    width: f.width,
    height: f.height,
    frameRate: f.frameRate,
    sampleRate: f.sampleRate,
    channels: f.channels,
    duration: f.duration,
    bitRate: undefined,
    tags: Object.create(null) as Record<string, string>,
    attachedPic: false,
  };
}

export function probeOf(formatName: string, duration: number | undefined, streams: readonly ProbeStream[]): ProbeResult {
  return {
    formatName,
    duration,
    bitRate: undefined,
    nbStreams: streams.length,
    tags: Object.create(null) as Record<string, string>,
    streams,
    chapters: 0,
    chapterTags: [],
  };
}

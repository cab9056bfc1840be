/**
 * What one ffmpeg/ffprobe build can do, read from its own `-h full` and `-decoders` listings
 * rather than assumed from a version number: distributions backport security options (the hls
 * demuxer's allowed_segment_extensions and extension_picky are such late backports), so only
 * the listing says whether an option exists. Pure: detect.ts runs the binary, this parses.
 */

export interface DecoderFacts {
  /** V, A, S (video, audio, subtitle) or D/T for data/attachment decoders. */
  readonly type: string;
  /** The codec the decoder decodes (its own name unless the listing says "(codec x)"). */
  readonly codec: string;
}

export interface Capabilities {
  /** Options by section: "global" (program options), "AVFormatContext", "AVCodecContext", or an AVClass name ("hls demuxer", "mov,mp4,m4a,3gp,3g2,mj2"). */
  readonly sections: Readonly<Record<string, readonly string[]>>;
  readonly decoders: Readonly<Record<string, DecoderFacts>>;
}

/** Pure: `ffmpeg -hide_banner -h full` → option names by section. */
export function parseHelpFull(text: string): Record<string, string[]> {
  const out: Record<string, Set<string>> = { global: new Set() };
  let section = 'global';
  for (const line of text.split('\n')) {
    const header = /^(\S.*) AVOptions:\s*$/.exec(line);
    if (header?.[1] !== undefined) {
      section = header[1];
      out[section] ??= new Set();
      continue;
    }
    if (section === 'global') {
      const g = /^-([A-Za-z0-9_:]+)\b/.exec(line);
      if (g?.[1] !== undefined) out['global']?.add(g[1]);
      continue;
    }
    const o = /^ {2}-([A-Za-z0-9_]+)\s/.exec(line);
    if (o?.[1] !== undefined) out[section]?.add(o[1]);
  }
  const result: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(out)) result[k] = [...v].sort();
  return result;
}

/** Pure: `ffmpeg -hide_banner -decoders` → decoder name → type and codec. */
export function parseDecoders(text: string): Record<string, DecoderFacts> {
  const out: Record<string, DecoderFacts> = {};
  let started = false;
  for (const line of text.split('\n')) {
    if (/^\s*-{4,}\s*$/.test(line)) {
      started = true;
      continue;
    }
    if (!started) continue;
    const m = /^ ([VASDT])[.A-Z]{5} (\S+)\s+(.*)$/.exec(line);
    if (!m?.[1] || !m[2]) continue;
    const codec = /\(codec ([A-Za-z0-9_]+)\)\s*$/.exec(m[3] ?? '')?.[1] ?? m[2];
    out[m[2]] = { type: m[1], codec };
  }
  return out;
}

export function hasOption(caps: Capabilities, section: string, option: string): boolean {
  return caps.sections[section]?.includes(option) ?? false;
}

/**
 * Pure: the stream type a decoder belongs to, for reporting ("video", "audio", "subtitle").
 * A lookup in the decoder listing: inspect needs it to name the policy rule a refused decoder
 * breaks, so it lives with the listing rather than with the planning.
 */
export function decoderStreamType(decoder: string, caps: Capabilities | undefined): 'video' | 'audio' | 'subtitle' | undefined {
  const t = caps?.decoders[decoder]?.type;
  return t === 'V' ? 'video' : t === 'A' ? 'audio' : t === 'S' ? 'subtitle' : undefined;
}

/**
 * Which decoders a codec whitelist must name. -codec_whitelist matches decoder names, which
 * are not always codec names (mp3 → mp3float, mp3; av1 → libdav1d, libaom-av1, av1), so a
 * whitelist of codec names would refuse good files or, worse, be widened by hand.
 */
import type { Capabilities } from '../../posture/capabilities/listing.js';

/** Decoder names that differ from their codec's name in common builds (used when the listing is unknown). */
const KNOWN_DECODERS: Readonly<Record<string, readonly string[]>> = {
  mp3: ['mp3float', 'mp3'],
  mp2: ['mp2float', 'mp2'],
  mp1: ['mp1float', 'mp1'],
  aac: ['aac', 'aac_fixed'],
  ac3: ['ac3', 'ac3_fixed'],
  vorbis: ['vorbis', 'libvorbis'],
  opus: ['opus', 'libopus'],
  vp8: ['vp8', 'libvpx'],
  vp9: ['vp9', 'libvpx-vp9'],
  av1: ['libdav1d', 'libaom-av1', 'av1'],
  flv1: ['flv'],
  subrip: ['srt', 'subrip'],
};

/** Pure: every decoder of these codecs, from the build's listing when known. */
/** The build's decoders by the codec they decode, indexed once per listing (a build has hundreds). */
const byCodecOf = new WeakMap<Capabilities, ReadonlyMap<string, readonly string[]>>();

function decodersByCodec(caps: Capabilities): ReadonlyMap<string, readonly string[]> {
  let index = byCodecOf.get(caps);
  if (!index) {
    const m = new Map<string, string[]>();
    for (const [name, d] of Object.entries(caps.decoders)) {
      const list = m.get(d.codec);
      if (list) list.push(name);
      else m.set(d.codec, [name]);
    }
    index = m;
    byCodecOf.set(caps, index);
  }
  return index;
}

export function decodersFor(codecs: readonly string[], caps: Capabilities | undefined): string[] {
  const out = new Set<string>();
  const index = caps ? decodersByCodec(caps) : undefined;
  for (const c of codecs) {
    const found = index?.get(c);
    for (const d of found ?? KNOWN_DECODERS[c] ?? [c]) out.add(d);
  }
  return [...out].sort();
}

/**
 * Which magic-byte types, file extensions and ffprobe demuxers belong together. A file is
 * what all three agree it is; a disagreement is how polyglots and renamed playlists show.
 */

export interface FormatFamily {
  readonly id: string;
  /** file-type extensions reported for this family's magic bytes. */
  readonly magic: readonly string[];
  /** File name extensions users give such files. */
  readonly extensions: readonly string[];
  /** ffprobe demuxer names (entries of format_name) for this family. */
  readonly demuxers: readonly string[];
}

export const FORMAT_FAMILIES: readonly FormatFamily[] = [
  { id: 'isobmff', magic: ['mp4', 'mov', 'm4a', 'm4v', 'm4b', 'm4p', '3gp', '3g2', 'f4v', 'heic', 'avif'], extensions: ['mp4', 'm4v', 'm4a', 'm4b', 'mov', 'qt', '3gp', '3g2', 'f4v'], demuxers: ['mov', 'mp4', 'm4a', '3gp', '3g2', 'mj2'] },
  { id: 'matroska', magic: ['mkv', 'webm', 'mka'], extensions: ['mkv', 'mka', 'webm'], demuxers: ['matroska', 'webm'] },
  { id: 'wav', magic: ['wav'], extensions: ['wav', 'wave'], demuxers: ['wav'] },
  { id: 'aiff', magic: ['aif'], extensions: ['aif', 'aiff', 'aifc'], demuxers: ['aiff'] },
  { id: 'mp3', magic: ['mp3', 'mp2', 'mp1'], extensions: ['mp3'], demuxers: ['mp3'] },
  { id: 'aac', magic: ['aac'], extensions: ['aac'], demuxers: ['aac'] },
  { id: 'flac', magic: ['flac'], extensions: ['flac'], demuxers: ['flac'] },
  { id: 'ogg', magic: ['ogg', 'oga', 'ogv', 'ogx', 'opus', 'spx'], extensions: ['ogg', 'oga', 'ogv', 'opus', 'spx'], demuxers: ['ogg'] },
  { id: 'png', magic: ['png', 'apng'], extensions: ['png', 'apng'], demuxers: ['png_pipe', 'image2', 'apng'] },
  { id: 'jpeg', magic: ['jpg'], extensions: ['jpg', 'jpeg'], demuxers: ['jpeg_pipe', 'image2'] },
  { id: 'gif', magic: ['gif'], extensions: ['gif'], demuxers: ['gif', 'gif_pipe'] },
  { id: 'webp', magic: ['webp'], extensions: ['webp'], demuxers: ['webp_pipe'] },
  { id: 'avi', magic: ['avi'], extensions: ['avi'], demuxers: ['avi'] },
  { id: 'mpeg', magic: ['mpg'], extensions: ['mpg', 'mpeg', 'vob', 'mod'], demuxers: ['mpeg'] },
  { id: 'mpegts', magic: ['mts', 'ts', 'm2ts'], extensions: ['ts', 'mts', 'm2ts'], demuxers: ['mpegts'] },
  { id: 'flv', magic: ['flv'], extensions: ['flv'], demuxers: ['flv'] },
];

export function familyOfMagic(magic: string): FormatFamily | undefined {
  return FORMAT_FAMILIES.find((f) => f.magic.includes(magic));
}

export function familyOfExtension(ext: string): FormatFamily | undefined {
  return FORMAT_FAMILIES.find((f) => f.extensions.includes(ext.toLowerCase()));
}

/** ffprobe's format_name is a comma-separated list of the demuxer's names. */
export function demuxerNames(formatName: string): string[] {
  return formatName.split(',').map((s) => s.trim()).filter(Boolean);
}

/** Does the demuxer ffprobe picked belong to this family? (image2 serves several families.) */
export function demuxerInFamily(formatName: string, family: FormatFamily): boolean {
  return demuxerNames(formatName).some((n) => family.demuxers.includes(n));
}

export function familyOfDemuxer(formatName: string): FormatFamily | undefined {
  const names = demuxerNames(formatName);
  return FORMAT_FAMILIES.find((f) => names.some((n) => f.demuxers.includes(n)));
}

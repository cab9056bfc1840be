/**
 * What ffprobe's diagnostics mean. ffprobe runs with `-v error`, so every line is an error to
 * some parser, but not every error is about the media:
 *   - metadata: a damaged tag or metadata frame that the demuxer skipped (an ID3 comment frame
 *     with a BOM ffmpeg rejects, as lame 3.100 writes it). The audio and video are untouched,
 *     and no tag reaches the output (the job always runs with -map_metadata -1). Recorded as a
 *     warning, never a refusal.
 *   - withheld: "Codec (X) not on whitelist": the probe refused to open a decoder the policy
 *     does not allow. Not damage: the stream is judged by the codec rules, which know whether
 *     the job reads it.
 *   - errors: everything else (a decoder or a demuxer that met bytes it could not parse). At
 *     the strict stages these refuse, as before: errors in the streams the job decodes must.
 * Matching is on the exact messages of FFmpeg's tag parsers (libavformat/id3v2.c); anything
 * not recognised stays an error (fail closed).
 * Pure.
 */

export interface ProbeDiagnostics {
  readonly metadata: readonly string[];
  readonly withheld: readonly string[];
  readonly errors: readonly string[];
}

/** An optional "[name @ 0x...] " context prefix and a "[level] " tag. */
const PREFIX = /^(?:\[[^\]]{1,80}\]\s*)*/;

/** FFmpeg's messages for a tag frame it skipped (id3v2.c), as they appear at -v error. */
const METADATA_MESSAGES: readonly RegExp[] = [
  /^Incorrect BOM value$/,
  /^Cannot read BOM value, input too short$/,
  /^Error reading comment frame, skipped$/,
  /^Error reading lyrics, skipped$/,
  /^Error reading frame [A-Za-z0-9]{3,4}, skipped$/,
  /^Error decoding attached picture description\.?$/,
];

const WITHHELD = /^Codec \([A-Za-z0-9_-]+\) not on whitelist/;
const REPEATED = /^Last message repeated \d+ times?$/;

export function classifyDiagnostics(stderr: string): ProbeDiagnostics {
  const metadata: string[] = [];
  const withheld: string[] = [];
  const errors: string[] = [];
  let last: string[] | undefined;
  for (const raw of stderr.split('\n')) {
    const line = raw.trim().replace(PREFIX, '').trim();
    if (line === '') continue;
    // "Last message repeated" belongs with the line it repeats.
    const into = REPEATED.test(line) && last ? last : METADATA_MESSAGES.some((m) => m.test(line)) ? metadata : WITHHELD.test(line) ? withheld : errors;
    into.push(line);
    last = into;
  }
  return { metadata, withheld, errors };
}

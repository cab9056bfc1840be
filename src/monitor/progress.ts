/**
 * ffmpeg's periodic stats line (`-stats`), read for the progress bar only: it is ffmpeg's own
 * word about its progress, shown to the user, never used to decide anything.
 */

export interface StatsLine {
  /** Output media time written so far, in seconds. */
  readonly seconds: number;
  /** ffmpeg's speed as printed, e.g. "2.5x" or "N/A". */
  readonly speed: string | undefined;
}

const STATS = /time=(\d+):(\d+):(\d+(?:\.\d+)?)[^\n\r]*?speed=\s*([\d.]+x|N\/A)?/;

/** Pure: the stats in a chunk of ffmpeg's stderr, if it holds a stats line. */
export function parseStatsLine(chunk: string): StatsLine | undefined {
  const m = STATS.exec(chunk);
  if (!m) return undefined;
  const seconds = Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]);
  return { seconds, speed: m[4] };
}

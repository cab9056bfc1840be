/**
 * ffprobe's JSON is untrusted output of a parser that just read hostile bytes. Parse it once,
 * into typed values, refusing anything malformed.
 */

export interface ProbeStream {
  readonly index: number;
  readonly codecType: string;
  readonly codecName: string | undefined;
  readonly width: number | undefined;
  readonly height: number | undefined;
  readonly frameRate: number | undefined;
  readonly sampleRate: number | undefined;
  readonly channels: number | undefined;
  readonly duration: number | undefined;
  readonly bitRate: number | undefined;
  readonly tags: Readonly<Record<string, string>>;
  readonly attachedPic: boolean;
}

export interface ProbeResult {
  readonly formatName: string;
  readonly duration: number | undefined;
  readonly bitRate: number | undefined;
  readonly nbStreams: number;
  readonly tags: Readonly<Record<string, string>>;
  readonly streams: readonly ProbeStream[];
  readonly chapters: number;
  /** Tags of each chapter (they count towards the metadata limits too). */
  readonly chapterTags: ReadonlyArray<Readonly<Record<string, string>>>;
}

export class ProbeParseError extends Error {}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function num(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && v.trim() !== '' && v !== 'N/A') {
    const n = Number(v);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

/** "30000/1001" → 29.97; "0/0" → undefined. */
export function parseRate(v: unknown): number | undefined {
  if (typeof v !== 'string') return undefined;
  const m = /^(\d+)\/(\d+)$/.exec(v);
  if (!m) return num(v);
  const d = Number(m[2]);
  return d === 0 ? undefined : Number(m[1]) / d;
}

/**
 * Tags are keys chosen by whoever wrote the file. They are copied into an object without a
 * prototype, so every key is an own entry: `__proto__`, `constructor` and `prototype` are
 * counted against the metadata limits like any other key and cannot change what the object is.
 * (JSON.parse already makes `__proto__` an own property; assigning it to a plain object would
 * have set the prototype instead, and the key would have vanished from the count.)
 */
function tagsOf(v: unknown): Readonly<Record<string, string>> {
  const out = Object.create(null) as Record<string, string>;
  if (!isObj(v)) return out;
  for (const [k, val] of Object.entries(v)) {
    Object.defineProperty(out, k, { value: typeof val === 'string' ? val : JSON.stringify(val) ?? 'null', enumerable: true, writable: false, configurable: false });
  }
  return out;
}

export function parseProbeJson(text: string): ProbeResult {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new ProbeParseError('ffprobe printed invalid JSON');
  }
  if (!isObj(raw) || !isObj(raw['format'])) throw new ProbeParseError('ffprobe found no container format');
  const f = raw['format'];
  const formatName = f['format_name'];
  if (typeof formatName !== 'string' || formatName === '') throw new ProbeParseError('ffprobe reported no format name');
  const streamsRaw = raw['streams'] ?? [];
  if (!Array.isArray(streamsRaw)) throw new ProbeParseError('ffprobe streams are not a list');
  const streams: ProbeStream[] = streamsRaw.map((s: unknown, i: number) => {
    if (!isObj(s)) throw new ProbeParseError(`stream ${i} is not an object`);
    const disposition = isObj(s['disposition']) ? s['disposition'] : {};
    const rate = parseRate(s['avg_frame_rate']) ?? parseRate(s['r_frame_rate']);
    return {
      index: num(s['index']) ?? i,
      codecType: typeof s['codec_type'] === 'string' ? s['codec_type'] : 'unknown',
      codecName: typeof s['codec_name'] === 'string' ? s['codec_name'] : undefined,
      width: num(s['width']),
      height: num(s['height']),
      frameRate: rate,
      sampleRate: num(s['sample_rate']),
      channels: num(s['channels']),
      duration: num(s['duration']),
      bitRate: num(s['bit_rate']),
      tags: tagsOf(s['tags']),
      attachedPic: num(disposition['attached_pic']) === 1,
    };
  });
  const chaptersRaw: unknown[] = Array.isArray(raw['chapters']) ? raw['chapters'] : [];
  const chapters = chaptersRaw.length;
  const chapterTags = chaptersRaw.map((c) => (isObj(c) ? tagsOf(c['tags']) : {}));
  return {
    formatName,
    duration: num(f['duration']),
    bitRate: num(f['bit_rate']),
    nbStreams: num(f['nb_streams']) ?? streams.length,
    tags: tagsOf(f['tags']),
    streams,
    chapters,
    chapterTags,
  };
}

/** A short summary for the audit record and --json. */
export function summarizeProbe(p: ProbeResult): Record<string, unknown> {
  return {
    format: p.formatName,
    duration: p.duration,
    bitRate: p.bitRate,
    streams: p.streams.map((s) => ({
      type: s.codecType,
      codec: s.codecName,
      ...(s.width !== undefined ? { width: s.width, height: s.height } : {}),
      ...(s.frameRate !== undefined && s.codecType === 'video' ? { fps: Math.round(s.frameRate * 1000) / 1000 } : {}),
      ...(s.sampleRate !== undefined ? { sampleRate: s.sampleRate, channels: s.channels } : {}),
    })),
  };
}

/**
 * The codecs of the audio and video streams ffprobe found (codec names, not decoder names);
 * with `used`, only of the streams the job reads.
 */
export function probedCodecs(p: ProbeResult, used?: ReadonlySet<number>): string[] {
  const out = new Set<string>();
  for (const s of p.streams) {
    if (used !== undefined && !used.has(s.index)) continue;
    if ((s.codecType === 'video' || s.codecType === 'audio') && s.codecName) out.add(s.codecName);
  }
  return [...out];
}

/** Indexes of the streams the job does not read (none when every stream is read). */
export function unusedStreamIndexes(p: ProbeResult, used: ReadonlySet<number> | undefined): number[] {
  return used === undefined ? [] : p.streams.map((s) => s.index).filter((i) => !used.has(i));
}

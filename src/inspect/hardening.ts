/**
 * Which hardening options this ffmpeg/ffprobe build has, found at run time rather than assumed
 * from a version number (distributions backport security options: the hls demuxer's
 * allowed_segment_extensions and extension_picky are such late backports). The binary's own
 * `-h full` and `-decoders` listings are parsed once per binary (cached by its identity in the
 * state directory); every hardening option that exists is injected; the stages that require one
 * that is missing refuse, naming it.
 *
 * The parsing and planning are pure; only detectCapabilities spawns and touches the cache.
 */
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ZtError, type Violation } from '../errors.js';
import { exec } from '../util/exec.js';
import type { Policy, Stage } from '../policy/types.js';
import { FORMAT_FAMILIES } from './formats.js';

// --- parsing the binary's listings --------------------------------------------------------------

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

/**
 * Pure: every decoder of these codecs. -codec_whitelist matches decoder names, which are not
 * always codec names (mp3 → mp3float, mp3; av1 → libdav1d, libaom-av1, av1).
 */
export function decodersFor(codecs: readonly string[], caps: Capabilities | undefined): string[] {
  const out = new Set<string>();
  for (const c of codecs) {
    let found = false;
    if (caps) {
      for (const [name, d] of Object.entries(caps.decoders)) {
        if (d.codec === c) {
          out.add(name);
          found = true;
        }
      }
    }
    if (!found) for (const d of KNOWN_DECODERS[c] ?? [c]) out.add(d);
  }
  return [...out].sort();
}

/** Pure: the stream type a decoder belongs to, for reporting ("video", "audio", "subtitle"). */
export function decoderStreamType(decoder: string, caps: Capabilities | undefined): 'video' | 'audio' | 'subtitle' | undefined {
  const t = caps?.decoders[decoder]?.type;
  return t === 'V' ? 'video' : t === 'A' ? 'audio' : t === 'S' ? 'subtitle' : undefined;
}

// --- the catalogue ------------------------------------------------------------------------------

/** Where an option lives and what it is for. */
export interface HardeningOption {
  readonly id: string;
  /** The section of `-h full` that lists it. */
  readonly section: string;
  readonly option: string;
  /** For demuxer-private options: the demuxer names (format_name entries) it belongs to. */
  readonly demuxers?: readonly string[];
  /** Always written by the argv builders themselves (only its presence is checked here). */
  readonly builtin?: boolean;
  readonly purpose: string;
}

export const HARDENING_CATALOG: readonly HardeningOption[] = [
  { id: 'protocol_whitelist', section: 'AVFormatContext', option: 'protocol_whitelist', builtin: true, purpose: 'only the file protocol may be opened (no http, concat:, subfile:, data:)' },
  { id: 'format_whitelist', section: 'AVFormatContext', option: 'format_whitelist', builtin: true, purpose: 'only the demuxers the policy allows (and nested demuxers inherit it)' },
  { id: 'codec_whitelist', section: 'AVFormatContext', option: 'codec_whitelist', builtin: true, purpose: 'only the decoders of the allowed codecs touch the bytes' },
  { id: 'max_streams', section: 'AVFormatContext', option: 'max_streams', purpose: 'the demuxer refuses to create more streams than the policy allows' },
  { id: 'max_pixels', section: 'AVCodecContext', option: 'max_pixels', builtin: true, purpose: 'decoders refuse frames larger than the policy allows, whatever the header said' },
  { id: 'max_samples', section: 'AVCodecContext', option: 'max_samples', purpose: 'audio decoders refuse absurdly large frames' },
  { id: 'max_alloc', section: 'global', option: 'max_alloc', purpose: 'no single allocation larger than a share of the memory limit' },
  { id: 'mov.enable_drefs', section: 'mov,mp4,m4a,3gp,3g2,mj2', option: 'enable_drefs', demuxers: ['mov'], purpose: 'QuickTime data references to external files stay disabled' },
  { id: 'mov.use_absolute_path', section: 'mov,mp4,m4a,3gp,3g2,mj2', option: 'use_absolute_path', demuxers: ['mov'], purpose: 'QuickTime aliases may not name absolute paths' },
  { id: 'image2.pattern_type', section: 'image2 demuxer', option: 'pattern_type', demuxers: ['image2'], purpose: 'the input name is never expanded as a sequence or glob pattern' },
  { id: 'hls.allowed_extensions', section: 'hls demuxer', option: 'allowed_extensions', demuxers: ['hls'], purpose: 'HLS may open only media files with the allowed extensions' },
  { id: 'hls.allowed_segment_extensions', section: 'hls demuxer', option: 'allowed_segment_extensions', demuxers: ['hls'], purpose: 'HLS segments must carry an allowed media extension (late backport)' },
  { id: 'hls.extension_picky', section: 'hls demuxer', option: 'extension_picky', demuxers: ['hls'], purpose: 'HLS segments must be what their extension says (late backport)' },
  { id: 'concat.safe', section: 'concat demuxer', option: 'safe', demuxers: ['concat'], purpose: 'concat scripts may not name absolute or unsafe paths' },
];

/** What each stage demands of the build, before the policy's own additions. */
export const STAGE_HARDENING: Readonly<Record<Stage, readonly string[]>> = {
  initial: ['protocol_whitelist', 'format_whitelist'],
  advanced: ['protocol_whitelist', 'format_whitelist', 'codec_whitelist', 'max_pixels', 'max_streams', 'mov.enable_drefs'],
  optimal: ['protocol_whitelist', 'format_whitelist', 'codec_whitelist', 'max_pixels', 'max_streams', 'mov.enable_drefs', 'mov.use_absolute_path', 'max_alloc', 'max_samples'],
};

/** Extra demands when a policy allows a risky demuxer at all (from advanced on). */
const DEMUXER_HARDENING: Readonly<Record<string, readonly string[]>> = {
  hls: ['hls.allowed_extensions', 'hls.allowed_segment_extensions', 'hls.extension_picky'],
  concat: ['concat.safe'],
  image2: ['image2.pattern_type'],
};

/** The policy's optional list of extra required options (a proposed schema field). */
function policyRequired(policy: Policy): readonly string[] {
  const extra = (policy.input as Policy['input'] & { readonly requiredHardening?: readonly string[] }).requiredHardening;
  return Array.isArray(extra) ? extra : [];
}

/** Pure: the hardening ids this policy requires of the build. */
export function requiredHardening(policy: Policy): string[] {
  const ids = new Set<string>(STAGE_HARDENING[policy.stage]);
  if (policy.stage !== 'initial') {
    for (const f of policy.input.formats) for (const id of DEMUXER_HARDENING[f] ?? []) ids.add(id);
  }
  for (const id of policyRequired(policy)) ids.add(id);
  return [...ids];
}

/** Pure: is a (catalogue or free-form "section.option" / "option") id present in the build? */
export function supports(caps: Capabilities, id: string): boolean {
  const known = HARDENING_CATALOG.find((h) => h.id === id);
  if (known) return hasOption(caps, known.section, known.option);
  const dot = id.lastIndexOf('.');
  if (dot > 0) {
    const demuxer = id.slice(0, dot);
    const option = id.slice(dot + 1);
    return Object.entries(caps.sections).some(([s, opts]) => (s === demuxer || s === `${demuxer} demuxer` || s.split(',')[0] === demuxer) && opts.includes(option));
  }
  return ['global', 'AVFormatContext', 'AVCodecContext'].some((s) => hasOption(caps, s, id));
}

/** Pure: one violation per required option the build lacks. */
export function missingHardening(caps: Capabilities, required: readonly string[], binary: string): Violation[] {
  return required
    .filter((id) => !supports(caps, id))
    .map((id) => {
      const known = HARDENING_CATALOG.find((h) => h.id === id);
      return {
        rule: 'posture.hardening',
        actual: `${path.basename(binary)} has no "${id}" option`,
        limit: id,
        message: `${binary} lacks the hardening option "${id}"${known ? ` (${known.purpose})` : ''}, which this policy requires`,
        hint: 'install an ffmpeg build that has it (for Debian: the current security update of the ffmpeg package), or use a policy that does not require it',
      };
    });
}

export function hardeningError(v: readonly Violation[]): ZtError {
  return new ZtError('posture-failed', `the installed ffmpeg lacks required hardening: ${v.map((x) => x.limit).join(', ')}`, {
    hint: v[0]?.hint ?? 'install a patched ffmpeg',
    violations: v,
  });
}

// --- turning capabilities into arguments --------------------------------------------------------

/** What the argv builders take: extra program and input options, and the decoders allowed. */
export interface HardeningArgs {
  /** Options before any input (program-wide). */
  readonly globalArgs: readonly string[];
  /** Input options, placed before -i. */
  readonly inputArgs: readonly string[];
  /** Decoder names for -codec_whitelist. */
  readonly decoders: readonly string[];
}

export interface HardeningPlan extends HardeningArgs {
  /** Catalogue ids injected. */
  readonly applied: readonly string[];
  /** Catalogue ids this build does not have (injected nothing for them). */
  readonly absent: readonly string[];
}

export interface HardeningContext {
  /** The demuxers that may run (the policy's list for the probe; the pinned one for decoding). */
  readonly formats: readonly string[];
  /** The pinned demuxer, when there is one: only then are demuxer-private options injected. */
  readonly pinned?: string;
  /** Decoders allowed (already mapped from codec names). */
  readonly decoders: readonly string[];
  readonly maxStreams: number;
  readonly maxPixels: number;
  readonly maxSampleRate: number;
  readonly maxChannels: number;
  /** Memory limit of the process, for max_alloc. */
  readonly addressSpaceMiB: number;
  /** File extensions a playlist demuxer could be allowed to open (only used when hls is pinned). */
  readonly mediaExtensions: readonly string[];
}

function valueOf(id: string, c: HardeningContext): string | undefined {
  switch (id) {
    case 'protocol_whitelist':
      return 'file';
    case 'format_whitelist':
      return c.pinned ?? c.formats.join(',');
    case 'codec_whitelist':
      return c.decoders.length > 0 ? c.decoders.join(',') : undefined;
    case 'max_streams':
      return String(c.maxStreams);
    case 'max_pixels':
      return String(c.maxPixels);
    case 'max_samples':
      return String(Math.max(1 << 20, c.maxSampleRate * c.maxChannels));
    case 'max_alloc':
      return String(Math.max(256, Math.floor(c.addressSpaceMiB / 4)) * 1024 * 1024);
    case 'mov.enable_drefs':
    case 'mov.use_absolute_path':
      return '0';
    case 'image2.pattern_type':
      return 'none';
    case 'hls.allowed_extensions':
    case 'hls.allowed_segment_extensions':
      return c.mediaExtensions.join(',');
    case 'hls.extension_picky':
    case 'concat.safe':
      return '1';
    default:
      return undefined;
  }
}

/** Pure: the arguments that inject every catalogued option the build has and the context uses. */
export function planHardening(caps: Capabilities, c: HardeningContext): HardeningPlan {
  const globalArgs: string[] = [];
  const inputArgs: string[] = [];
  const applied: string[] = [];
  const absent: string[] = [];
  for (const h of HARDENING_CATALOG) {
    if (h.demuxers && (c.pinned === undefined || !h.demuxers.includes(c.pinned))) continue;
    if (!hasOption(caps, h.section, h.option)) {
      absent.push(h.id);
      continue;
    }
    if (h.builtin) {
      applied.push(h.id);
      continue;
    }
    const value = valueOf(h.id, c);
    if (value === undefined) continue;
    (h.section === 'global' ? globalArgs : inputArgs).push(`-${h.option}`, value);
    applied.push(h.id);
  }
  return { globalArgs, inputArgs, decoders: c.decoders, applied, absent };
}

/** Extensions of the media families a policy's formats cover (for playlist demuxers). */
export function mediaExtensionsFor(formats: readonly string[]): string[] {
  const out = new Set<string>();
  for (const f of FORMAT_FAMILIES) if (f.demuxers.some((d) => formats.includes(d))) for (const e of f.extensions) out.add(e);
  return [...out].sort();
}

// --- detection, cached per binary ---------------------------------------------------------------

const CACHE_VERSION = 1;
const memo = new Map<string, Capabilities>();

async function binaryKey(binary: string, sha256: string | undefined): Promise<string> {
  const st = await stat(binary);
  return `v${CACHE_VERSION}|${binary}|${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}|${sha256 ?? ''}`;
}

interface CacheFile {
  readonly entries: Record<string, Capabilities>;
}

function isCapabilities(v: unknown): v is Capabilities {
  if (typeof v !== 'object' || v === null) return false;
  const c = v as Record<string, unknown>;
  return typeof c['sections'] === 'object' && c['sections'] !== null && typeof c['decoders'] === 'object' && c['decoders'] !== null;
}

async function readCache(file: string): Promise<Record<string, Capabilities>> {
  try {
    const v = JSON.parse(await readFile(file, 'utf8')) as unknown;
    const entries = (v as Partial<CacheFile> | null)?.entries;
    if (typeof entries !== 'object' || entries === null) return {};
    const out: Record<string, Capabilities> = {};
    for (const [k, c] of Object.entries(entries)) if (isCapabilities(c)) out[k] = c;
    return out;
  } catch {
    return {};
  }
}

async function writeCache(file: string, key: string, caps: Capabilities): Promise<void> {
  try {
    const entries = await readCache(file);
    // Keep the cache small: only the binaries seen most recently.
    const kept = Object.entries(entries).filter(([k]) => k !== key).slice(-3);
    const body: CacheFile = { entries: { ...Object.fromEntries(kept), [key]: caps } };
    await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify(body), { mode: 0o600 });
    await rename(tmp, file);
  } catch {
    /* a cache that cannot be written only costs time */
  }
}

export const HARDENING_CACHE_FILE = 'ffmpeg-capabilities.json';

/**
 * The options and decoders of one ffmpeg/ffprobe binary. Cached by the binary's path, inode,
 * size, times and (when posture computed it) sha256, in `stateDir` when given.
 */
export async function detectCapabilities(binary: string, opts: { stateDir?: string; sha256?: string; timeoutMs?: number } = {}): Promise<Capabilities> {
  const key = await binaryKey(binary, opts.sha256);
  const hit = memo.get(key);
  if (hit) return hit;
  const cacheFile = opts.stateDir ? path.join(opts.stateDir, HARDENING_CACHE_FILE) : undefined;
  if (cacheFile) {
    const cached = (await readCache(cacheFile))[key];
    if (cached) {
      memo.set(key, cached);
      return cached;
    }
  }
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const [help, decoders] = await Promise.all([
    exec(binary, ['-hide_banner', '-h', 'full'], { timeoutMs, maxBuffer: 32 * 1024 * 1024 }),
    exec(binary, ['-hide_banner', '-decoders'], { timeoutMs, maxBuffer: 8 * 1024 * 1024 }),
  ]);
  for (const r of [help, decoders]) {
    if (r.spawnFailed || r.timedOut || r.exitCode !== 0) {
      throw new ZtError('binary-unavailable', `cannot list the options of ${binary}: ${r.spawnError ?? (r.timedOut ? 'timed out' : `exit ${r.exitCode ?? r.signal}`)}`, {
        hint: 'run `zt-ffmpeg doctor`; the ffmpeg installation looks broken',
      });
    }
  }
  const caps: Capabilities = { sections: parseHelpFull(help.stdout), decoders: parseDecoders(decoders.stdout) };
  if (Object.keys(caps.sections).length < 3 || Object.keys(caps.decoders).length === 0) {
    throw new ZtError('binary-unavailable', `${binary} printed no option listing that zt-ffmpeg understands`, { hint: 'run `zt-ffmpeg doctor`; is this really ffmpeg?' });
  }
  memo.set(key, caps);
  if (cacheFile) await writeCache(cacheFile, key, caps);
  return caps;
}

/**
 * The verdict on what ffprobe found, rule by rule. Pure: every violation is collected, each
 * with its rule id, the actual value, the limit and what to do.
 */
import type { Violation } from '../errors.js';
import type { InputConfig } from '../policy/types.js';
import type { ProbeResult } from './probe-result.js';
import { demuxerNames, familyOfDemuxer, familyOfMagic } from './formats.js';

const tighter = 'use a policy that allows it, or convert the file first';

export function checkProbe(p: ProbeResult, rules: InputConfig, magicType: string | undefined): { violations: Violation[]; warnings: Violation[] } {
  const v: Violation[] = [];
  const warnings: Violation[] = [];
  const names = demuxerNames(p.formatName);
  if (!names.some((n) => rules.formats.includes(n))) {
    v.push({ rule: 'input.format', actual: p.formatName, limit: rules.formats, message: `container format "${p.formatName}" is not allowed`, hint: tighter });
  }
  if (magicType !== undefined) {
    const fm = familyOfMagic(magicType);
    const fd = familyOfDemuxer(p.formatName);
    if (fm === undefined || fd === undefined || fm.id !== fd.id) {
      const mismatch: Violation = {
        rule: 'input.magic-format',
        actual: `bytes "${magicType}", demuxer "${p.formatName}"`,
        limit: 'the demuxer ffprobe picks must agree with the magic bytes',
        message: `the file's bytes say "${magicType}" but ffprobe parses it as "${p.formatName}" (a polyglot or a disguised file)`,
        hint: 'do not process this file; find out where it came from',
      };
      (rules.requireMagicMatchesFormat ? v : warnings).push(mismatch);
    }
  }
  if (p.streams.length === 0) {
    v.push({ rule: 'input.streams', actual: 0, limit: '>= 1', message: 'the file has no audio or video streams', hint: 'pass a file with media in it' });
  }
  const streamCount = Math.max(p.streams.length, p.nbStreams);
  if (streamCount > rules.maxStreams) {
    v.push({ rule: 'input.maxStreams', actual: streamCount, limit: rules.maxStreams, message: `${streamCount} streams, over the limit of ${rules.maxStreams}`, hint: tighter });
  }
  const limitNum = (rule: string, what: string, actual: number | undefined, limit: number, unit = ''): void => {
    if (actual !== undefined && actual > limit) {
      v.push({ rule, actual, limit, message: `${what} ${actual}${unit} is over the limit of ${limit}${unit}`, hint: tighter });
    }
  };
  for (const s of p.streams.slice(0, rules.maxStreams + 1)) {
    const where = `stream #${s.index}`;
    switch (s.codecType) {
      case 'video':
      case 'audio':
      case 'subtitle': {
        const allowed = rules.codecs[s.codecType];
        if (s.codecName === undefined || !allowed.includes(s.codecName)) {
          v.push({ rule: `input.codecs.${s.codecType}`, actual: s.codecName ?? 'unknown', limit: allowed, message: `${where}: ${s.codecType} codec "${s.codecName ?? 'unknown'}" is not allowed`, hint: tighter });
        }
        break;
      }
      case 'attachment':
        if (!rules.allowAttachments) v.push({ rule: 'input.allowAttachments', actual: s.codecName ?? 'attachment', limit: false, message: `${where} is an attachment (embedded file)`, hint: 'remove attachments, or use a policy that allows them' });
        break;
      case 'data':
        if (!rules.allowDataStreams) v.push({ rule: 'input.allowDataStreams', actual: s.codecName ?? 'data', limit: false, message: `${where} is a data stream`, hint: 'remove data streams, or use a policy that allows them' });
        break;
      default:
        v.push({ rule: 'input.streamType', actual: s.codecType, limit: ['video', 'audio'], message: `${where} has unknown type "${s.codecType}"`, hint: 'do not process this file' });
    }
    if (s.codecType === 'video') {
      limitNum('input.maxWidth', `${where}: width`, s.width, rules.maxWidth, ' px');
      limitNum('input.maxHeight', `${where}: height`, s.height, rules.maxHeight, ' px');
      if (s.width !== undefined && s.height !== undefined) limitNum('input.maxPixels', `${where}: pixel count`, s.width * s.height, rules.maxPixels);
      if (!s.attachedPic) limitNum('input.maxFrameRate', `${where}: frame rate`, s.frameRate === undefined ? undefined : Math.round(s.frameRate * 1000) / 1000, rules.maxFrameRate, ' fps');
    }
    if (s.codecType === 'audio') {
      limitNum('input.maxSampleRate', `${where}: sample rate`, s.sampleRate, rules.maxSampleRate, ' Hz');
      limitNum('input.maxChannels', `${where}: channels`, s.channels, rules.maxChannels);
    }
    limitNum('input.maxDurationSeconds', `${where}: duration`, s.duration, rules.maxDurationSeconds, ' s');
  }
  limitNum('input.maxDurationSeconds', 'duration', p.duration, rules.maxDurationSeconds, ' s');
  limitNum('input.maxBitrate', 'bitrate', p.bitRate, rules.maxBitrate, ' bit/s');
  const { entries, bytes } = metadataSize(p);
  limitNum('input.maxMetadataEntries', 'metadata entries:', entries, rules.maxMetadataEntries);
  limitNum('input.maxMetadataBytes', 'metadata size:', bytes, rules.maxMetadataBytes, ' bytes');
  return { violations: dedupe(v), warnings };
}

export function metadataSize(p: ProbeResult): { entries: number; bytes: number } {
  let entries = 0;
  let bytes = 0;
  for (const tags of [p.tags, ...p.streams.map((s) => s.tags)]) {
    for (const [k, val] of Object.entries(tags)) {
      entries++;
      bytes += Buffer.byteLength(k) + Buffer.byteLength(val);
    }
  }
  return { entries, bytes: bytes + p.chapters * 64 };
}

/** Per-stream duplicates of the same rule collapse into one violation with a count. */
function dedupe(v: Violation[]): Violation[] {
  const seen = new Map<string, number>();
  const out: Violation[] = [];
  for (const x of v) {
    const key = `${x.rule}|${JSON.stringify(x.actual)}`;
    const n = seen.get(key) ?? 0;
    seen.set(key, n + 1);
    if (n === 0) out.push(x);
  }
  return out.slice(0, 50);
}

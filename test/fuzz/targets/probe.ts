/**
 * ffprobe's JSON, as a compromised ffprobe could print it: documents shaped like ffprobe's, with
 * tags keyed by anything (`__proto__`, `constructor`, ...), values of any type, and text havoc.
 * Invariants: parseProbeJson fails only with ProbeParseError; classifyProbe, checkProbe and the
 * summary the audit record signs never throw. Oracle: the metadata accounting (entries and
 * bytes) equals a plain count over JSON.parse's own keys.
 */
import { classifyProbe } from '../../../src/inspect/inspect-input.js';
import { parseProbeJson, ProbeParseError, summarizeProbe } from '../../../src/inspect/probe-result.js';
import { checkProbe, metadataSize } from '../../../src/inspect/rules.js';
import { canonicalize } from '../../../src/audit/canonical.js';
import { loadPolicy } from '../../../src/policy/load.js';
import type { Policy } from '../../../src/policy/types.js';
import { HOSTILE_KEYS, textHavoc } from '../mutate.js';
import type { Rng } from '../rng.js';
import { crash, type Target } from '../target.js';

const KEYS = ['title', 'encoder', 'language', 'comment', 'handler_name', 'DURATION', 'Ω', '', ...HOSTILE_KEYS];

function value(rng: Rng, depth = 0): unknown {
  switch (rng.int(depth > 3 ? 3 : 7)) {
    case 0:
      return rng.bool(0.05) ? 'x'.repeat(rng.int(200_000)) : 'v'.repeat(rng.small(40));
    case 1:
      return rng.int(1000) - 10;
    case 2:
      return rng.pick([null, true, 'N/A', '1e400', '-0', 'NaN', '30000/1001', '0/0']);
    case 3:
      return Array.from({ length: rng.small(4) }, () => value(rng, depth + 1));
    default:
      return obj(rng, depth + 1);
  }
}

function obj(rng: Rng, depth: number, n = rng.small(8)): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (let i = 0; i < n; i++) Object.defineProperty(o, rng.pick(KEYS) + (rng.bool(0.3) ? String(i) : ''), { value: value(rng, depth), enumerable: true, configurable: true, writable: true });
  return o;
}

function tags(rng: Rng): Record<string, unknown> {
  const o = obj(rng, 2, rng.bool(0.05) ? 300 + rng.int(2000) : rng.small(10));
  for (const k of HOSTILE_KEYS) if (rng.bool(0.15)) Object.defineProperty(o, k, { value: rng.bool(0.1) ? 'p'.repeat(100_000) : 'x', enumerable: true, configurable: true, writable: true });
  return o;
}

function document(rng: Rng): Record<string, unknown> {
  const stream = (i: number): Record<string, unknown> => ({
    index: rng.bool(0.9) ? i : value(rng),
    codec_type: rng.pick(['video', 'audio', 'subtitle', 'data', 'attachment', 'weird', 7]),
    codec_name: rng.pick(['h264', 'aac', 'opus', 'png', undefined, 3]),
    width: rng.pick([320, 0, -1, 1e9, '640', undefined]),
    height: rng.pick([240, 0, '480', undefined]),
    avg_frame_rate: rng.pick(['25/1', '0/0', '30000/1001', '1/0', 'x', undefined]),
    sample_rate: rng.pick(['48000', 'NaN', undefined]),
    duration: rng.pick(['1.0', 'N/A', '1e308', undefined]),
    disposition: rng.bool() ? { attached_pic: rng.int(2) } : value(rng),
    tags: tags(rng),
  });
  return {
    format: { format_name: rng.pick(['matroska,webm', 'mov,mp4,m4a,3gp,3g2,mj2', 'wav', '', 5]), nb_streams: rng.pick([1, 2, '3', 1e6]), duration: rng.pick(['2.0', 'N/A']), tags: tags(rng) },
    streams: rng.bool(0.95) ? Array.from({ length: rng.small(6) }, (_, i) => stream(i)) : value(rng),
    chapters: Array.from({ length: rng.small(4) }, () => (rng.bool(0.9) ? { id: 1, tags: tags(rng) } : value(rng))),
  };
}

/** The plain count the oracle compares with: every own key of every tags object JSON.parse made. */
function plainCount(text: string): { entries: number; bytes: number } {
  const raw = JSON.parse(text) as Record<string, unknown>;
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  const format = raw['format'] as Record<string, unknown>;
  const chapters = Array.isArray(raw['chapters']) ? (raw['chapters'] as unknown[]) : [];
  const lists = [format['tags'], ...((raw['streams'] as unknown[] | undefined) ?? []).map((s) => (s as Record<string, unknown>)['tags']), ...chapters.map((c) => (isObj(c) ? c['tags'] : undefined))];
  let entries = 0;
  let bytes = chapters.length * 64;
  for (const t of lists) {
    if (!isObj(t)) continue;
    for (const k of Object.keys(t)) {
      const v = Object.getOwnPropertyDescriptor(t, k)?.value;
      entries++;
      bytes += Buffer.byteLength(k) + Buffer.byteLength(typeof v === 'string' ? v : (JSON.stringify(v) ?? 'null'));
    }
  }
  return { entries, bytes };
}

export function probeTarget(): Target<string> {
  let policy: Policy;
  return {
    name: 'probe-json',
    sources: ['src/inspect/probe-result.ts', 'src/inspect/rules.ts'],
    ext: 'json',
    async setup() {
      policy = (await loadPolicy(undefined)).policy;
    },
    generate(rng) {
      const text = JSON.stringify(document(rng));
      return rng.bool(0.2) ? textHavoc(rng, text, ['{', '}', '[', ']', '"__proto__":', ',', ':', '"', '\\u0000', '1e999', '[[[[[[[[[[']) : text;
    },
    async check(text) {
      let p;
      try {
        p = parseProbeJson(text);
      } catch (e) {
        return e instanceof ProbeParseError ? undefined : crash('parseProbeJson', e);
      }
      try {
        checkProbe(p, policy.input, 'mkv');
        canonicalize(summarizeProbe(p));
        classifyProbe({ exitCode: 0, signal: undefined, stdout: text, stderr: 'x\nNumber of streams exceeds max_streams\nCodec (h264) not on whitelist' }, policy, undefined);
      } catch (e) {
        return crash('the probe verdict', e);
      }
      const got = metadataSize(p);
      const want = plainCount(text);
      if (got.entries !== want.entries || got.bytes !== want.bytes) return { kind: 'bypass', message: `metadata accounting says ${got.entries} entries / ${got.bytes} bytes, a plain count ${want.entries} / ${want.bytes}` };
      return undefined;
    },
    budgetMs: (text) => 100 + text.length / 20_000,
    encode: (text) => Buffer.from(text),
    decode: (b) => b.toString('utf8'),
  };
}

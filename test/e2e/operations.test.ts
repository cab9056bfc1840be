/**
 * Every bundled operation runs on every benign sample it makes sense for (video operations on
 * the video samples, audio on audio, thumbnails on video and images), through the CLI:
 *   - every operation of policies/advanced.yaml under the default seccomp profile, on every
 *     fitting sample, rotating through the operation's targets so that each target runs;
 *   - the operations of policies/optimal.yaml under the strict (allow-list) profile, each
 *     target once (the optimal policy itself needs a signed token, so a copy of advanced.yaml
 *     with `sandbox.seccomp: strict` stands in for it);
 *   - policies/initial.yaml has the same templates as advanced.yaml (asserted), and runs a
 *     video and an audio operation.
 * Jobs run two at a time; each output is checked by the pipeline's verifier and again here.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { makeSandbox, ROOT, type Sandbox } from '../helpers/cli.js';
import { makeSample, ffprobeJson, SAMPLES } from '../helpers/media.js';

interface Target {
  format: string;
  expect: { formats: string[]; video?: string[]; audio?: string[] };
  still?: boolean;
}
interface PolicyDoc {
  sandbox: { seccomp: string };
  operations: { default: string; list: Record<string, { targets: Record<string, Target> }> };
}

type Kind = 'video' | 'audio' | 'image';
const KIND: Record<string, Kind> = {};
for (const name of Object.keys(SAMPLES)) {
  KIND[name] = /\.(png|jpg)$/.test(name) ? 'image' : /^tone\./.test(name) ? 'audio' : 'video';
}

/** Which samples an operation target makes sense for, from what it produces and maps. */
function fits(target: Target, kind: Kind): boolean {
  if (target.still) return kind === 'video' || kind === 'image';
  const wantsVideo = target.expect.video !== undefined && target.expect.video.length > 0;
  const wantsAudio = target.expect.audio !== undefined && target.expect.audio.length > 0;
  if (kind === 'image') return false;
  if (wantsVideo) return kind === 'video';
  if (wantsAudio) return true; // audio out of a video sample (its audio track) or an audio sample
  // Stream copy (remux): containers of video.
  return kind === 'video';
}

interface Job {
  readonly op: string;
  readonly ext: string;
  readonly sample: string;
  readonly target: Target;
}

/** Every (operation, fitting sample), with the targets taken in turn so that each one runs. */
function matrix(doc: PolicyDoc, ops: readonly string[]): Job[] {
  const jobs: Job[] = [];
  for (const op of ops) {
    const targets = Object.entries(doc.operations.list[op]!.targets);
    const byKind = new Map<Kind, number>();
    for (const sample of Object.keys(SAMPLES)) {
      const kind = KIND[sample]!;
      const fitting = targets.filter(([, t]) => fits(t, kind));
      if (fitting.length === 0) continue;
      const i = byKind.get(kind) ?? 0;
      byKind.set(kind, i + 1);
      const [ext, target] = fitting[i % fitting.length]!;
      jobs.push({ op, ext, sample, target });
    }
  }
  return jobs;
}

/** One job per target of each operation, on a sample of a fitting kind. */
function eachTargetOnce(doc: PolicyDoc, ops: readonly string[]): Job[] {
  const jobs: Job[] = [];
  const samples = Object.keys(SAMPLES);
  let n = 0;
  for (const op of ops) {
    for (const [ext, target] of Object.entries(doc.operations.list[op]!.targets)) {
      const fitting = samples.filter((s) => fits(target, KIND[s]!));
      jobs.push({ op, ext, sample: fitting[n++ % fitting.length]!, target });
    }
  }
  return jobs;
}

let sb: Sandbox;
const samplePath: Record<string, string> = {};
let advanced: PolicyDoc;
let optimal: PolicyDoc;
let initial: PolicyDoc;
let strictPolicy = '';

beforeAll(async () => {
  sb = await makeSandbox('zt-ops-');
  const dir = path.join(sb.dir, 'samples');
  await mkdir(dir);
  for (const name of Object.keys(SAMPLES)) samplePath[name] = await makeSample(dir, name);
  const read = async (stage: string): Promise<[string, PolicyDoc]> => {
    const text = await readFile(path.join(ROOT, 'policies', `${stage}.yaml`), 'utf8');
    return [text, YAML.parse(text) as PolicyDoc];
  };
  let advancedText: string;
  [advancedText, advanced] = await read('advanced');
  [, optimal] = await read('optimal');
  [, initial] = await read('initial');
  // advanced.yaml with the strict seccomp profile and only optimal's operations.
  const doc = YAML.parseDocument(advancedText);
  doc.setIn(['sandbox', 'seccomp'], 'strict');
  for (const op of Object.keys(advanced.operations.list)) {
    if (!(op in optimal.operations.list)) doc.deleteIn(['operations', 'list', op]);
  }
  doc.setIn(['operations', 'default'], optimal.operations.default);
  strictPolicy = path.join(sb.dir, 'strict.yaml');
  await writeFile(strictPolicy, doc.toString());
}, 120_000);
afterAll(async () => sb.cleanup());

async function pool<T>(items: readonly T[], concurrency: number, f: (x: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await f(items[next++]!);
    }),
  );
}

/** Run the jobs two at a time; return a description of each one that failed. */
async function runAll(label: string, policy: string, jobs: readonly Job[]): Promise<string[]> {
  const outDir = path.join(sb.dir, `out-${label}`);
  await mkdir(outDir);
  const failures: string[] = [];
  let i = 0;
  await pool(jobs, 2, async (j) => {
    const out = path.join(outDir, `${i++}-${j.op}-${j.sample.replace('.', '_')}.${j.ext}`);
    const r = await sb.run(['--json', 'run', '-p', policy, '--operation', j.op, '-i', samplePath[j.sample]!, '-o', out], { timeoutMs: 90_000 });
    const what = `${label}: ${j.op} ${j.sample} → .${j.ext}`;
    if (r.code !== 0 || !existsSync(out)) {
      let msg = r.stderr.trim().split('\n').slice(-3).join(' | ');
      try {
        msg = String(r.json<{ message?: string }>().message ?? msg);
      } catch {
        /* not JSON */
      }
      failures.push(`${what}: exit ${r.code}: ${msg}`);
      return;
    }
    // Check the container and codecs again, outside the pipeline.
    const probe = (await ffprobeJson(out)) as { format: { format_name: string }; streams: Array<{ codec_type: string; codec_name: string }> };
    const formats = probe.format.format_name.split(',');
    if (!j.target.expect.formats.some((f) => formats.includes(f))) failures.push(`${what}: container ${probe.format.format_name}, expected one of ${j.target.expect.formats.join(',')}`);
    for (const type of ['video', 'audio'] as const) {
      const allowed = j.target.expect[type];
      if (!allowed) continue;
      const got = probe.streams.filter((s) => s.codec_type === type).map((s) => s.codec_name);
      const sampleHas = type === 'video' ? KIND[j.sample] !== 'audio' : KIND[j.sample] !== 'image';
      if (sampleHas && (got.length === 0 || !got.every((c) => allowed.includes(c)))) failures.push(`${what}: ${type} ${got.join(',') || 'none'}, expected ${allowed.join(',')}`);
    }
  });
  return failures;
}

describe('bundled operations on the benign samples', () => {
  it('the initial stage has the same vetted templates as advanced, and optimal a subset of them', () => {
    expect(initial.operations.list).toEqual(advanced.operations.list);
    for (const [op, def] of Object.entries(optimal.operations.list)) expect(def, op).toEqual(advanced.operations.list[op]);
  });

  it('every operation of advanced.yaml on every fitting sample, default seccomp profile', async () => {
    expect(advanced.sandbox.seccomp).toBe('default');
    const jobs = matrix(advanced, Object.keys(advanced.operations.list));
    // Every target of every operation is exercised.
    const covered = new Set(jobs.map((j) => `${j.op}.${j.ext}`));
    for (const [op, def] of Object.entries(advanced.operations.list)) for (const ext of Object.keys(def.targets)) expect(covered.has(`${op}.${ext}`), `${op}.${ext}`).toBe(true);
    expect(await runAll('advanced', path.join(ROOT, 'policies', 'advanced.yaml'), jobs)).toEqual([]);
  }, 300_000);

  it("optimal's operations, each target once, under the strict seccomp profile", async () => {
    expect(optimal.sandbox.seccomp).toBe('strict');
    const jobs = eachTargetOnce(advanced, Object.keys(optimal.operations.list));
    expect(await runAll('strict', strictPolicy, jobs)).toEqual([]);
  }, 300_000);

  it('the initial policy runs a video and an audio operation', async () => {
    const jobs: Job[] = [
      { op: 'h264-720p', ext: 'mp4', sample: 'h264-opus.mkv', target: initial.operations.list['h264-720p']!.targets['mp4']! },
      { op: 'extract-audio', ext: 'm4a', sample: 'tone.flac', target: initial.operations.list['extract-audio']!.targets['m4a']! },
    ];
    expect(await runAll('initial', path.join(ROOT, 'policies', 'initial.yaml'), jobs)).toEqual([]);
  }, 120_000);
});

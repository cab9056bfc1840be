/**
 * Safe and usable: benign files made by real tools (test/helpers/realworld-corpus.ts) go
 * through `check` and `run` under each bundled stage. Every sample is accepted and transcodes,
 * except the refusals the stage files document as deliberate (DELIBERATE below, each with its
 * rule and the words of the stage file that document it). The acceptance table per stage
 * (accepted / refused-by-design / refused-by-bug) is written to .tmp/realworld-acceptance.md.
 *
 * Run with `npm run test:realworld` (also run by .ci/run); the tools come from ./setup.sh.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { buildCorpus, missingTools, REALWORLD_SAMPLES, type RealWorldSample } from '../helpers/realworld-corpus.js';
import { makeSandbox, ROOT, type Sandbox } from '../helpers/cli.js';

type Stage = 'initial' | 'advanced' | 'optimal';
const STAGES: readonly Stage[] = ['initial', 'advanced', 'optimal'];

interface Deliberate {
  /** The rule the refusal must name. */
  readonly rule: string;
  /** Words of the stage file (policies/<stage>.yaml) that document this refusal. */
  readonly documented: string;
}

/**
 * The refusals the stage files document as deliberate. Everything else in the corpus must be
 * accepted by `check` and transcoded by `run`.
 */
const DELIBERATE: Readonly<Record<Stage, Readonly<Record<string, Deliberate>>>> = {
  initial: {
    // The fact chunk claims ~74 hours of µ-law: ffprobe believes it, so the duration limit refuses.
    'sox-pipe-ulaw.wav': { rule: 'input.maxDurationSeconds', documented: 'fact chunk' },
  },
  advanced: {
    'sox-pipe-ulaw.wav': { rule: 'input.structure', documented: 'fact chunk' },
  },
  optimal: {
    'sox-pipe-ulaw.wav': { rule: 'input.structure', documented: 'fact chunk' },
    // The deep check stays strict: the last packet of a placeholder-sized data chunk is read short.
    'lame-decode-pipe.wav': { rule: 'input.deepCheck', documented: 'a WAV written to a pipe' },
    'sox-pipe.wav': { rule: 'input.deepCheck', documented: 'a WAV written to a pipe' },
    // The minimal set of containers and codecs (advanced accepts all of these).
    'avimux-mjpeg-pcm.avi': { rule: 'input.magic', documented: 'AVI' },
    'avimux-h264-mp3.avi': { rule: 'input.magic', documented: 'AVI' },
    'oggmux-theora-vorbis.ogv': { rule: 'input.magic', documented: 'Ogg Theora' },
    'mpegtsmux-avchd.mts': { rule: 'input.magic', documented: 'MPEG program and transport streams' },
    'mpegtsmux-broadcast.ts': { rule: 'input.magic', documented: 'MPEG program and transport streams' },
    'mplex-dvd.mpg': { rule: 'input.magic', documented: 'MPEG program and transport streams' },
    'mpegpsmux-h264-mp3.mpg': { rule: 'input.magic', documented: 'MPEG program and transport streams' },
    'im.gif': { rule: 'input.magic', documented: 'GIF and WebP' },
    'im-animated.gif': { rule: 'input.magic', documented: 'GIF and WebP' },
    'im.webp': { rule: 'input.magic', documented: 'GIF and WebP' },
    'cwebp-lossy.webp': { rule: 'input.magic', documented: 'GIF and WebP' },
    'cwebp-lossless.webp': { rule: 'input.magic', documented: 'GIF and WebP' },
    'sox-msadpcm.wav': { rule: 'input.codecs.audio', documented: 'ADPCM' },
    'sox-imaadpcm.wav': { rule: 'input.codecs.audio', documented: 'ADPCM' },
    // Unused streams are judged here: subtitles, fonts and timecode tracks refuse the file.
    'mkvmerge-srt.mkv': { rule: 'input.codecs.subtitle', documented: 'a subtitle track' },
    'mkvmerge-ass-font.mkv': { rule: 'input.codecs.subtitle', documented: 'a subtitle track' },
    'mkvmerge-font-only.mkv': { rule: 'input.allowAttachments', documented: 'an attached font' },
    'qtmux-timecode.mov': { rule: 'input.allowDataStreams', documented: 'a timecode track' },
  },
};

interface Outcome {
  readonly verdict: string;
  readonly exitCode: number;
  readonly violations: ReadonlyArray<{ rule: string; message: string }>;
  readonly message?: string;
}

type Verdict = 'accepted' | 'refused-by-design' | 'refused-by-bug';

interface Result {
  readonly check: Outcome;
  readonly run: Outcome;
  readonly verdict: Verdict;
  readonly why: string;
}

let sb: Sandbox;
let files: Map<string, string>;
const results = new Map<Stage, Map<string, Result>>();
let optimal: { policy: string; keyring: string; auditKey: string; issuerKey: string };

function target(s: RealWorldSample): { operation: string; ext: string } {
  if (s.kind === 'image') return { operation: 'thumbnail', ext: 'jpg' };
  return { operation: 'transcode', ext: s.kind === 'audio' ? 'mp3' : 'mp4' };
}

async function setUpOptimal(): Promise<void> {
  const dir = path.join(sb.dir, 'deploy');
  const keyring = path.join(dir, 'keyring');
  await mkdir(keyring, { recursive: true });
  for (const name of ['audit', 'signer', 'issuer']) {
    const r = await sb.run(['keygen', '--out', path.join(sb.dir, name)]);
    expect(r.code, r.stderr).toBe(0);
  }
  await copyFile(path.join(sb.dir, 'signer', 'audit.pub'), path.join(keyring, 'signer.pub'));
  await copyFile(path.join(sb.dir, 'audit', 'audit.pub'), path.join(keyring, 'audit.pub'));
  const { publicJwkFromPem } = await import('../../src/keys/index.js');
  await writeFile(path.join(keyring, 'issuer.jwks.json'), JSON.stringify({ keys: [publicJwkFromPem(await readFile(path.join(sb.dir, 'issuer', 'audit.pub'), 'utf8'))] }));
  const policy = path.join(dir, 'optimal.yaml');
  await copyFile(path.join(ROOT, 'policies', 'optimal.yaml'), policy);
  // A signed policy pins the JWKS it relies on: policy pin fills the stage file's placeholder.
  const pin = await sb.run(['policy', 'pin', policy]);
  expect(pin.code, pin.stderr).toBe(0);
  const s = await sb.run(['policy', 'sign', policy, '--key', path.join(sb.dir, 'signer', 'audit.key')]);
  expect(s.code, s.stderr).toBe(0);
  optimal = { policy, keyring, auditKey: path.join(sb.dir, 'audit', 'audit.key'), issuerKey: path.join(sb.dir, 'issuer', 'audit.key') };
}

/** The global options and -p for a stage (optimal: its keyring and provisioned audit key). */
function stageArgs(stage: Stage): { global: string[]; policy: string[] } {
  if (stage !== 'optimal') return { global: [], policy: ['-p', stage] };
  // Its own log: a log is kept by one key, and optimal's key is provisioned, not the generated one.
  return { global: ['--policy-keyring', optimal.keyring, '--audit-key', optimal.auditKey, '--audit-log', path.join(sb.dir, 'optimal-audit.log')], policy: ['-p', optimal.policy] };
}

async function checkStage(stage: Stage): Promise<Outcome[]> {
  const a = stageArgs(stage);
  const ids = REALWORLD_SAMPLES.map((s) => s.id);
  const r = await sb.run([...a.global, 'check', '--json', ...a.policy, ...ids.map((id) => files.get(id)!)], { timeoutMs: 600_000 });
  const outcomes = r.json<{ files?: Outcome[] }>().files;
  if (!outcomes) throw new Error(`check under ${stage} could not start (exit ${r.code}): ${r.stdout} ${r.stderr}`);
  expect(outcomes).toHaveLength(ids.length);
  return outcomes;
}

async function runOne(stage: Stage, s: RealWorldSample): Promise<Outcome> {
  const a = stageArgs(stage);
  const t = target(s);
  const input = files.get(s.id)!;
  const out = path.join(sb.dir, 'out', stage, `${s.id.replace(/\./g, '_')}.${t.ext}`);
  let token: string[] = [];
  if (stage === 'optimal') {
    const m = await sb.run(['token', 'mint', '--key', optimal.issuerKey, '--issuer', 'zt-ffmpeg-local', '--subject', 'uploader', '--audience', 'zt-ffmpeg', '--operation', t.operation, '--input', input]);
    expect(m.code, m.stderr).toBe(0);
    token = ['--token', m.stdout.trim()];
  }
  const r = await sb.run([...a.global, 'run', '--json', ...a.policy, ...token, '--operation', t.operation, '-i', input, '-o', out], { timeoutMs: 180_000 });
  return r.json<Outcome>();
}

const rules = (o: Outcome): string[] => o.violations.map((v) => v.rule);

function judge(stage: Stage, s: RealWorldSample, check: Outcome, run: Outcome): Result {
  const d = DELIBERATE[stage][s.id];
  if (check.verdict === 'ok' && run.verdict === 'ok') return { check, run, verdict: 'accepted', why: '' };
  const why = `check ${check.verdict} [${rules(check).join(', ')}], run ${run.verdict} exit ${run.exitCode} [${rules(run).join(', ')}]${run.message ? `: ${run.message.slice(0, 160)}` : ''}`;
  const byDesign = d !== undefined && check.exitCode === 3 && run.exitCode === 3 && rules(check).includes(d.rule) && rules(run).includes(d.rule);
  return { check, run, verdict: byDesign ? 'refused-by-design' : 'refused-by-bug', why };
}

function table(): string {
  const lines = ['| stage | accepted | refused-by-design | refused-by-bug | total |', '| --- | ---: | ---: | ---: | ---: |'];
  const details: string[] = [];
  for (const stage of STAGES) {
    const r = [...(results.get(stage)?.values() ?? [])];
    const n = (v: Verdict): number => r.filter((x) => x.verdict === v).length;
    lines.push(`| ${stage} | ${n('accepted')} | ${n('refused-by-design')} | ${n('refused-by-bug')} | ${r.length} |`);
    for (const [id, x] of results.get(stage) ?? []) if (x.verdict !== 'accepted') details.push(`- ${stage} ${x.verdict}: ${id}: ${x.why}`);
  }
  return [...lines, '', ...details, ''].join('\n');
}

beforeAll(async () => {
  const missing = await missingTools();
  expect(missing, 'the real-world writers are missing: run ./setup.sh (as root) first').toEqual([]);
  sb = await makeSandbox('zt-realworld-');
  const corpus = path.join(sb.dir, 'corpus');
  await mkdir(corpus);
  for (const stage of STAGES) await mkdir(path.join(sb.dir, 'out', stage), { recursive: true });
  files = await buildCorpus(corpus);
  await setUpOptimal();
  for (const stage of STAGES) {
    const checked = await checkStage(stage);
    const byId = new Map<string, Result>();
    const queue = REALWORLD_SAMPLES.map((s, i) => ({ s, c: checked[i]! }));
    const worker = async (): Promise<void> => {
      for (let x = queue.shift(); x; x = queue.shift()) byId.set(x.s.id, judge(stage, x.s, x.c, await runOne(stage, x.s)));
    };
    await Promise.all([worker(), worker()]);
    results.set(stage, byId);
  }
  await mkdir(path.join(ROOT, '.tmp'), { recursive: true });
  await writeFile(path.join(ROOT, '.tmp', 'realworld-acceptance.md'), table());
  console.log(`real-world acceptance (${REALWORLD_SAMPLES.length} samples)\n${table()}`);
}, 1_800_000);

afterAll(async () => {
  await sb?.cleanup();
});

describe('benign media made by real tools passes every bundled stage', () => {
  test('the corpus is broad: at least 60 samples from at least 10 tools', () => {
    expect(REALWORLD_SAMPLES.length).toBeGreaterThanOrEqual(60);
    expect(new Set(REALWORLD_SAMPLES.map((s) => s.tool.split(' ')[0])).size).toBeGreaterThanOrEqual(10);
  });

  for (const stage of STAGES) {
    test(`${stage}: every deliberate refusal is documented in policies/${stage}.yaml`, async () => {
      const text = await readFile(path.join(ROOT, 'policies', `${stage}.yaml`), 'utf8');
      for (const [id, d] of Object.entries(DELIBERATE[stage])) expect(text, `${id}: "${d.documented}"`).toContain(d.documented);
    });
    for (const s of REALWORLD_SAMPLES) {
      const d = DELIBERATE[stage][s.id];
      test(`${stage}: ${s.id} (${s.tool}: ${s.what}) is ${d ? `refused by ${d.rule}, as documented` : 'accepted and transcoded'}`, () => {
        const r = results.get(stage)!.get(s.id)!;
        expect(r.verdict, r.why).toBe(d ? 'refused-by-design' : 'accepted');
      });
    }
  }
});

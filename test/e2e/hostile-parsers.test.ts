/**
 * The host-side parsers under hostile bytes, through the CLI as a user meets them: each finding
 * of issue 17 has its case here, with the documented exit code and never a stack trace.
 *   - appended data hidden by the walk's own limits or by its decisions (exit 3 at advanced,
 *     a warning at initial), and a live WebM that must keep passing;
 *   - a 16 MiB JPEG of fill bytes (a walk linear in the file; refused as truncated);
 *   - a `__proto__` tag against the metadata limit (exit 3), a `__proto__` policy key (exit 9);
 *   - YAML alias bombs, 5000 unknown keys, a 50 MiB scalar (exit 9);
 *   - a deeply nested audit line and an over-long one: `audit verify` and `audit show` exit 8
 *     naming file and line; already in the live log, the writer refuses (exit 8) and says how
 *     to recover.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendFile, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { makeSandbox, type CliResult, type Sandbox } from '../helpers/cli.js';
import { ffmpeg } from '../helpers/media.js';

let sb: Sandbox;
const f = (name: string): string => path.join(sb.dir, name);
const ZIP = Buffer.from('PK\x03\x04\x14\x00\x00\x00\x08\x00<html><script>payload()</script></html>', 'latin1');

function box(type: string, body: Buffer, size?: number): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt32BE(size ?? 8 + body.length);
  h.write(type, 4, 'latin1');
  return Buffer.concat([h, body]);
}

/** The top-level box of `type` in an mp4. */
function topBox(mp4: Buffer, type: string): Buffer {
  for (let pos = 0; pos + 8 <= mp4.length; pos += mp4.readUInt32BE(pos)) {
    if (mp4.toString('latin1', pos + 4, pos + 8) === type) return mp4.subarray(pos, pos + mp4.readUInt32BE(pos));
  }
  throw new Error(`no ${type}`);
}

/** Neither an internal error nor a stack trace, whatever the exit code. */
function noCrash(r: CliResult): void {
  expect(r.stderr).not.toMatch(/internal error|\n\s+at [\w.<]+ \(/);
  expect(r.code).not.toBe(1);
}

interface FileOutcome {
  readonly exitCode: number;
  readonly violations: ReadonlyArray<{ rule: string; actual: unknown }>;
  readonly warnings: ReadonlyArray<{ rule: string }>;
}

beforeAll(async () => {
  sb = await makeSandbox('zt-hostile-parsers-');
  const v = ['-f', 'lavfi', '-i', 'testsrc2=size=64x48:rate=10:duration=0.5'];
  const a = ['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000:duration=0.5'];
  await ffmpeg([...v, ...a, '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'libopus', '-shortest', f('base.mkv')]);
  await ffmpeg([...v, ...a, '-c:v', 'libvpx', '-deadline', 'realtime', '-b:v', '50k', '-c:a', 'libopus', '-shortest', '-live', '1', f('live.webm')]);
  await ffmpeg([...v, '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', f('base.mp4')]);
  await ffmpeg([...v, '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', f('base.mov')]);
  await ffmpeg([...a, '-c:a', 'pcm_s16le', f('base.wav')]);
  await ffmpeg([...a, '-c:a', 'aac', '-movflags', 'use_metadata_tags', '-metadata', `__proto__=${'p'.repeat(100_000)}`, f('proto-tag.mp4')]);
  const [mkv, live, mp4, mov, wav] = await Promise.all(['base.mkv', 'live.webm', 'base.mp4', 'base.mov', 'base.wav'].map((n) => readFile(f(n))));
  const voids = Buffer.alloc(999 * 2);
  for (let i = 0; i < voids.length; i += 2) voids.set([0xec, 0x80], i);
  const free = Buffer.alloc(2_000_000 * 8);
  for (let i = 0; i < free.length; i += 8) free.set([0, 0, 0, 8, 0x66, 0x72, 0x65, 0x65], i);
  const slack = Buffer.concat([wav!, Buffer.alloc(7)]);
  slack.writeUInt32LE(slack.readUInt32LE(4) + 7, 4);
  const fill = Buffer.alloc(16 << 20, 0xff);
  fill[1] = 0xd8;
  await Promise.all([
    writeFile(f('voids-payload.mkv'), Buffer.concat([mkv!, voids, ZIP])),
    writeFile(f('live-payload.webm'), Buffer.concat([live!, ZIP])),
    writeFile(f('free-payload.mp4'), Buffer.concat([mp4!, free, ZIP])),
    writeFile(f('size0-payload.mp4'), Buffer.concat([mp4!, box('free', ZIP, 0)])),
    writeFile(f('mp4-mov.mp4'), Buffer.concat([mp4!, mov!])),
    writeFile(f('two-moov.mp4'), Buffer.concat([mp4!, topBox(mp4!, 'moov')])),
    writeFile(f('two-riff.wav'), Buffer.concat([wav!, wav!])),
    writeFile(f('slack.wav'), slack),
    writeFile(f('fill.jpg'), fill),
  ]);
});

afterAll(async () => sb?.cleanup());

async function checkAll(names: readonly string[], policy: string[] = []): Promise<Map<string, FileOutcome>> {
  const r = await sb.run(['check', '--json', ...policy, ...names.map(f)], { timeoutMs: 120_000 });
  noCrash(r);
  const j = r.json<{ files: FileOutcome[] }>();
  return new Map(names.map((n, i) => [n, j.files[i]!]));
}

describe('appended data and second containers are refused (exit 3); live WebM keeps passing', () => {
  const cases: ReadonlyArray<readonly [string, string, RegExp]> = [
    ['voids-payload.mkv', 'input.structure', /^trailing-data/],
    ['live-payload.webm', 'input.structure', /^trailing-data/],
    ['free-payload.mp4', 'input.structure', /^(trailing-data|truncated)/],
    ['size0-payload.mp4', 'input.structure.unverified', /^unverified/],
    ['mp4-mov.mp4', 'input.structure', /^trailing-data/],
    ['two-moov.mp4', 'input.structure', /^malformed/],
    ['two-riff.wav', 'input.structure', /^trailing-data/],
    ['slack.wav', 'input.structure', /^malformed/],
    ['fill.jpg', 'input.structure', /^truncated/],
  ];
  let out: Map<string, FileOutcome>;
  beforeAll(async () => {
    out = await checkAll([...cases.map(([n]) => n), 'live.webm', 'base.mkv', 'base.mp4', 'base.wav']);
  });
  for (const [name, rule, actual] of cases) {
    it(`${name}: ${rule}`, () => {
      const o = out.get(name)!;
      expect(o.exitCode, JSON.stringify(o.violations)).toBe(3);
      expect(o.violations.find((v) => v.rule === rule)?.actual, JSON.stringify(o.violations)).toMatch(actual);
    });
  }
  it('the live WebM (unknown-size Segment and Clusters) and the plain files are accepted', () => {
    for (const n of ['live.webm', 'base.mkv', 'base.mp4', 'base.wav']) expect(out.get(n)?.exitCode, `${n}: ${JSON.stringify(out.get(n)?.violations)}`).toBe(0);
  });
  it('at initial the same findings are warnings', async () => {
    const o = (await checkAll(['live-payload.webm', 'size0-payload.mp4'], ['-p', 'initial']));
    expect(o.get('live-payload.webm')).toMatchObject({ exitCode: 0, warnings: expect.arrayContaining([expect.objectContaining({ rule: 'input.structure' })]) });
    expect(o.get('size0-payload.mp4')?.warnings.map((w) => w.rule)).toContain('input.structure.unverified');
  });
});

describe('__proto__ never escapes a limit or a check', () => {
  it('a 100 KB __proto__ tag counts against input.maxMetadataBytes (exit 3)', async () => {
    const o = (await checkAll(['proto-tag.mp4'])).get('proto-tag.mp4')!;
    expect(o.exitCode).toBe(3);
    expect(o.violations.map((v) => v.rule)).toContain('input.maxMetadataBytes');
  });
  it('a __proto__ mapping in a policy that extends a stage is an unknown key (exit 9), not allowLoosening', async () => {
    await writeFile(f('proto.yaml'), 'apiVersion: zt-ffmpeg/v1\nextends: advanced\nstage: advanced\n__proto__:\n  allowLoosening: true\ninput:\n  maxWidth: 100000\n');
    const r = await sb.run(['policy', 'validate', f('proto.yaml')]);
    noCrash(r);
    expect(r.code).toBe(9);
    expect(r.stderr).toMatch(/proto\.yaml:4:1: __proto__: unknown field "__proto__"/);
  });
});

describe('hostile policies give exit 9 naming the file, never a stack trace', () => {
  const bomb = 'a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n';
  it('an alias bomb, in policy validate and in check -p', async () => {
    await writeFile(f('bomb.yaml'), bomb);
    for (const args of [['policy', 'validate', f('bomb.yaml')], ['check', '-p', f('bomb.yaml'), f('base.wav')]]) {
      const r = await sb.run(args);
      noCrash(r);
      expect(r.code).toBe(9);
      expect(r.stderr).toMatch(/bomb\.yaml:\d+:\d+: the YAML aliases expand too often/);
    }
  });
  it('5000 unknown keys (the first 100 listed), deep nesting, and a 50 MiB scalar', async () => {
    await writeFile(f('keys.yaml'), `extends: advanced\nstage: advanced\ninput:\n${Array.from({ length: 5000 }, (_, i) => `  unknownKey${i}: 1\n`).join('')}`);
    await writeFile(f('deep.yaml'), `extends: advanced\nstage: advanced\ninput:\n${Array.from({ length: 1000 }, (_, i) => `${' '.repeat(i + 2)}- \n`).join('')}`);
    await writeFile(f('big.yaml'), `stage: advanced\ndescription: "${'a'.repeat(50 << 20)}"\n`);
    const keys = await sb.run(['policy', 'validate', f('keys.yaml')]);
    noCrash(keys);
    expect(keys.code).toBe(9);
    expect(keys.stderr).toMatch(/5000 problems; the first 100 are listed/);
    for (const [name, why] of [['deep.yaml', /nesting/], ['big.yaml', /more than the 1048576 a policy (file )?may be/]] as const) {
      const r = await sb.run(['policy', 'validate', f(name)]);
      noCrash(r);
      expect(r.code, r.stderr).toBe(9);
      expect(r.stderr).toMatch(why);
    }
  });
});

describe('hostile audit lines give exit 8 naming file and line', () => {
  /** A log of one real record, then a copy of it carrying `value`: the hostile line is line 2. */
  async function hostileLog(name: string, value: string): Promise<string> {
    const log = f(name);
    const r = await sb.run(['check', f('base.wav')], { env: { ZT_FFMPEG_AUDIT_LOG: log } });
    expect(r.code).toBe(0);
    const lines = (await readFile(log, 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(1);
    await appendFile(log, `${lines[0]!.replace('"event":{', `"event":{"x":${value},`)}\n`);
    return log;
  }

  it('4000 nested brackets: audit verify and audit show exit 8; check and run refuse to extend the log and say how to recover', async () => {
    const log = await hostileLog('deep.log', `${'['.repeat(4000)}${']'.repeat(4000)}`);
    const verify = await sb.run(['audit', 'verify', log, '--key', sb.auditPub]);
    noCrash(verify);
    expect(verify.code).toBe(8);
    expect(verify.stderr).toMatch(/deep\.log: line 2: malformed: line nests arrays or objects more than 64 levels deep/);
    const show = await sb.run(['audit', 'show', log]);
    noCrash(show);
    expect(show.code).toBe(8);
    expect(show.stderr).toMatch(/deep\.log:2: not a readable audit record/);
    for (const args of [['check', f('base.wav')], ['run', '-i', f('base.wav'), '-o', f('out.wav')]]) {
      const r = await sb.run(args, { env: { ZT_FFMPEG_AUDIT_LOG: log } });
      noCrash(r);
      expect(r.code).toBe(8);
      // The writer refuses to extend a log that is not exactly what its checkpoint seals, and says how to recover.
      expect(r.stderr).toMatch(/past its checkpoint/);
      expect(r.stderr).toMatch(/audit verify .* --no-checkpoint/);
      expect(r.stderr).toMatch(/audit reseal|move the log aside/);
    }
  });

  it('a line longer than any record (8 MiB) is refused without being held', async () => {
    const log = await hostileLog('long.log', `"${'a'.repeat(8 << 20)}"`);
    const verify = await sb.run(['audit', 'verify', log, '--key', sb.auditPub]);
    noCrash(verify);
    expect(verify.code).toBe(8);
    expect(verify.stderr).toMatch(/long\.log: line 2: malformed: line is more than \d+ bytes long/);
  });
});

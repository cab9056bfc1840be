/**
 * The firewall against the real ffmpeg 5.1: the option table must consume
 * arguments exactly as ffmpeg does, the filtergraph parser must see the same
 * filters and option values as libavfilter, and the benign arguments the
 * firewall passes must be valid for ffmpeg.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ALIASES,
  checkPassthroughArgs,
  DENIED_OPTIONS,
  filtersOf,
  OPTIONS,
  parseFilterGraph,
  type FirewallRules,
} from '../../src/plan/firewall/index.js';
import { exec } from '../../src/util/exec.js';

const FFMPEG = '/usr/bin/ffmpeg';
let dir = '';

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'zt-firewall-'));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function ffmpeg(args: string[]): Promise<{ code: number | undefined; stdout: string; stderr: string }> {
  const r = await exec(FFMPEG, args, { timeoutMs: 20_000, cwd: dir, env: {}, maxBuffer: 8 * 1024 * 1024 });
  if (r.spawnFailed || r.timedOut) throw new Error(`ffmpeg did not run: ${r.spawnError ?? 'timed out'}`);
  return { code: r.exitCode, stdout: r.stdout, stderr: r.stderr };
}

describe('option table agrees with ffmpeg about which options take a value', () => {
  it('every table entry, alias and denial', async () => {
    // ffmpeg logs how it splits the command line at -loglevel debug:
    //   Reading option '-an' ... matched as option 'an' (...) with argument '1'.
    //   Reading option '-crf' ... matched as AVOption 'crf' with argument 'ZT7'.
    // Each option is followed by a sentinel; it takes a value iff the sentinel is its argument.
    const expected = new Map<string, boolean>();
    for (const [name, spec] of Object.entries(OPTIONS)) expected.set(name, spec.takesValue);
    for (const [name, a] of Object.entries(ALIASES)) expected.set(name, OPTIONS[a.aliasOf]?.takesValue ?? false);
    for (const [name, den] of Object.entries(DENIED_OPTIONS)) expected.set(name, den.consumes !== 'none');

    // Names this build does not know at all would stop ffmpeg's parsing: find them first.
    const help = await ffmpeg(['-hide_banner', '-h', 'full']);
    const known = new Set([...help.stdout.matchAll(/^\s*-(\S+)/gm)].map((m) => m[1] ?? ''));
    known.add('i'); // not listed by -h full
    for (const n of expected.keys()) if (n.startsWith('no') && known.has(n.slice(2))) known.add(n); // -nostdin, -nostats
    const names = [...expected.keys()].filter((n) => known.has(n));
    const unknownToThisBuild = [...expected.keys()].filter((n) => !known.has(n));

    const argv = ['-loglevel', 'debug', '-hide_banner'];
    names.forEach((n, k) => argv.push(`-${n}`, `ZTSENTINEL${k}`));
    const { stderr } = await ffmpeg(argv);
    expect(stderr).not.toMatch(/Unrecognized option/);
    const seen = new Map<string, string>();
    // AVOptions known to both codecs and muxers print a "Routing option…" line in between.
    const re = /^Reading option '-([^']+)' \.\.\.(?:Routing option [^\n]*\n)? matched as .*? with argument '?([^']*?)'?\.$/gm;
    for (const m of stderr.matchAll(re)) seen.set(m[1] ?? '', m[2] ?? '');

    const mismatches: string[] = [];
    names.forEach((n, k) => {
      const arg = seen.get(n);
      if (arg === undefined) {
        mismatches.push(`${n}: not seen in ffmpeg's log`);
        return;
      }
      const takes = arg === `ZTSENTINEL${k}`;
      if (takes !== expected.get(n)) mismatches.push(`${n}: table says ${expected.get(n)}, ffmpeg says ${takes}`);
    });
    expect(mismatches).toEqual([]);
    // Options this ffmpeg does not know may only be denials kept for other versions, never allowed ones.
    for (const n of unknownToThisBuild) expect(DENIED_OPTIONS[n], `${n} is in OPTIONS but unknown to ffmpeg`).toBeDefined();
  });
});

describe.concurrent('filtergraph parser agrees with libavfilter', () => {
  // ffmpeg -loglevel debug logs every option it sets: [Parsed_scale_0 @ 0x..] Setting 'w' to value '32'
  // (an instance with an id is logged by its name: [scale@s2 @ 0x..])
  it.for([
    "sc\\ale=w='32':h=16",
    "'scale'=32:16",
    '  scale = w = 32 : h=16 , null ',
    "drawtext=text='a\\:b,c':x=1",
    'drawtext=text=a\\\\\\,b:y=2',
    String.raw`drawtext=text=this is a \\\'string\\\'\\: may contain one\, or more\, special characters`,
    "drawtext=text=\\' a \\':x=3",
    'scale=w=32:16',
    'null@my.id,scale@s2=32:16',
    "setpts='N/(FRAME_RATE*TB)'",
  ])('%s', async (graph, { expect }) => {
    const parsed = parseFilterGraph(graph);
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    const filters = filtersOf(parsed.graph);
    const instance = (name: string, id: string | undefined, k: number): string => (id ? `${name}@${id}` : `Parsed_${name}_${k}`);
    const ours = filters.map((f, k) => ({ instance: instance(f.name, f.id, k), args: f.args.map((a) => a.value) }));

    const { stderr } = await ffmpeg([
      '-hide_banner', '-nostdin', '-loglevel', 'debug',
      '-f', 'lavfi', '-i', 'nullsrc=s=16x16:d=0.04', '-vf', graph, '-frames:v', '1', '-f', 'null', '-',
    ]);
    const theirs = new Map<string, string[]>();
    for (const m of stderr.matchAll(/^\[([^\s\]]+) @ 0x[0-9a-f]+\] Setting '[^']*' to value '([\s\S]*?)'$/gm)) {
      const who = m[1] ?? '';
      theirs.set(who, [...(theirs.get(who) ?? []), m[2] ?? '']);
    }
    const ffmpegView = ours.map((f) => ({ instance: f.instance, args: theirs.get(f.instance) ?? [] }));
    expect(ours).toEqual(ffmpegView);
  });
});

describe.concurrent('benign arguments the firewall passes are valid ffmpeg', () => {
  const rules: FirewallRules = {
    options: ['c', 'preset', 'crf', 'b', 'vf', 'movflags', 'an', 'map', 't', 'ss', 'f'],
    encoders: ['libx264', 'aac', 'libopus'],
    muxers: ['mp4', 'matroska'],
    filters: ['scale', 'fps'],
  };
  it.for([
    [['-c:v', 'libx264', '-preset', 'veryfast', '-crf', '23', '-c:a', 'aac', '-b:a', '128k', '-vf', 'scale=1280:-2', '-movflags', '+faststart'], 'a.mp4'],
    [['-an', '-vf', 'scale=w=640:h=-2,fps=15', '-c:v', 'libx264', '-map', '0:v:0', '-t', '0.2', '-ss', '0.04'], 'b.mkv'],
    [['-c:a', 'libopus', '-b:a', '96k', '-map', '0:v:0', '-map', '0:a:0?', '-c:v', 'libx264'], 'c.mkv'],
  ] as Array<[string[], string]>)('%j', async ([args, out], { expect }) => {
    expect(checkPassthroughArgs(args, rules, { jobDir: dir }).ok).toBe(true);
    const { code, stderr } = await ffmpeg([
      '-hide_banner', '-nostdin', '-loglevel', 'error', '-threads', '1',
      '-f', 'lavfi', '-i', 'testsrc=d=0.3:s=160x120:r=10[out0];sine=d=0.3[out1]',
      ...args, '-y', path.join(dir, out),
    ]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });
});

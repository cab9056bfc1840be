/**
 * The pure parts of "no job may cost far more than its media": the budgets derived from a
 * policy and a probe, what the firewall reads in the arguments, ffmpeg's progress report and
 * its judgement, the output check at verification, bwrap's status report, the escape-sign
 * scanner's echo rule, and the bounded capture of a stream.
 */
import { describe, it, expect } from 'vitest';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { BUNDLED_DIR } from '../../src/policy/load.js';
import { parsePolicyText } from '../../src/policy/yaml-source.js';
import type { Policy } from '../../src/policy/types.js';
import type { ProbeResult, ProbeStream } from '../../src/inspect/probe-result.js';
import { mediaSecondsOf, outputBudget, runBudget } from '../../src/plan/budget.js';
import { checkPassthroughArgs, readLiteral, readRate, readSize, type FirewallRules } from '../../src/plan/firewall/index.js';
import { ProgressParser, judgeProgress, framesAllowed } from '../../src/monitor/progress.js';
import { checkOutputBudget } from '../../src/verify/output-probe.js';
import { commandEnd, parseBwrapStatus } from '../../src/sandbox/exit-status.js';
import { scanDiagnostics, DiagnosticsScanner } from '../../src/monitor/diagnostics.js';
import { BoundedCapture, drainPaced } from '../../src/sandbox/drain.js';
import { buildFfmpegArgv } from '../../src/plan/ffmpeg-argv.js';
import { sandboxCommandLines, sandboxFds } from '../../src/sandbox/supervise.js';

const MiB = 1048576;

async function bundled(stage: string): Promise<Policy> {
  const file = path.join(BUNDLED_DIR, `${stage}.yaml`);
  return parsePolicyText(file, await readFile(file, 'utf8')).data as unknown as Policy;
}

function stream(o: Partial<ProbeStream>): ProbeStream {
  return { index: 0, codecType: 'video', codecName: 'h264', width: 1280, height: 720, frameRate: 25, sampleRate: undefined, channels: undefined, duration: undefined, bitRate: undefined, tags: {}, attachedPic: false, ...o };
}
function probe(duration: number | undefined, streams: ProbeStream[] = [stream({})]): ProbeResult {
  return { formatName: 'mov,mp4', duration, bitRate: undefined, nbStreams: streams.length, tags: {}, streams, chapters: 0, chapterTags: [] };
}

describe('budgets derived from the input', () => {
  it('CPU and wall: rate × media, at least the floor, at most the absolute cap (named by the cap then)', async () => {
    const p = await bundled('advanced');
    const two = runBudget(p, probe(2));
    expect(two.cpuMs).toMatchObject({ limit: 60_000, rule: 'budget.cpuSecondsPerMediaSecond' });
    expect(two.wallMs).toMatchObject({ limit: 60_000, rule: 'budget.wallSecondsPerMediaSecond' });
    expect(two.cpuMs.basis).toMatch(/30 s per media-second × 2\.0 s of media, at least 10 s, at most 3600 s/);
    // A still, or an input ffprobe cannot time: the floor.
    expect(runBudget(p, probe(undefined)).cpuMs.limit).toBe(10_000);
    expect(runBudget(p, probe(0.1)).wallMs.limit).toBe(30_000);
    // Four hours: the absolute caps bind, and the breach names them.
    const long = runBudget(p, probe(14_400));
    expect(long.cpuMs).toMatchObject({ limit: 3_600_000, rule: 'limits.cpuSeconds' });
    expect(long.wallMs).toMatchObject({ limit: 1_800_000, rule: 'limits.wallSeconds' });
    expect(two.stderrBytes).toMatchObject({ limit: 16 * MiB, rule: 'budget.maxStderrMiB' });
  });

  it('media seconds: the container, else the longest stream, capped by input.maxDurationSeconds', async () => {
    const p = await bundled('advanced');
    expect(mediaSecondsOf(p, probe(undefined, [stream({ duration: 3 }), stream({ duration: 5 })]))).toBe(5);
    expect(mediaSecondsOf(p, probe(1e9))).toBe(p.input.maxDurationSeconds);
  });

  it('output: the input duration × the declared factor + tolerance; size: factor × input, floor, cap', async () => {
    const p = await bundled('advanced');
    const o = outputBudget(p, probe(2), MiB, 1);
    expect(o.seconds).toMatchObject({ limit: 3, rule: 'output.maxDuration' });
    expect(outputBudget(p, probe(2), MiB, 2).seconds.limit).toBe(5);
    expect(o.frameRate.limit).toBe(240);
    expect(o.pixels.limit).toBe(33_177_600);
    expect(o.bytes).toMatchObject({ limit: 256 * MiB, rule: 'output.maxBytes' });
    expect(outputBudget(p, probe(2), 10 * MiB, 1).bytes.limit).toBe(2000 * MiB);
    expect(outputBudget(p, probe(2), 100 * MiB, 1).bytes).toMatchObject({ limit: 8192 * MiB, rule: 'limits.outputMaxMiB' });
  });

  it('each stage is at least as strict as the one before on every budget and output field', async () => {
    const [i, a, o] = await Promise.all(['initial', 'advanced', 'optimal'].map(bundled));
    for (const k of ['cpuSecondsPerMediaSecond', 'wallSecondsPerMediaSecond', 'minCpuSeconds', 'minWallSeconds', 'maxStderrMiB'] as const) {
      expect(a!.budget[k]).toBeLessThanOrEqual(i!.budget[k]);
      expect(o!.budget[k]).toBeLessThanOrEqual(a!.budget[k]);
    }
    for (const k of ['maxFrameRate', 'maxWidth', 'maxHeight', 'maxPixels', 'maxSizeFactor', 'minSizeMiB'] as const) {
      expect(a!.output[k]).toBeLessThanOrEqual(i!.output[k]);
      expect(o!.output[k]).toBeLessThanOrEqual(a!.output[k]);
      // No stage lets an output exceed what it accepts as input.
    }
    for (const p of [i!, a!, o!]) expect(p.output.maxPixels).toBeLessThanOrEqual(p.input.maxPixels);
  });
});

describe('what the firewall reads in the arguments', () => {
  const RULES: FirewallRules = {
    options: ['r', 's', 'vf', 'af', 'filter_complex', 'map', 'map_metadata', 'map_chapters', 'force_key_frames', 'c'],
    encoders: ['libx264'],
    muxers: ['mp4'],
    filters: ['scale', 'pad', 'fps', 'rotate', 'setpts', 'asetpts', 'volume', 'crop', 'eq', 'overlay', 'metadata', 'split', 'concat', 'null'],
  };
  const ctx = { jobDir: '/job', output: { maxFrameRate: 240, maxWidth: 7680, maxHeight: 4320, maxPixels: 33_177_600 } };
  const refused = (args: string[]): string[] => {
    const r = checkPassthroughArgs(args, RULES, ctx);
    return r.ok ? [] : r.violations.map((v) => v.rule);
  };

  it('literals as av_strtod reads them: decimals, exponents, hex, SI postfixes, ratios, names', () => {
    expect(readLiteral('15000')).toBe(15000);
    expect(readLiteral('1.5e4')).toBe(15000);
    expect(readLiteral('0x3a98')).toBe(15000);
    expect(readLiteral('15k')).toBe(15000);
    expect(readLiteral('1Ki')).toBe(1024);
    expect(readLiteral('iw*2')).toBeUndefined();
    expect(readRate('30000/1001')).toBeCloseTo(29.97, 2);
    expect(readRate('ntsc')).toBeCloseTo(29.97, 2);
    expect(readRate('source_fps*1000')).toBeUndefined();
    expect(readSize('hd720')).toEqual({ width: 1280, height: 720 });
    expect(readSize('whuxga')).toEqual({ width: 7680, height: 4800 });
  });

  it.each([
    [['-r', '100000'], ['output.maxFrameRate']],
    [['-r', '100000/1'], ['output.maxFrameRate']],
    [['-r', '1e5'], ['firewall.value']],
    [['-vf', 'fps=100000'], ['output.maxFrameRate']],
    [['-vf', 'fps=fps=100k'], ['output.maxFrameRate']],
    [['-s', '16000x16000'], ['output.maxWidth', 'output.maxHeight', 'output.maxPixels']],
    [['-s', 'whuxga'], ['output.maxHeight', 'output.maxPixels']],
    [['-vf', 'scale=15000:15000'], ['output.maxWidth', 'output.maxHeight', 'output.maxPixels']],
    [['-vf', 'scale=w=15000:h=-2'], ['output.maxWidth']],
    [['-vf', 'scale=size=16000x9000'], ['output.maxWidth', 'output.maxHeight', 'output.maxPixels']],
    [['-vf', 'pad=16000:16000'], ['output.maxWidth', 'output.maxHeight', 'output.maxPixels']],
    [['-vf', 'rotate=a=1:ow=9000:oh=9000'], ['output.maxWidth', 'output.maxHeight', 'output.maxPixels']],
  ])('%j is refused as %j', (args, rules) => {
    expect(refused(args)).toEqual(rules);
  });

  it.each([
    ["setpts='while(1,1)'"],
    ["setpts='while (1,1)'"],
    ["setpts='while+0(1,1)'"],
    ["volume='while(1,1)':eval=frame"],
    ["crop=w='while(1,1)'"],
    ["eq=contrast='while(1,1)':eval=frame"],
    ["rotate='while(1,1)'"],
    ["overlay=x='while(1,1)'"],
    ["null=enable='while(1,1)'"],
    ["setpts='print(PTS)+PTS'"],
    ["volume='print(1)':eval=frame"],
  ])('%s: an expression that never ends or floods is refused before the run', (vf) => {
    expect(refused(['-vf', vf])).toEqual(['firewall.expression']);
  });

  it('what it cannot read, or what is within bounds, passes (the run and the verification bound it)', () => {
    for (const vf of ['scale=iw*2:ih*2', 'scale=1920:-2', 'fps=30000/1001', 'fps=source_fps*2', 'setpts=0.5*PTS', 'metadata=mode=print', 'scale=hd1080', "crop=w='min(iw,1280)'"]) {
      expect(refused(['-vf', vf]), vf).toEqual([]);
    }
    expect(refused(['-r', '60', '-s', '1920x1080'])).toEqual([]);
  });

  it('-force_key_frames expr: with while() is refused too', () => {
    expect(refused(['-force_key_frames', 'expr:while(1,1)'])).toEqual(['firewall.expression']);
  });

  it('raw arguments cannot map the input metadata back: global, per stream, per chapter', () => {
    expect(refused(['-map_metadata', '0'])).toEqual(['output.keepMetadata']);
    expect(refused(['-map_metadata:s:v', '0:s:v'])).toEqual(['output.keepMetadata']);
    expect(refused(['-map_metadata:c', '0:c'])).toEqual(['output.keepMetadata']);
    expect(refused(['-map_chapters', '0'])).toEqual(['output.keepMetadata']);
    expect(refused(['-map_metadata', '-1', '-map_chapters', '-1'])).toEqual([]);
  });

  it("the wrapper strips metadata globally, per stream and per chapter unless the policy keeps it", () => {
    const base = { ffmpegPath: '/usr/bin/ffmpeg', inputPath: '/in/i.mp4', outputPath: '/job/o.mp4', demuxer: 'mov', codecs: ['h264'], maxPixels: 1, maxDurationSeconds: 1, threads: 1, probesize: 1, analyzeDurationUs: 1, muxer: 'mp4', outputArgs: [], progressFd: 7 };
    const a = buildFfmpegArgv(base).join(' ');
    expect(a).toContain('-map_metadata -1 -map_metadata:s -1 -map_metadata:c -1 -map_chapters -1');
    expect(a).toContain('-nostats -progress pipe:7');
    expect(buildFfmpegArgv({ ...base, keepMetadata: true }).join(' ')).not.toContain('-map_metadata');
  });
});

describe("ffmpeg's progress report", () => {
  const b = (limit: number, rule: string) => ({ limit, rule, basis: 'test' }) as never;
  const budget = { seconds: b(3, 'output.maxDuration'), frameRate: b(30, 'output.maxFrameRate'), width: b(1, 'output.maxWidth'), height: b(1, 'output.maxHeight'), pixels: b(1, 'output.maxPixels'), bytes: b(1000, 'output.maxBytes') };

  it('parses blocks split anywhere across chunks, keeps only what it knows, drops overlong lines', () => {
    const p = new ProgressParser();
    expect(p.push('frame=12\nfps=0.0\nout_time_us=4')).toEqual([]);
    expect(p.push('80000\ntotal_size=48\nspeed=1.5x\nprogress=continue\n')).toEqual([{ frame: 12, outSeconds: 0.48, totalSize: 48, speed: '1.5x', end: false }]);
    expect(p.push(`frame=${'9'.repeat(300)}\nout_time_us=N/A\nprogress=end\n`)).toEqual([{ end: true }]);
  });

  it('judges the output against its budget: duration, frames for the time written, size', () => {
    expect(judgeProgress({ outSeconds: 2.9, frame: 80, end: false }, budget)).toBeUndefined();
    expect(judgeProgress({ outSeconds: 3.5, end: false }, budget)?.rule).toBe('output.maxDuration');
    expect(framesAllowed(0, 30)).toBe(360);
    expect(judgeProgress({ outSeconds: 0, frame: 361, end: false }, budget)?.rule).toBe('output.maxFrameRate');
    expect(judgeProgress({ outSeconds: 1, totalSize: 1001, end: false }, budget)?.rule).toBe('output.maxBytes');
  });

  it('at verification, every job: duration, frame rate, sizes of every video stream, bytes', () => {
    const p = probe(5, [stream({ frameRate: 100, width: 2, height: 1 }), stream({ codecType: 'audio', width: undefined, height: undefined })]);
    expect(checkOutputBudget(p, 2000, budget).map((v) => v.rule)).toEqual(['output.maxDuration', 'output.maxFrameRate', 'output.maxWidth', 'output.maxPixels', 'output.maxBytes']);
    expect(checkOutputBudget(probe(1, [stream({ frameRate: 25, width: 1, height: 1 })]), 10, budget)).toEqual([]);
  });
});

describe("bubblewrap's status, not the command's words", () => {
  it('parses its JSON lines; an exit code only when the command was executed', () => {
    const started = '{ "child-pid": 42, "cgroup-namespace": 4026531835 }\n';
    expect(parseBwrapStatus(`${started}{ "exit-code": 1 }\n`)).toEqual({ childPid: 42, exitCode: 1 });
    expect(parseBwrapStatus(started)).toEqual({ childPid: 42 });
    expect(parseBwrapStatus('garbage\n{"exit-code": "1"}\n{"exit-code": 999}')).toEqual({});
    expect(commandEnd({ degraded: false, spawnFailed: false, exitCode: 1, signal: undefined, status: { childPid: 42 } })).toEqual({ kind: 'not-run' });
    expect(commandEnd({ degraded: false, spawnFailed: false, exitCode: 137, signal: undefined, status: { exitCode: 137 } })).toEqual({ kind: 'signaled', signal: 'SIGKILL' });
    expect(commandEnd({ degraded: true, spawnFailed: false, exitCode: 1, signal: undefined, status: {} })).toEqual({ kind: 'exited', code: 1 });
  });

  it('the descriptors sit in fixed slots: seccomp program on stdin, input 3, progress pipe 7, status pipe 8', () => {
    const run = { tools: { bwrap: '/usr/bin/bwrap', prlimit: '/usr/bin/prlimit', degraded: false }, command: ['/usr/bin/ffmpeg'], inputFd: 20, seccompProgram: Buffer.alloc(8), tmpfsBytes: 1, grants: { fonts: false, gpu: false }, rlimits: { addressSpaceBytes: 1, cpuSeconds: 1, fileSizeBytes: 1, openFiles: 1 }, wallMs: 1, progress: {} };
    expect(sandboxFds(run)).toEqual({ seccomp: 0, input: 3, progress: 7, status: 8 });
    const bwrap = sandboxCommandLines(run, sandboxFds(run)).bwrap?.join(' ') ?? '';
    expect(bwrap).toContain('--ro-bind-fd 3 /in/input');
    expect(bwrap).toContain('--seccomp 0');
    expect(bwrap).toContain('--json-status-fd 8');
    // Degraded: no bwrap, so no status pipe and no program; the input (inherited, not bound) and the progress pipe stay.
    expect(sandboxFds({ ...run, tools: { ...run.tools, degraded: true } })).toEqual({ input: 3, progress: 7 });
  });
});

describe('escape signs in the diagnostics', () => {
  it('are quoted lines marked untrusted', () => {
    const [a] = scanDiagnostics("[hls @ 0x1] Impossible to open '/etc/passwd'\n", 'kill');
    expect(a).toMatchObject({ kind: 'escape-attempt', action: 'kill', untrusted: 'ffmpeg-stderr' });
    expect(JSON.parse(a!.evidence!)).toBe("[hls @ 0x1] Impossible to open '/etc/passwd'");
  });
  it('an echo of the argv is not evidence (quotes and backslashes aside), the same text from the input is', () => {
    const argv = ['/usr/bin/ffmpeg', '-vf', "scale=w='Impossible to open /etc/shadow'"];
    const echo = "[Parsed_scale_0 @ 0x1] [error] Invalid size 'Impossible to open /etc/shadow'\n";
    expect(scanDiagnostics(echo, 'kill', argv)).toEqual([]);
    expect(scanDiagnostics(echo, 'kill', ['/usr/bin/ffmpeg', '-vf', 'scale=640:-2'])).not.toEqual([]);
    expect(scanDiagnostics("Protocol 'tcp' not on whitelist 'file'!", 'warn', ['-metadata', "comment=Protocol \\'tcp\\' not on whitelist"])).toEqual([]);
    // A path under /home/ in the argv (degraded mode's input path) does not mask another one.
    expect(scanDiagnostics('open /home/alice/.ssh/id_rsa', 'warn', ['/home/bob/in.mp4']).map((x) => x.kind)).toEqual(['escape-attempt']);
    expect(scanDiagnostics("Error opening '/home/bob/in.mp4'", 'warn', ['/home/bob/in.mp4'])).toEqual([]);
  });
  it('a sign split across two chunks is still seen, and each kind is reported once', () => {
    const s = new DiagnosticsScanner('warn');
    expect(s.push("Protocol 'tc")).toEqual([]);
    expect(s.push("p' not on whitelist\n").length).toBe(1);
    expect(s.push("Protocol 'udp' not on whitelist\n")).toEqual([]);
  });
});

describe('a bounded capture of a hostile stream', () => {
  it('keeps the head and the tail, counts every byte, says what it left out', () => {
    const c = new BoundedCapture(4, 4);
    for (const s of ['abc', 'defgh', 'ijklmnop', 'qr']) c.push(Buffer.from(s));
    expect(c.bytes).toBe(18);
    expect(c.omitted).toBe(10);
    expect(c.text()).toBe('abcd\n[… 10 bytes not kept …]\nopqr');
    const small = new BoundedCapture(8, 8);
    small.push(Buffer.from('hello'));
    expect(small.text()).toBe('hello');
  });
  it('a paced drain reads everything to the end', async () => {
    const s = new PassThrough();
    let n = 0;
    const d = drainPaced(s, { bytesPerSecond: 1024 * 1024, minGapMs: 5 }, (c) => (n += c.length));
    for (let i = 0; i < 20; i++) s.write(Buffer.alloc(4096));
    s.end();
    await d.done;
    expect(n).toBe(20 * 4096);
  });
});

/**
 * The seccomp profiles under real bubblewrap: the filter is installed (Seccomp: 2),
 * network sockets and namespace creation are really refused with EPERM, and real
 * ffmpeg/ffprobe still encode, probe and decode every format the bundled operations
 * use, under both profiles. A run without a filter is the control: the same
 * commands succeed there, so the refusals come from the filter and nothing else.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, open, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { buildSeccompProgram, type SeccompProfileName } from '../../src/sandbox/seccomp/profiles.js';
import { checkedProgram, handOverProgram } from '../../src/sandbox/start-gate.js';
import { buildBwrapArgs, sandboxEnv } from '../../src/sandbox/bwrap.js';
import { CHILD_FD, SANDBOX_OUTPUT_PATH } from '../../src/sandbox/supervise.js';
import { exec, type ExecResult } from '../../src/util/exec.js';

const BWRAP = '/usr/bin/bwrap';
const FFMPEG = '/usr/bin/ffmpeg';
const FFPROBE = '/usr/bin/ffprobe';
const PYTHON = '/usr/bin/python3';
const UNSHARE = '/usr/bin/unshare';
const available = [BWRAP, FFMPEG, FFPROBE].every((p) => existsSync(p));

let workDir = '';
let jobDir = '';
let hasX265 = false;

/**
 * Run argv inside the project's own sandbox, built by the production builder
 * (src/sandbox/bwrap.ts) with the production descriptor slots (CHILD_FD): every namespace
 * unshared, an unprivileged uid, /usr and a few /etc files read-only, a size-limited /tmp, no
 * writable host directory, the root remounted read-only, a cleared environment; the profile's
 * filter (or none, for the control); an input bound read-only at /in/<name>; an output file the
 * host made, written through /proc/self/fd/4 (SANDBOX_OUTPUT_PATH) as ffmpeg writes a job's.
 */
async function sandboxed(
  profile: SeccompProfileName | 'none',
  argv: readonly string[],
  files: { input?: { path: string; name: string }; output?: string } = {},
): Promise<ExecResult> {
  // The program on bwrap's stdin, as the supervisor hands it over (src/sandbox/start-gate.ts).
  const program = profile === 'none' ? undefined : checkedProgram(buildSeccompProgram(profile));
  const inputHandle = files.input ? await open(files.input.path, 'r') : undefined;
  const outputHandle = files.output ? await open(files.output, 'w', 0o600) : undefined;
  try {
    const args = buildBwrapArgs({
      ...(program ? { seccompFd: CHILD_FD.seccomp } : {}),
      ...(inputHandle && files.input ? { inputFd: CHILD_FD.input, inputName: files.input.name } : {}),
      tmpfsBytes: 64 * 1024 * 1024,
      grants: { fonts: false, gpu: false },
      env: sandboxEnv(),
      command: argv,
    });
    const extraFds = [inputHandle?.fd ?? 'ignore', outputHandle?.fd ?? 'ignore'] as const;
    return await exec(BWRAP, args, {
      timeoutMs: 30_000,
      extraFds: [...extraFds],
      stdin: program ? 'pipe' : 'ignore',
      onStreams: (st) => {
        if (program && st.stdin) handOverProgram(st.stdin, program, undefined, { stopped: () => false, onOpened: () => undefined, onRefused: () => undefined });
      },
    });
  } finally {
    await inputHandle?.close();
    await outputHandle?.close();
  }
}

/** The raw test pattern every encode reads, bound as the sandbox's input. */
const inMkv = (): { path: string; name: string } => ({ path: join(jobDir, 'in.mkv'), name: 'input.mkv' });

function ok(r: ExecResult): ExecResult {
  expect(r.exitCode, `exit ${String(r.exitCode)} signal ${String(r.signal)}\n${r.stderr.slice(-2000)}`).toBe(0);
  return r;
}

const PY_SOCKETS = [
  'import socket',
  'for name in ("AF_INET", "AF_INET6", "AF_UNIX"):',
  '    try:',
  '        socket.socket(getattr(socket, name), socket.SOCK_STREAM).close()',
  '        print(name, "ok")',
  '    except OSError as e:',
  '        print(name, "errno", e.errno)',
].join('\n');

interface PolicyTarget {
  readonly label: string;
  readonly profile: SeccompProfileName;
  readonly format: string;
  readonly ext: string;
  readonly args: readonly string[];
}

/**
 * Every target of every operation in the bundled policies whose seccomp profile is an
 * allow-list (the deny-list cannot refuse what a transcoder needs; the allow-list can).
 */
function strictPolicyTargets(): PolicyTarget[] {
  const dir = new URL('../../policies/', import.meta.url);
  if (!existsSync(dir)) return [];
  const out: PolicyTarget[] = [];
  const seen = new Set<string>();
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort()) {
    const doc = parseYaml(readFileSync(new URL(file, dir), 'utf8')) as {
      sandbox?: { seccomp?: unknown };
      operations?: { list?: Record<string, { targets?: Record<string, { format?: unknown; args?: unknown }> }> };
    } | null;
    if (doc?.sandbox?.seccomp !== 'strict') continue;
    for (const [op, def] of Object.entries(doc.operations?.list ?? {})) {
      for (const [ext, t] of Object.entries(def.targets ?? {})) {
        if (typeof t.format !== 'string' || !Array.isArray(t.args) || !t.args.every((a) => typeof a === 'string')) continue;
        const args = t.args as string[];
        const key = JSON.stringify([t.format, args]);
        if (seen.has(key)) continue;
        seen.add(key);
        out.push({ label: `${file} ${op} → ${ext}`, profile: 'strict', format: t.format, ext, args });
      }
    }
  }
  return out;
}

const UDP_OUT = [FFMPEG, '-hide_banner', '-nostdin', '-loglevel', 'error', '-f', 'lavfi', '-i', 'sine=d=0.1', '-f', 'mpegts', 'udp://127.0.0.1:9'];

describe.skipIf(!available)('seccomp under real bwrap', () => {
  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'zt-seccomp-e2e-'));
    jobDir = join(workDir, 'job');
    await mkdir(jobDir, { mode: 0o700 });
    const encoders = await exec(FFMPEG, ['-hide_banner', '-encoders'], { timeoutMs: 10_000 });
    hasX265 = /\blibx265\b/.test(encoders.stdout);
    // One second of test pattern and tone, uncompressed, in the job dir.
    ok(
      await exec(
        FFMPEG,
        ['-hide_banner', '-nostdin', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=s=320x240:d=1', '-f', 'lavfi',
          '-i', 'sine=d=1', '-c:v', 'rawvideo', '-c:a', 'pcm_s16le', '-shortest', join(jobDir, 'in.mkv')],
        { timeoutMs: 20_000 },
      ),
    );
  });

  afterAll(async () => {
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  it('control: without a filter the same probes succeed', async () => {
    expect((await sandboxed('none', ['/usr/bin/cat', '/proc/self/status'])).stdout).toMatch(/^Seccomp:\t0$/m);
    if (existsSync(PYTHON)) {
      expect((await sandboxed('none', [PYTHON, '-c', PY_SOCKETS])).stdout).toMatch(/AF_INET ok/);
    }
    if (existsSync(UNSHARE)) ok(await sandboxed('none', [UNSHARE, '-U', 'true']));
    ok(await sandboxed('none', UDP_OUT));
  });

  describe.each(['default', 'strict'] as const)('%s profile', (profile) => {
    it('is installed: the sandboxed process runs in seccomp filter mode', async () => {
      const r = ok(await sandboxed(profile, ['/usr/bin/cat', '/proc/self/status']));
      expect(r.stdout).toMatch(/^Seccomp:\t2$/m);
      expect(r.stdout).toMatch(/^NoNewPrivs:\t1$/m);
    });

    it('refuses network sockets: ffmpeg reports EPERM for udp and tcp', async () => {
      const udp = await sandboxed(profile, UDP_OUT);
      expect(udp.exitCode).not.toBe(0);
      expect(udp.stderr).toMatch(/socket: Operation not permitted/);
      const tcp = await sandboxed(profile, [FFMPEG, '-hide_banner', '-nostdin', '-i', 'tcp://127.0.0.1:9', '-f', 'null', '-']);
      expect(tcp.exitCode).not.toBe(0);
      expect(tcp.stderr).toMatch(/Operation not permitted/);
    });

    it.skipIf(!existsSync(UNSHARE))('refuses creating namespaces (unshare -U, unshare -n)', async () => {
      for (const flag of ['-U', '-n']) {
        const r = await sandboxed(profile, [UNSHARE, flag, 'true']);
        expect(r.exitCode).not.toBe(0);
        expect(r.stderr).toMatch(/unshare failed: Operation not permitted/);
      }
    });

    // Written through the inherited output descriptor, so the muxer is named (-f), as the job names it.
    const encodes: ReadonlyArray<readonly [string, readonly string[], readonly string[]]> = [
      ['out.mp4', ['-c:v', 'libx264', '-preset', 'ultrafast', '-c:a', 'aac', '-f', 'mp4'], ['h264', 'aac']],
      ['out.webm', ['-c:v', 'libvpx-vp9', '-deadline', 'realtime', '-cpu-used', '8', '-c:a', 'libopus', '-f', 'webm'], ['vp9', 'opus']],
      ['out.wav', ['-vn', '-c:a', 'pcm_s16le', '-f', 'wav'], ['pcm_s16le']],
      ['out.mp3', ['-vn', '-c:a', 'libmp3lame', '-f', 'mp3'], ['mp3']],
      ['out.flac', ['-vn', '-c:a', 'flac', '-f', 'flac'], ['flac']],
      ['out.ogg', ['-vn', '-c:a', 'libvorbis', '-f', 'ogg'], ['vorbis']],
      ['out.png', ['-an', '-frames:v', '1', '-c:v', 'png', '-update', '1', '-f', 'image2'], ['png']],
      ['out.jpg', ['-an', '-frames:v', '1', '-c:v', 'mjpeg', '-update', '1', '-f', 'image2'], ['mjpeg']],
      ['out.mkv', ['-c:v', 'libx265', '-preset', 'ultrafast', '-c:a', 'aac', '-f', 'matroska'], ['hevc', 'aac']],
    ];

    it.each(encodes)('encodes %s, then probes and decodes it, all inside the sandbox', async (out, codecArgs, codecs) => {
      if (out === 'out.mkv' && !hasX265) return;
      const file = join(jobDir, `${profile}-${out}`);
      ok(await sandboxed(profile, [FFMPEG, '-hide_banner', '-nostdin', '-loglevel', 'error', '-threads', '2', '-i', '/in/input.mkv', ...codecArgs, '-y', SANDBOX_OUTPUT_PATH], { input: inMkv(), output: file }));
      const seen = { path: file, name: `output.${out.split('.')[1]}` };
      const [probe, decode] = await Promise.all([
        sandboxed(profile, [FFPROBE, '-v', 'error', '-protocol_whitelist', 'file', '-show_streams', '-of', 'json', `/in/${seen.name}`], { input: seen }),
        sandboxed(profile, [FFMPEG, '-hide_banner', '-nostdin', '-loglevel', 'error', '-threads', '2', '-i', `/in/${seen.name}`, '-f', 'null', '-'], { input: seen }),
      ]);
      ok(decode);
      const parsed = JSON.parse(ok(probe).stdout) as { streams?: Array<{ codec_name?: string }> };
      expect((parsed.streams ?? []).map((s) => s.codec_name)).toEqual(codecs);
    });
  });

  it('strict: libx265 with its NUMA-aware thread pool (/sys/devices/system visible) still encodes', async () => {
    if (!hasX265 || !existsSync('/sys/devices/system/cpu') || availableParallelism() < 2) return;
    // The production sandbox binds /sys/devices/system read-only for exactly this.
    const r = ok(
      await sandboxed('strict', [FFMPEG, '-hide_banner', '-nostdin', '-threads', '2', '-i', '/in/input.mkv', '-an', '-c:v', 'libx265', '-preset', 'ultrafast', '-f', 'matroska', '-y', SANDBOX_OUTPUT_PATH], { input: inMkv(), output: join(jobDir, 'pool.mkv') }),
    );
    expect(r.stderr).toMatch(/Thread pool created/);
  });

  const policyTargets = strictPolicyTargets();
  it.skipIf(policyTargets.length === 0).each(policyTargets)('policy operation $label runs under $profile', async (t) => {
    ok(
      await sandboxed(
        t.profile,
        [FFMPEG, '-hide_banner', '-nostdin', '-loglevel', 'error', '-protocol_whitelist', 'file', '-threads', '2',
          '-f', 'matroska', '-i', '/in/input.mkv', ...t.args, '-f', t.format, '-y', SANDBOX_OUTPUT_PATH],
        { input: inMkv(), output: join(jobDir, `policy-${t.label.replace(/[^a-z0-9]+/gi, '_')}.${t.ext}`) },
      ),
    );
  });

  it.skipIf(!existsSync(PYTHON))('default: the death signal bwrap armed cannot be disarmed (prctl PR_SET_PDEATHSIG is EPERM), and stays SIGKILL', async () => {
    const py = [
      'import ctypes',
      'libc = ctypes.CDLL(None, use_errno=True)',
      'print("set", libc.prctl(1, 0, 0, 0, 0), ctypes.get_errno())',
      'sig = ctypes.c_int(-1)',
      'print("get", libc.prctl(2, ctypes.byref(sig), 0, 0, 0), sig.value)',
    ].join('\n');
    const r = ok(await sandboxed('default', [PYTHON, '-c', py]));
    expect(r.stdout).toContain('set -1 1');
    expect(r.stdout).toContain('get 0 9');
  });

  it.skipIf(!existsSync(PYTHON))('default: python sees EPERM for AF_INET and AF_INET6, AF_UNIX works', async () => {
    const r = ok(await sandboxed('default', [PYTHON, '-c', PY_SOCKETS]));
    expect(r.stdout).toContain('AF_INET errno 1');
    expect(r.stdout).toContain('AF_INET6 errno 1');
    expect(r.stdout).toContain('AF_UNIX ok');
  });
});

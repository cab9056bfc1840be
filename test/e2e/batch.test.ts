/**
 * `zt-ffmpeg batch` end to end: a batch of benign and hostile inputs gives the right verdict
 * per file, the right summary and exit code, one audit trail per job and an intact chain.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdir, writeFile, symlink, readdir, readFile, copyFile } from 'node:fs/promises';
import path from 'node:path';
import { makeSandbox, BIN, type Sandbox, type CliResult } from '../helpers/cli.js';
import { makeSample, ffmpeg } from '../helpers/media.js';

let sb: Sandbox;
let inDir: string;
const files: Record<string, string> = {};

/** Run the CLI with bytes on stdin (for --from -). */
function runWithStdin(args: readonly string[], env: Record<string, string>, input: string, timeoutMs = 90_000): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, signal, stdout, stderr, json: <T>() => JSON.parse(stdout) as T });
    });
    child.stdin.end(input);
  });
}

const lines = (r: CliResult): Array<Record<string, unknown>> =>
  r.stdout
    .trim()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

beforeAll(async () => {
  sb = await makeSandbox('zt-batch-');
  inDir = path.join(sb.dir, 'in');
  await mkdir(path.join(inDir, 'sub'), { recursive: true });
  files.good = await makeSample(inDir, 'h264-aac.mp4');
  files.twin = path.join(inDir, 'sub', 'h264-aac.mp4');
  await copyFile(files.good, files.twin);
  files.text = path.join(inDir, 'notes.mp4');
  await writeFile(files.text, 'this is not media\n');
  files.playlist = path.join(inDir, 'playlist.mp4');
  await writeFile(files.playlist, '#EXTM3U\n#EXTINF:1,\nfile:///etc/passwd\n');
  files.wide = path.join(inDir, 'wide.mp4');
  await ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=7800x64:rate=5:duration=0.4', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', files.wide]);
  files.link = path.join(inDir, 'link.mp4');
  await symlink(files.good, files.link);
  files.empty = path.join(inDir, 'empty.mp4');
  await writeFile(files.empty, '');
});

afterAll(async () => {
  await sb?.cleanup();
});

describe('batch of mixed inputs', () => {
  it('gives each file its verdict, the summary, the most severe exit code and an intact audit chain', async () => {
    const out = path.join(sb.dir, 'out');
    const order = [files.good!, files.text!, files.twin!, files.wide!, files.link!, files.empty!, files.playlist!];
    const r = await sb.run(['--json', 'batch', ...order, '--out-dir', out, '--concurrency', '2']);
    expect(r.code, r.stderr).toBe(3);
    const ls = lines(r);
    const summary = ls.at(-1)!;
    const jobs = ls.slice(0, -1);
    expect(jobs).toHaveLength(order.length);
    const byInput = new Map(jobs.map((j) => [j['input'], j]));
    const expectJob = (input: string, verdict: string, rules: string[]): void => {
      const j = byInput.get(input)!;
      expect(j, input).toBeDefined();
      expect(j['verdict'], input).toBe(verdict);
      expect(j['rules'], input).toEqual(rules);
      expect(j['exitCode'], input).toBe(verdict === 'ok' ? 0 : 3);
    };
    expectJob(files.good!, 'ok', []);
    expectJob(files.twin!, 'ok', []);
    expectJob(files.text!, 'refused', ['input.magic']);
    expectJob(files.playlist!, 'refused', ['input.magic']);
    expectJob(files.wide!, 'refused', ['input.maxWidth']);
    expectJob(files.link!, 'refused', ['input.regular-file']);
    expectJob(files.empty!, 'refused', ['input.empty']);
    // Outputs named from the inputs, the clash resolved with -1, nothing for the refused ones.
    expect(byInput.get(files.good!)?.['output']).toBe(path.join(out, 'h264-aac.mp4'));
    expect(byInput.get(files.twin!)?.['output']).toBe(path.join(out, 'h264-aac-1.mp4'));
    expect((await readdir(out)).sort()).toEqual(['h264-aac-1.mp4', 'h264-aac.mp4']);
    expect(summary).toMatchObject({
      command: 'batch',
      type: 'summary',
      verdict: 'refused',
      exitCode: 3,
      total: 7,
      ok: 2,
      refused: 5,
      failed: 0,
      skipped: 0,
      byRule: { 'input.magic': 2, 'input.maxWidth': 1, 'input.regular-file': 1, 'input.empty': 1 },
      operation: 'transcode',
      ext: 'mp4',
    });
    // One job id per job; each allowed job has a decision and a result record, each refusal one.
    const results = jobs.map((j) => j['result'] as { jobId: string; audit: { seqs: number[] } });
    expect(new Set(results.map((x) => x.jobId)).size).toBe(7);
    for (const j of jobs) {
      const seqs = (j['result'] as { audit: { seqs: number[] } }).audit.seqs;
      expect(seqs, String(j['input'])).toHaveLength(j['verdict'] === 'ok' ? 2 : 1);
    }
    const allSeqs = results.flatMap((x) => x.audit.seqs).sort((a, b) => a - b);
    expect(allSeqs).toEqual([...Array(9).keys()]);
    const records = (await readFile(sb.auditLog, 'utf8')).trim().split('\n');
    expect(records).toHaveLength(9);
    const v = await sb.run(['--json', 'audit', 'verify', sb.auditLog, '--key', sb.auditPub]);
    expect(v.code, v.stdout + v.stderr).toBe(0);
    expect(v.json()).toMatchObject({ ok: true, logs: [{ records: 9, ok: true, unfinishedJobs: [] }] });
  });

  it('human output: a line per job and a summary table by rule', async () => {
    const r = await sb.run(['batch', files.good!, files.text!, files.wide!, '--out-dir', path.join(sb.dir, 'out-human'), '--concurrency', '1']);
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/\[1\/3\] ✓ ok/);
    expect(r.stderr).toMatch(/✗ refused .*notes\.mp4/);
    expect(r.stderr).toMatch(/ok\s+1\n/);
    expect(r.stderr).toMatch(/refused\s+2\n/);
    expect(r.stderr).toMatch(/refused or failed, by rule:\n\s+1\s+input\.magic\n\s+1\s+input\.maxWidth|refused or failed, by rule:\n\s+1\s+input\.maxWidth\n\s+1\s+input\.magic/);
    expect(r.stderr).toMatch(/exit 3/);
  });

  it('reads NUL-separated paths from stdin (find -print0) and annotates refusals for GitHub on stdout', async () => {
    const list = [files.good!, files.text!].join('\0') + '\0';
    const r = await runWithStdin(['batch', '--from', '-', '-0', '--out-dir', path.join(sb.dir, 'out-gh'), '--format', 'github', '--operation', 'thumbnail'], sb.env, list);
    expect(r.code, r.stderr).toBe(3);
    const ann = r.stdout.trim().split('\n');
    expect(ann).toHaveLength(1);
    expect(ann[0]).toMatch(/^::error file=[^,]*notes\.mp4,title=zt-ffmpeg refused \(input\.magic\)::input refused by policy/);
    expect(ann[0]).not.toMatch(/\n/);
    expect(await readdir(path.join(sb.dir, 'out-gh'))).toEqual(['h264-aac.jpg']);
  });

  it('reads newline-separated paths from a file, and --shard keeps every n-th input', async () => {
    const listFile = path.join(sb.dir, 'list.txt');
    await writeFile(listFile, [files.text, files.good, files.wide, files.empty].join('\n') + '\n');
    const r = await sb.run(['--json', 'batch', '--from', listFile, '--shard', '1/2', '--out-dir', path.join(sb.dir, 'out-shard'), '--operation', 'thumbnail', '--ext', 'png']);
    const ls = lines(r);
    expect(ls.slice(0, -1).sort((a, b) => Number(a['index']) - Number(b['index'])).map((j) => [j['input'], j['verdict']])).toEqual([
      [files.good, 'ok'],
      [files.empty, 'refused'],
    ]);
    expect(r.code).toBe(3);
    expect(await readdir(path.join(sb.dir, 'out-shard'))).toEqual(['h264-aac.png']);
  });

  it('--fail-fast starts no job after the first refusal', async () => {
    const out = path.join(sb.dir, 'out-ff');
    const r = await sb.run(['--json', 'batch', files.text!, files.good!, files.twin!, '--out-dir', out, '--concurrency', '1', '--fail-fast']);
    expect(r.code).toBe(3);
    const ls = lines(r);
    expect(ls.slice(0, -1).map((j) => j['verdict']).sort()).toEqual(['refused', 'skipped', 'skipped']);
    expect(ls.at(-1)).toMatchObject({ type: 'summary', skipped: 2, refused: 1, ok: 0, exitCode: 3 });
    expect(await readdir(out)).toEqual([]);
  });

  it('exits 0 when every job succeeds, and refuses to overwrite unless asked', async () => {
    const out = path.join(sb.dir, 'out-ok');
    const first = await sb.run(['batch', files.good!, '--out-dir', out, '--operation', 'thumbnail']);
    expect(first.code, first.stderr).toBe(0);
    const again = await sb.run(['--json', 'batch', files.good!, '--out-dir', out, '--operation', 'thumbnail']);
    // An existing destination is a usage error of that job (exit 2), never silently replaced.
    expect(again.code).toBe(2);
    expect(lines(again)[0]).toMatchObject({ verdict: 'refused', reason: 'usage', exitCode: 2 });
    const over = await sb.run(['batch', files.good!, '--out-dir', out, '--operation', 'thumbnail', '--overwrite']);
    expect(over.code, over.stderr).toBe(0);
  });

  it('usage errors: no inputs, a bad --concurrency, an extension the operation cannot make, --json with --format github', async () => {
    const out = path.join(sb.dir, 'out-usage');
    expect((await sb.run(['batch', '--out-dir', out])).code).toBe(2);
    expect((await sb.run(['batch', files.good!, '--out-dir', out, '--concurrency', '0'])).code).toBe(2);
    const ext = await sb.run(['--json', 'batch', files.good!, '--out-dir', out, '--operation', 'thumbnail', '--ext', 'mp4']);
    expect(ext.code).toBe(2);
    expect(ext.json()).toMatchObject({ command: 'batch', reason: 'usage' });
    expect((await sb.run(['--json', 'batch', files.good!, '--out-dir', out, '--format', 'github'])).code).toBe(2);
    expect((await sb.run(['batch', files.good!, '--out-dir', out, '-0'])).code).toBe(2);
  });
});

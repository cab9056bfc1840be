/**
 * The argument firewall seen through the CLI: one case per class of dangerous passthrough
 * argument in the design brief (file-reading filters, lavfi sources, extra inputs, URLs and a
 * second output, report/dump/attach, off-list encoders and muxers), and raw arguments under a
 * policy that allows only operations. Each is refused with exit 3 and the rule named, recorded
 * as a refusal in the audit log, and nothing runs: no decision record, no output, no job dir.
 * (The firewall's unit tests cover the rules in depth; these prove the wiring.)
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFile, readdir, writeFile, mkdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { makeSandbox, ROOT, type Sandbox } from '../helpers/cli.js';
import { makeSample } from '../helpers/media.js';

let sb: Sandbox;
let input = '';
let opsOnly = '';

beforeAll(async () => {
  sb = await makeSandbox('zt-fwcli-');
  input = await makeSample(sb.dir, 'h264-aac.mp4');
  const text = await readFile(path.join(ROOT, 'policies', 'advanced.yaml'), 'utf8');
  expect(text).toMatch(/^ {2}allowRawArgs: true$/m);
  opsOnly = path.join(sb.dir, 'operations-only.yaml');
  await writeFile(opsOnly, text.replace(/^ {2}allowRawArgs: true$/m, '  allowRawArgs: false'));
});
afterAll(async () => sb.cleanup());

interface Event {
  type: string;
  jobId?: string;
  violations?: Array<{ rule: string }>;
}

async function eventsOf(jobId: string): Promise<Event[]> {
  const text = existsSync(sb.auditLog) ? await readFile(sb.auditLog, 'utf8') : '';
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => (JSON.parse(l) as { payload: { event: Event } }).payload.event)
    .filter((e) => e.jobId === jobId);
}

const CASES: ReadonlyArray<readonly [string, readonly string[], string]> = [
  ['movie filter reading a host file', ['-vf', 'movie=/etc/passwd'], 'firewall.filter-file'],
  ['amovie filter', ['-af', 'amovie=/etc/passwd'], 'firewall.filter-file'],
  ['subtitles filter with a file', ['-vf', 'subtitles=/etc/passwd'], 'firewall.filter-file'],
  ['drawtext textfile', ['-vf', 'drawtext=textfile=/etc/passwd'], 'firewall.filter-file'],
  ['sendcmd', ['-vf', 'sendcmd=f=/tmp/cmds'], 'firewall.filter'],
  ['zmq', ['-vf', 'zmq'], 'firewall.filter'],
  ['a lavfi source inside the graph', ['-vf', 'testsrc2'], 'firewall.filter'],
  ['an extra input', ['-i', '/etc/passwd'], 'firewall.extra-input'],
  ['a map of a second input', ['-map', '1:v'], 'firewall.extra-input'],
  ['a network output', ['-f', 'mp4', 'http://evil.example/x.mp4'], 'firewall.url'],
  ['a second output file', ['-c:v', 'libx264', '/job/second.mp4'], 'firewall.second-output'],
  ['-report', ['-report'], 'firewall.file-option'],
  ['-dump_attachment', ['-dump_attachment:t', 'out.ttf'], 'firewall.file-option'],
  ['-attach', ['-attach', '/etc/passwd'], 'firewall.file-option'],
  ['a hardware encoder', ['-c:v', 'h264_vaapi'], 'firewall.encoder'],
  ['a playlist muxer', ['-f', 'hls'], 'firewall.muxer'],
];

describe('the argument firewall through the CLI', () => {
  it.each(CASES)('%s: refused, exit 3 with reason args-refused, audited, nothing run', async (name, args, rule) => {
    const outDir = path.join(sb.dir, name.replace(/\W+/g, '-'));
    await mkdir(outDir);
    const out = path.join(outDir, 'out.mp4');
    const r = await sb.run(['--json', 'run', '-i', input, '-o', out, '--', ...args]);
    expect(r.code, r.stderr).toBe(3);
    const j = r.json<{ verdict: string; reason: string; jobId: string; violations: Array<{ rule: string; message: string }> }>();
    expect(j.verdict).toBe('refused');
    // Exit 3 like every refusal by policy; the reason tells bad arguments from bad files.
    expect(j.reason).toBe('args-refused');
    expect(j.violations.map((v) => v.rule)).toContain(rule);
    expect(existsSync(out)).toBe(false);
    expect(await readdir(outDir)).toEqual([]);
    const events = await eventsOf(j.jobId);
    expect(events.map((e) => e.type)).toEqual(['refusal']);
    expect(events[0]?.violations?.map((v) => v.rule)).toContain(rule);
  });

  it('raw arguments under a policy that allows only operations: refused (as at optimal)', async () => {
    const out = path.join(sb.dir, 'ops-only.mp4');
    const r = await sb.run(['--json', 'run', '-p', opsOnly, '-i', input, '-o', out, '--', '-c:v', 'libx264', '-crf', '28']);
    expect(r.code, r.stderr).toBe(3);
    const j = r.json<{ jobId: string; reason: string; violations: Array<{ rule: string }> }>();
    expect(j.reason).toBe('args-refused');
    expect(j.violations.map((v) => v.rule)).toEqual(['operations.allowRawArgs']);
    expect(existsSync(out)).toBe(false);
    expect((await eventsOf(j.jobId)).map((e) => e.type)).toEqual(['refusal']);
  });

  it('benign raw arguments pass the firewall and run', async () => {
    const out = path.join(sb.dir, 'benign.mp4');
    const r = await sb.run(['--json', 'run', '-i', input, '-o', out, '--', '-c:v', 'libx264', '-preset', 'ultrafast', '-crf', '30', '-vf', 'scale=160:-2', '-c:a', 'aac']);
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(out)).toBe(true);
  });
});

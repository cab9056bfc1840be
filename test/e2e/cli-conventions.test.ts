/**
 * CLI conventions a script relies on: closed pipes end quietly with the command's own status;
 * stdin/stdout as files are refused by name; firewall refusals are told apart from bad files by
 * `reason`; doctor fails when the declared stage is not met; human --dry-run prints command
 * lines; enumerated flag values are checked at parse time; reports on stdout, diagnostics on
 * stderr; `operations`; `batch --skip-existing`; raw args with --operation refused.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';
import { makeSandbox, BIN, type Sandbox } from '../helpers/cli.js';
import { makeSample } from '../helpers/media.js';

let sb: Sandbox;
let input: string;

beforeAll(async () => {
  sb = await makeSandbox('zt-conventions-');
  input = await makeSample(sb.dir, 'h264-aac.mp4');
});
afterAll(async () => sb?.cleanup());

/** A shell pipeline under `bash -o pipefail`, as GitHub's default shell runs it. */
function pipeline(script: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('/bin/bash', ['-eo', 'pipefail', '-c', script], { env: { ...sb.env, Z: `${process.execPath} ${BIN}` }, timeout: 60_000, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      const e = err as { code?: number | string } | null;
      resolve({ code: e ? (typeof e.code === 'number' ? e.code : -1) : 0, stdout, stderr });
    });
  });
}

describe('CLI conventions', () => {
  it('a closed pipe or a closed stdout ends quietly with the command\'s own status', async () => {
    for (const script of ['$Z --help | head -1', '$Z doctor -p initial | grep -q initial', '$Z policy show advanced | head -1', '$Z --help >&-', '$Z completion bash | head -c 10 >/dev/null']) {
      const r = await pipeline(script);
      expect(r.code, `${script}\n${r.stderr}`).toBe(0);
      expect(r.stderr, script).not.toMatch(/EPIPE|Error:|at /);
    }
  });

  it('-i - and -o - are refused by name (exit 2)', async () => {
    const i = await sb.run(['run', '-i', '-', '-o', path.join(sb.dir, 'x.mp4')]);
    expect(i.code).toBe(2);
    expect(i.stderr).toContain('reading the input from stdin (-i -) is not supported');
    const o = await sb.run(['run', '-i', input, '-o', '-']);
    expect(o.code).toBe(2);
    expect(o.stderr).toContain('writing the output to stdout (-o -) is not supported');
    expect((await sb.run(['check', '-'])).stderr).toContain('(-i -) is not supported');
  });

  it('doctor exits non-zero when the declared stage is not met here, 0 when it is', async () => {
    expect((await sb.run(['doctor', '-p', 'initial'])).code).toBe(0);
    const r = await sb.run(['--json', 'doctor', '-p', 'optimal']);
    expect(r.code).not.toBe(0);
    expect(r.json()).toMatchObject({ declaredStageMet: false });
  });

  it('human --dry-run prints the command lines on stdout, not JSON', async () => {
    const r = await sb.run(['run', '-i', input, '-o', path.join(sb.dir, 'dry.mp4'), '--dry-run']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^prlimit \(resource limits\):\n {2}\/usr\/bin\/prlimit /);
    expect(r.stdout).toContain('ffmpeg (inside the sandbox):');
    expect(r.stdout.trim().startsWith('{')).toBe(false);
    expect(r.stdout.split('\n').length).toBeLessThan(60);
  });

  it('enumerated and shaped flag values are checked when parsed, with "did you mean"', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['audit', 'show', '--verdict', 'refuse'], /expected one of ok, refused, failed; did you mean "refused"\?/],
      [['audit', 'show', '--verdict', 'denied'], /expected one of ok, refused, failed/],
      [['token', 'mint', '--key', 'k', '--issuer', 'i', '--subject', 's', '--ttl', 'abc'], /--ttl.*expected a whole number/],
      [['batch', input, '--out-dir', sb.dir, '--format', 'githb'], /did you mean "github"/],
      [['completion', 'fish'], /expected one of bash, zsh/],
      [['policy', 'init', '--stage', 'advnced'], /did you mean "advanced"/],
      [['audit', 'show', '--since', 'yesterday'], /ISO 8601/],
    ];
    for (const [args, msg] of cases) {
      const r = await sb.run(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(msg);
    }
  });

  it('reports go to stdout, diagnostics to stderr, as the README says', async () => {
    const report = await sb.run(['policy', 'explain', 'advanced']);
    expect(report.stdout).toContain('advanced.yaml');
    const job = await sb.run(['run', '-i', input, '-o', path.join(sb.dir, 'streams.mp4')]);
    expect(job.code, job.stderr).toBe(0);
    expect(job.stdout).toBe('');
    expect(job.stderr).toContain('✓ done');
    const val = await sb.run(['policy', 'validate', 'advanced']);
    expect(val.stdout).toBe('');
    expect(val.stderr).toContain('✓ valid');
  });

  it('operations lists every operation with its description and targets', async () => {
    const r = await sb.run(['operations']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^thumbnail +One still frame/m);
    expect(r.stdout).toMatch(/writes: \.jpg \.png/);
  });

  it('raw arguments with --operation are refused (they would replace its template)', async () => {
    const r = await sb.run(['--json', 'run', '-i', input, '-o', path.join(sb.dir, 't.jpg'), '--operation', 'thumbnail', '--', '-ss', '1']);
    expect(r.code).toBe(2);
    expect(r.json<{ message: string }>().message).toContain('cannot be combined with --operation thumbnail');
  });

  it('batch --skip-existing: a retry skips finished outputs and succeeds', async () => {
    const out = path.join(sb.dir, 'retry');
    await mkdir(out);
    const first = await sb.run(['batch', input, '--out-dir', out]);
    expect(first.code, first.stderr).toBe(0);
    const again = await sb.run(['batch', input, '--out-dir', out]);
    expect(again.code).toBe(2);
    const retry = await sb.run(['--json', 'batch', input, '--out-dir', out, '--skip-existing']);
    expect(retry.code, retry.stderr).toBe(0);
    const lines = retry.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines[0]).toMatchObject({ type: 'job', verdict: 'skipped', skipped: 'exists', exitCode: 0 });
    expect(lines[1]).toMatchObject({ type: 'summary', skipped: 1, exitCode: 0 });
    expect(await readdir(out)).toEqual(['h264-aac.mp4']);
  });
});

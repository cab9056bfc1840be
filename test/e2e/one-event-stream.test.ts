/**
 * One event stream: the `--json` outcome and the audit result record of a job are built from the
 * same folded events (src/job/records.ts), so every field they share is equal — for a job that
 * succeeds, one the policy refuses and one whose ffmpeg fails. And the request resolver is the
 * same for every command: `batch` honours `--policy-keyring` given as a flag.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSandbox, type Sandbox } from '../helpers/cli.js';
import { ffmpeg, makeSample } from '../helpers/media.js';

let sb: Sandbox;
let good: string;

beforeAll(async () => {
  sb = await makeSandbox('zt-events-');
  good = await makeSample(sb.dir, 'h264-aac.mp4');
});
afterAll(async () => sb.cleanup());

interface Outcome {
  jobId: string;
  verdict: string;
  exitCode: number;
  audit: { seqs: number[] };
  [k: string]: unknown;
}

/** The record of the log with this seq. */
async function recordAt(seq: number): Promise<Record<string, unknown>> {
  const lines = (await readFile(sb.auditLog, 'utf8')).trim().split('\n');
  const env = JSON.parse(lines[seq]!) as { payload: { seq: number; event: Record<string, unknown> } };
  expect(env.payload.seq).toBe(seq);
  return env.payload.event;
}

/** The fields the outcome and the result record share; they must be equal. */
const SHARED = ['jobId', 'command', 'policy', 'principal', 'operation', 'input', 'verdict', 'exitCode', 'reason', 'message', 'hint', 'violations', 'warnings', 'run', 'output', 'degraded', 'timings'] as const;

async function expectSameFacts(o: Outcome, type: 'result' | 'refusal'): Promise<void> {
  const last = o.audit.seqs.at(-1);
  expect(last, 'the job wrote its records').toBeTypeOf('number');
  const rec = await recordAt(last!);
  expect(rec['type']).toBe(type);
  for (const k of SHARED) expect(rec[k], `field ${k}`).toEqual(o[k]);
  // The record also carries what the outcome leaves out: who wrote it, and where.
  expect(rec['tool']).toMatchObject({ name: 'zt-ffmpeg' });
  expect(rec['host']).toBeTypeOf('string');
}

describe('the --json outcome and the audit result record', () => {
  it('agree for a job that succeeds', async () => {
    const r = await sb.run(['--json', 'run', '-i', good, '-o', path.join(sb.dir, 'ok.mp4')]);
    expect(r.code, r.stderr).toBe(0);
    const o = r.json<Outcome>();
    expect(o.audit.seqs).toHaveLength(2);
    expect(o['policy']).toMatchObject({ stage: 'advanced', mode: 'enforce' });
    await expectSameFacts(o, 'result');
    expect((await recordAt(o.audit.seqs[0]!))['type']).toBe('decision');
  });

  it('agree for a job the policy refuses (before any decision)', async () => {
    const wide = path.join(sb.dir, 'wide.mp4');
    await ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=64x64:rate=5:duration=1', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-metadata', `comment=${'x'.repeat(70_000)}`, wide]);
    const r = await sb.run(['--json', 'run', '-i', wide, '-o', path.join(sb.dir, 'wide-out.mp4')]);
    expect(r.code, r.stderr).toBe(3);
    const o = r.json<Outcome>();
    expect(o.verdict).toBe('refused');
    expect(o.audit.seqs).toHaveLength(1);
    await expectSameFacts(o, 'refusal');
  });

  it('agree for a job whose ffmpeg fails after the decision', async () => {
    // Raw arguments the firewall accepts but the encoder cannot satisfy: baseline profile with 4:4:4.
    const r = await sb.run(['--json', 'run', '-p', 'initial', '-i', good, '-o', path.join(sb.dir, 'bad.mp4'), '--', '-c:v', 'libx264', '-profile:v', 'baseline', '-pix_fmt', 'yuv444p']);
    expect(r.code, r.stderr).toBe(6);
    const o = r.json<Outcome>();
    expect(o.verdict).toBe('failed');
    expect(o.audit.seqs).toHaveLength(2);
    await expectSameFacts(o, 'result');
  });
});

describe('one request resolver', () => {
  it('batch honours --policy-keyring given as a flag: an unsigned policy is refused with exit 9', async () => {
    const keyring = path.join(sb.dir, 'keyring');
    await mkdir(keyring, { recursive: true });
    const k = await sb.run(['keygen', '--out', path.join(sb.dir, 'signer')]);
    expect(k.code, k.stderr).toBe(0);
    await writeFile(path.join(keyring, 'signer.pub'), await readFile(path.join(sb.dir, 'signer', 'audit.pub')));
    const policy = path.join(sb.dir, 'unsigned.yaml');
    await writeFile(policy, 'extends: advanced\n');
    const out = path.join(sb.dir, 'batch-out');
    const r = await sb.run(['--json', '--policy-keyring', keyring, 'batch', good, '--out-dir', out, '-p', policy]);
    expect(r.code, r.stderr).toBe(9);
    expect(r.stdout + r.stderr).toMatch(/signature/i);
    // The same policy, signed by the trusted key, runs.
    const s = await sb.run(['policy', 'sign', policy, '--key', path.join(sb.dir, 'signer', 'audit.key')]);
    expect(s.code, s.stderr).toBe(0);
    const ok = await sb.run(['--policy-keyring', keyring, 'batch', good, '--out-dir', out, '-p', policy]);
    expect(ok.code, ok.stderr).toBe(0);
  });
});

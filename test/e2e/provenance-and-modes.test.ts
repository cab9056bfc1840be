/**
 * In-toto provenance next to the output (where the policy asks for it), and the warn / audit
 * modes: they run what enforce would refuse, and record every rule that would have refused it.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { createHash, createPublicKey, verify } from 'node:crypto';
import path from 'node:path';
import { makeSandbox, ROOT, type Sandbox } from '../helpers/cli.js';
import { makeSample, ffmpeg } from '../helpers/media.js';

let sb: Sandbox;
let advanced: string;
beforeAll(async () => {
  sb = await makeSandbox('zt-modes-');
  advanced = await readFile(path.join(ROOT, 'policies', 'advanced.yaml'), 'utf8');
});
afterAll(async () => sb.cleanup());

describe('provenance', () => {
  it('writes a signed in-toto statement whose subject is the output digest', async () => {
    const policy = path.join(sb.dir, 'intoto.yaml');
    await writeFile(policy, advanced.replace('  intoto: false', '  intoto: true'));
    const input = await makeSample(sb.dir, 'tone.wav');
    const out = path.join(sb.dir, 'prov.flac');
    const r = await sb.run(['run', '-i', input, '-o', out, '-p', policy, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const env = JSON.parse(await readFile(`${out}.intoto.json`, 'utf8')) as { payloadType: string; payload: string; signatures: Array<{ keyid: string; sig: string }> };
    expect(env.payloadType).toBe('application/vnd.in-toto+json');
    const body = Buffer.from(env.payload, 'base64').toString('utf8');
    const statement = JSON.parse(body) as { subject: Array<{ digest: { sha256: string } }>; predicate: { input: { digest: { sha256: string } }; operation: string } };
    expect(statement.subject[0]!.digest.sha256).toBe(createHash('sha256').update(await readFile(out)).digest('hex'));
    expect(statement.predicate.input.digest.sha256).toBe(createHash('sha256').update(await readFile(input)).digest('hex'));
    expect(statement.predicate.operation).toBe('transcode');
    const pae = Buffer.from(`DSSEv1 ${Buffer.byteLength(env.payloadType)} ${env.payloadType} ${Buffer.byteLength(body)} ${body}`);
    const pub = createPublicKey(await readFile(sb.auditPub, 'utf8'));
    expect(verify(null, pae, pub, Buffer.from(env.signatures[0]!.sig, 'base64'))).toBe(true);
  });
});

describe('modes', () => {
  let wide: string;
  beforeAll(async () => {
    // 640x360 is over a max width of 320 in the trial policies below.
    wide = path.join(sb.dir, 'wide.mp4');
    await ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=25:duration=1', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', wide]);
  });

  it.each(['warn', 'audit'])('mode %s runs the job and records the rule that would have refused it', async (mode) => {
    const policy = path.join(sb.dir, `${mode}.yaml`);
    await writeFile(policy, advanced.replace('mode: enforce', `mode: ${mode}`).replace('  maxWidth: 7680', '  maxWidth: 320'));
    const out = path.join(sb.dir, `${mode}.mp4`);
    const r = await sb.run(['run', '-i', wide, '-o', out, '-p', policy, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = r.json<{ verdict: string; warnings: Array<{ rule: string; message: string }>; audit: { seqs: number[] } }>();
    expect(j.verdict).toBe('ok');
    expect(j.warnings.map((w) => w.rule)).toContain('input.maxWidth');
    expect(existsSync(out)).toBe(true);
    const lines = (await readFile(sb.auditLog, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { payload: { seq: number; event: { warnings?: Array<{ rule: string }> } } });
    const decision = lines.find((l) => l.payload.seq === j.audit.seqs[0]);
    expect(decision?.payload.event.warnings?.map((w) => w.rule)).toContain('input.maxWidth');
  });

  it('mode enforce refuses the same file (exit 3)', async () => {
    const policy = path.join(sb.dir, 'enforce.yaml');
    await writeFile(policy, advanced.replace('  maxWidth: 7680', '  maxWidth: 320'));
    const out = path.join(sb.dir, 'enforce.mp4');
    const r = await sb.run(['run', '-i', wide, '-o', out, '-p', policy, '--json']);
    expect(r.code).toBe(3);
    expect(r.json<{ violations: Array<{ rule: string; actual: number; limit: number }> }>().violations).toContainEqual(expect.objectContaining({ rule: 'input.maxWidth', actual: 640, limit: 320 }));
    expect(existsSync(out)).toBe(false);
  });
});

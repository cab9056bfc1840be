/**
 * The shipped output schema (schema/output.schema.json) against real `--json` outputs of every
 * command, driven through the built CLI.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFile, writeFile, copyFile } from 'node:fs/promises';
import path from 'node:path';
import Ajv, { type ValidateFunction } from 'ajv';
import { makeSandbox, ROOT, type Sandbox, type CliResult } from '../helpers/cli.js';
import { makeSample } from '../helpers/media.js';

let sb: Sandbox;
let validate: ValidateFunction;
let good: string;
let bad: string;

function check(doc: unknown, label: string): void {
  const ok = validate(doc);
  expect(ok, `${label}: ${JSON.stringify(validate.errors?.slice(0, 8), null, 2)}\n${JSON.stringify(doc).slice(0, 2000)}`).toBe(true);
  expect((doc as { schemaVersion?: unknown }).schemaVersion, label).toBe(1);
}

function one(r: CliResult, label: string): Record<string, unknown> {
  const doc = r.json<Record<string, unknown>>();
  check(doc, label);
  return doc;
}

beforeAll(async () => {
  const schema = JSON.parse(await readFile(path.join(ROOT, 'schema', 'output.schema.json'), 'utf8')) as Record<string, unknown>;
  validate = new Ajv({ allErrors: true, strict: true }).compile(schema);
  sb = await makeSandbox('zt-jsonschema-');
  good = await makeSample(sb.dir, 'h264-aac.mp4');
  bad = path.join(sb.dir, 'fake.mp4');
  await writeFile(bad, '#EXTM3U\nhttp://169.254.169.254/\n');
});

afterAll(async () => {
  await sb?.cleanup();
});

describe('the output schema', () => {
  it('is shipped with the package and compiles in ajv strict mode', async () => {
    const pkg = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as { files: string[] };
    expect(pkg.files).toContain('schema/');
    expect(validate).toBeTypeOf('function');
  });

  it('run: ok, refused, dry run', async () => {
    const ok = one(await sb.run(['--json', 'run', '-i', good, '-o', path.join(sb.dir, 'out.mp4')]), 'run ok');
    expect(ok['verdict']).toBe('ok');
    const refused = one(await sb.run(['--json', 'run', '-i', bad, '-o', path.join(sb.dir, 'out2.mp4')]), 'run refused');
    expect(refused['exitCode']).toBe(3);
    one(await sb.run(['--json', 'run', '-i', good, '-o', path.join(sb.dir, 'out3.mp4'), '--dry-run']), 'run dry-run');
  });

  it('check: a verdict per file', async () => {
    const r = one(await sb.run(['--json', 'check', good, bad]), 'check');
    expect((r['files'] as unknown[]).length).toBe(2);
  });

  it('batch: every JSON line, jobs and summary', async () => {
    const r = await sb.run(['--json', 'batch', good, bad, '--out-dir', path.join(sb.dir, 'batch'), '--operation', 'thumbnail']);
    const ls = r.stdout.trim().split('\n');
    expect(ls).toHaveLength(3);
    ls.forEach((l, i) => check(JSON.parse(l), `batch line ${i}`));
    // Skipped jobs too.
    const ff = await sb.run(['--json', 'batch', bad, good, '--out-dir', path.join(sb.dir, 'batch-ff'), '--fail-fast', '--concurrency', '1']);
    ff.stdout.trim().split('\n').forEach((l, i) => check(JSON.parse(l), `batch --fail-fast line ${i}`));
  });

  it('audit verify: intact and tampered', async () => {
    const ok = one(await sb.run(['--json', 'audit', 'verify', sb.auditLog, '--key', sb.auditPub]), 'audit verify ok');
    expect(ok['ok']).toBe(true);
    const copy = path.join(sb.dir, 'tampered.log');
    await copyFile(sb.auditLog, copy);
    const text = await readFile(copy, 'utf8');
    await writeFile(copy, text.replace('"verdict":"refused"', '"verdict":"ok"'));
    const r = await sb.run(['--json', 'audit', 'verify', copy, '--key', sb.auditPub]);
    expect(r.code).toBe(8);
    const doc = one(r, 'audit verify tampered');
    expect(doc['ok']).toBe(false);
  });

  it('doctor', async () => {
    const r = await sb.run(['--json', 'doctor']);
    const doc = one(r, 'doctor');
    expect(doc['command']).toBe('doctor');
  });

  it('policy explain, diff and validate', async () => {
    one(await sb.run(['--json', 'policy', 'explain', 'optimal']), 'policy explain');
    const d = one(await sb.run(['--json', 'policy', 'diff', 'initial', 'advanced']), 'policy diff');
    expect(d['overall']).toBe('stricter');
    const loose = await sb.run(['--json', 'policy', 'diff', 'optimal', 'advanced', '--fail-if-looser']);
    expect(loose.code).toBe(9);
    one(loose, 'policy diff --fail-if-looser');
    one(await sb.run(['--json', 'policy', 'validate', 'advanced']), 'policy validate');
  });

  it('errors: usage, invalid policy, unknown operation', async () => {
    const usage = await sb.run(['--json', 'run', '-i', good]);
    expect(usage.code).toBe(2);
    one(usage, 'usage error');
    const pol = path.join(sb.dir, 'broken.yaml');
    await writeFile(pol, 'apiVersion: zt-ffmpeg/v1\nstage: advanced\nmode: sometimes\n');
    const p = await sb.run(['--json', 'check', good, '-p', pol]);
    expect(p.code).toBe(9);
    one(p, 'invalid policy');
    const op = await sb.run(['--json', 'batch', good, '--out-dir', path.join(sb.dir, 'x'), '--operation', 'nope']);
    expect(op.code).toBe(2);
    one(op, 'unknown operation');
  });

  it('every other command: audit show/stats, keygen (--jwks), token mint, policy show/init/sign/pin, operations', async () => {
    one(await sb.run(['--json', 'audit', 'show', '--last', '2']), 'audit show');
    one(await sb.run(['--json', 'audit', 'stats']), 'audit stats');
    const kg = one(await sb.run(['--json', 'keygen', '--out', path.join(sb.dir, 'keys'), '--name', 'issuer', '--jwks']), 'keygen');
    expect(kg['exitCode']).toBe(0);
    const tm = one(await sb.run(['--json', 'token', 'mint', '--key', String(kg['privateKeyPath']), '--issuer', 'me', '--subject', 'you']), 'token mint');
    expect(tm['exitCode']).toBe(0);
    one(await sb.run(['--json', 'policy', 'show', 'initial']), 'policy show');
    const pol = path.join(sb.dir, 'init.yaml');
    one(await sb.run(['--json', 'policy', 'init', '--stage', 'advanced', '--out', pol]), 'policy init');
    one(await sb.run(['--json', 'policy', 'pin', pol]), 'policy pin');
    one(await sb.run(['--json', 'policy', 'sign', pol, '--key', String(kg['privateKeyPath'])]), 'policy sign');
    one(await sb.run(['--json', 'operations']), 'operations');
  });

  it('rejects documents that drift from it', () => {
    expect(validate({ schemaVersion: 2, command: 'check', exitCode: 0, verdict: 'ok', files: [] })).toBe(false);
    expect(validate({ schemaVersion: 1, command: 'batch', type: 'summary', verdict: 'ok', exitCode: 0 })).toBe(false);
    expect(validate({ schemaVersion: 1, command: 'policy explain', exitCode: 0, path: 'p', sha256: 'x', stage: 'advanced', mode: 'enforce', summary: '', pillars: [], surprise: 1 })).toBe(false);
  });
});

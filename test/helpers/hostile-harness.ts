/**
 * The shared frame of the adversarial suite: a private sandbox (HOME, audit log, key), a planted
 * canary secret, a live TCP listener on 127.0.0.1 that must never be contacted, a policy with
 * the deep check on, and the assertions every hostile case makes: refused with exit 3 and the
 * expected rule, recorded in the audit log, nothing at the destination, no job directory left,
 * and the canary nowhere in any output, log, stdout or stderr.
 */
import { readdir, readFile, writeFile, mkdir, lstat } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'vitest';
import { makeSandbox, type CliResult, type Sandbox } from './cli.js';
import { plantCanary, startListener, type Canary, type HostileCase, type Listener } from './hostile-samples.js';

export interface Violation {
  readonly rule: string;
  readonly message: string;
  readonly actual?: unknown;
  readonly limit?: unknown;
}

export interface FileOutcome {
  readonly verdict: string;
  readonly exitCode: number;
  readonly jobId: string;
  readonly violations: readonly Violation[];
  readonly input?: { readonly path: string };
}

export interface AuditLine {
  readonly payload: { readonly seq: number; readonly event: Record<string, unknown> & { readonly type?: string; readonly jobId?: string; readonly verdict?: string; readonly exitCode?: number } };
}

export interface Harness {
  readonly sb: Sandbox;
  readonly canary: Canary;
  readonly listener: Listener;
  readonly samples: string;
  readonly out: string;
  readonly deepPolicy: string;
  readonly judgePolicy: string;
  /** Every stdout and stderr the CLI printed, for the canary check. */
  readonly transcript: string[];
  cli(args: readonly string[], timeoutMs?: number): Promise<CliResult>;
  close(): Promise<void>;
}

export const DEEP_POLICY = `apiVersion: zt-ffmpeg/v1
extends: advanced
stage: advanced
mode: enforce
description: The bundled advanced policy with the deep check (decode everything to null first) switched on.
input:
  deepCheck: true
`;

/** Advanced, but judging the streams a job does not read as if it read them (as optimal does). */
export const JUDGE_POLICY = `apiVersion: zt-ffmpeg/v1
extends: advanced
stage: advanced
mode: enforce
description: The bundled advanced policy, judging unused streams like the streams a job reads.
input:
  unusedStreams: judge
`;

export async function makeHarness(prefix: string): Promise<Harness> {
  const sb = await makeSandbox(prefix);
  const samples = path.join(sb.dir, 'samples');
  const out = path.join(sb.dir, 'out');
  await mkdir(samples);
  await mkdir(out);
  const canary = await plantCanary(sb.dir);
  const listener = await startListener();
  const deepPolicy = path.join(sb.dir, 'deep.yaml');
  await writeFile(deepPolicy, DEEP_POLICY);
  const judgePolicy = path.join(sb.dir, 'judge.yaml');
  await writeFile(judgePolicy, JUDGE_POLICY);
  const transcript: string[] = [];
  return {
    sb,
    canary,
    listener,
    samples,
    out,
    deepPolicy,
    judgePolicy,
    transcript,
    async cli(args, timeoutMs = 60_000) {
      const r = await sb.run(args, { timeoutMs });
      transcript.push(r.stdout, r.stderr);
      return r;
    },
    async close() {
      await listener.close();
      await sb.cleanup();
    },
  };
}

/** Build samples two at a time (the machine has two cores). */
export async function buildAll(h: Harness, cases: readonly HostileCase[]): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  const queue = [...cases];
  const worker = async (): Promise<void> => {
    for (let c = queue.shift(); c; c = queue.shift()) {
      files.set(c.id, await c.build({ dir: h.samples, canary: h.canary, port: h.listener.port }));
    }
  };
  await Promise.all([worker(), worker()]);
  return files;
}

/** One `check --json` over many files; the outcome of each, in order. */
export async function checkMany(h: Harness, files: readonly string[], policy?: string): Promise<FileOutcome[]> {
  const r = await h.cli(['check', '--json', ...(policy ? ['-p', policy] : []), ...files], 120_000);
  const j = r.json<{ files: FileOutcome[] }>();
  expect(j.files).toHaveLength(files.length);
  return j.files;
}

/** The policy file a case names (undefined: the bundled default). */
function policyFile(h: Harness, c: HostileCase): string | undefined {
  return c.policy === 'deep' ? h.deepPolicy : c.policy === 'judge' ? h.judgePolicy : undefined;
}

/** `check` every case, grouped by the policy it needs. */
export async function checkAllCases(h: Harness, cases: readonly HostileCase[], files: ReadonlyMap<string, string>): Promise<Map<string, FileOutcome>> {
  const checked = new Map<string, FileOutcome>();
  for (const kind of ['advanced', 'deep', 'judge'] as const) {
    const group = cases.filter((c) => (c.policy ?? 'advanced') === kind);
    if (group.length === 0) continue;
    const outcomes = await checkMany(h, group.map((c) => files.get(c.id)!), policyFile(h, group[0]!));
    group.forEach((c, i) => checked.set(c.id, outcomes[i]!));
  }
  return checked;
}

export function policyFor(h: Harness, c: HostileCase): string[] {
  const f = policyFile(h, c);
  return f ? ['-p', f] : [];
}

export function rulesOf(o: { violations: readonly Violation[] }): string[] {
  return o.violations.map((v) => v.rule);
}

/** The refusal a case demands: exit 3, verdict refused, and at least one of the expected rules. */
export function expectRefused(o: FileOutcome, expectRules: readonly string[], what: string): void {
  expect(o.exitCode, `${what}: exit code (violations: ${JSON.stringify(o.violations)})`).toBe(3);
  expect(o.verdict, what).toBe('refused');
  const rules = rulesOf(o);
  expect(rules.some((r) => expectRules.includes(r)), `${what}: expected one of ${expectRules.join(', ')}, got ${rules.join(', ')}`).toBe(true);
  for (const v of o.violations) {
    expect(typeof v.message, `${what}: every violation has a message`).toBe('string');
    expect(v, `${what}: every violation says the actual value and the limit`).toHaveProperty('limit');
  }
}

/** `run` one hostile input; asserts the refusal and that nothing reached the destination. */
export async function runRefused(h: Harness, input: string, id: string, expectRules: readonly string[], extra: readonly string[] = []): Promise<FileOutcome> {
  const dest = path.join(h.out, `${id}.mkv`);
  const r = await h.cli(['run', '--json', ...extra, '-i', input, '-o', dest], 60_000);
  expect(r.signal, `${id}: the CLI did not hang or die`).toBeNull();
  const o = r.json<FileOutcome>();
  expect(r.code, `${id}: process exit code`).toBe(3);
  expectRefused(o, expectRules, `${id} (run)`);
  await expect(lstat(dest), `${id}: nothing at the destination`).rejects.toThrow();
  const left = (await readdir(h.out)).filter((n) => n.startsWith('.zt-ffmpeg-job-') || n.startsWith(`${id}.`));
  expect(left, `${id}: no job directory or partial output left`).toEqual([]);
  return o;
}

export async function readAudit(h: Harness): Promise<AuditLine[]> {
  const text = await readFile(h.sb.auditLog, 'utf8');
  return text.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as AuditLine);
}

/** Each job id has a signed audit record of its refusal with the same verdict and exit code. */
export function expectAudited(lines: readonly AuditLine[], o: FileOutcome, type: 'check' | 'refusal', what: string): void {
  const rec = lines.find((l) => l.payload.event.jobId === o.jobId);
  expect(rec, `${what}: an audit record for job ${o.jobId}`).toBeDefined();
  const ev = rec!.payload.event;
  expect(ev.type, what).toBe(type);
  expect(ev.verdict, what).toBe('refused');
  expect(ev.exitCode, what).toBe(3);
  const recorded = (ev['violations'] as Violation[] | undefined)?.map((v) => v.rule) ?? [];
  expect(recorded.sort(), `${what}: the audit record names the same rules`).toEqual(rulesOf(o).sort());
  expect(rec).toHaveProperty('signatures');
}

/** Every file under `dir` (recursively), for the canary scan. */
async function allFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await allFiles(p)));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

/** The canary never left its file: not in outputs, the audit log, the state dir, stdout or stderr. */
export async function expectCanaryUntouched(h: Harness): Promise<void> {
  for (const t of h.transcript) expect(t.includes(h.canary.token), 'canary in CLI output').toBe(false);
  const places = [...(await allFiles(h.out)), ...(await allFiles(path.join(h.sb.dir, 'state')))];
  expect(places).toContain(h.sb.auditLog);
  for (const f of places) {
    const text = await readFile(f, 'latin1');
    expect(text.includes(h.canary.token), `canary found in ${f}`).toBe(false);
  }
  expect(await readdir(h.out), 'the destination directory stays empty').toEqual([]);
  expect(h.listener.connections(), 'the local listener was contacted').toBe(0);
}

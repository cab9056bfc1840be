/**
 * The CI and Kubernetes examples work as written: they parse, they validate against the
 * workflow and Kubernetes schemas where an npm package ships them (GitHub's own
 * @actions/workflow-parser; kubernetes-models, whose validators are ajv code generated from the
 * Kubernetes OpenAPI schema; skipped when the package is not installed), they carry the security
 * settings they claim, and every zt-ffmpeg command line in them runs for real against generated
 * media, with the environment the example sets (paths mapped into a temporary directory, the CI
 * token minted by a test issuer whose keys stand in for GitHub's or GitLab's).
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdir, writeFile, readFile, copyFile, readdir, chmod, stat, rm, mkdtemp } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { generateKeyPair, exportJWK, SignJWT } from 'jose';
import { ROOT, BIN } from '../helpers/cli.js';
import { makeSample } from '../helpers/media.js';

const EX = path.join(ROOT, 'examples');

type Doc = Record<string, unknown>;
const obj = (v: unknown): Doc => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Doc) : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

async function tryImport(spec: string): Promise<Record<string, unknown> | undefined> {
  try {
    return (await import(spec)) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}
const workflowParser = await tryImport('@actions/workflow-parser');
const k8sModels = {
  Job: (await tryImport('kubernetes-models/batch/v1/Job'))?.['Job'] as (new (d: Doc) => { validate(): void }) | undefined,
  ConfigMap: (await tryImport('kubernetes-models/v1/ConfigMap'))?.['ConfigMap'] as (new (d: Doc) => { validate(): void }) | undefined,
  Secret: (await tryImport('kubernetes-models/v1/Secret'))?.['Secret'] as (new (d: Doc) => { validate(): void }) | undefined,
};

interface Ran {
  readonly line: string;
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function exec(file: string, args: readonly string[], opts: { cwd: string; env: Record<string, string>; timeoutMs?: number }): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, [...args], { cwd: opts.cwd, env: opts.env, timeout: opts.timeoutMs ?? 120_000, killSignal: 'SIGKILL', maxBuffer: 32 * 1024 * 1024 }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { code?: number | string }) | null;
      resolve({ code: e ? (typeof e.code === 'number' ? e.code : -1) : 0, stdout, stderr });
    });
  });
}

/** Shell lines of a script that run zt-ffmpeg (at a command position), `\` continuations joined. */
export function zfLines(script: string): string[] {
  const joined = script.replace(/\\\n\s*/g, ' ');
  return joined
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#') && /(^|\|\|?|&&|;)\s*zt-ffmpeg\s/.test(l) && !/npm install/.test(l));
}

let tmp: string;
let shimDir: string;
/** Stand-ins for the runner's sudo and for GitHub's token endpoint (curl). */
let stubDir: string;
/** npm's global prefix for the action's `npm install --global`. */
let prefix: string;
/** The action's checkout: this repository's files (git ls-files), as `uses:` would fetch them. */
let actionDir: string;
let action: Doc;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'zt-examples-'));
  shimDir = path.join(tmp, 'bin');
  await mkdir(shimDir);
  // The examples call `zt-ffmpeg` from PATH: the built CLI of this checkout.
  await writeFile(path.join(shimDir, 'zt-ffmpeg'), `#!/bin/sh\nexec '${process.execPath}' '${BIN}' "$@"\n`);
  await chmod(path.join(shimDir, 'zt-ffmpeg'), 0o755);
  action = parse(await readFile(path.join(ROOT, 'action.yml'), 'utf8')) as Doc;
  stubDir = path.join(tmp, 'stubs');
  prefix = path.join(tmp, 'npm-global');
  actionDir = path.join(tmp, 'action');
  await mkdir(stubDir);
  // apt-get and sysctl need the runner's root; here the packages are already installed.
  await writeFile(path.join(stubDir, 'sudo'), '#!/bin/sh\ncase "$1" in apt-get|sysctl) exit 0;; esac\nexec "$@"\n');
  await writeFile(path.join(stubDir, 'curl'), `#!/bin/sh\ncase "$*" in *oidc.invalid*audience=zt-ffmpeg*) exec cat '${path.join(tmp, 'stubs', 'token')}';; esac\necho "curl stub: no network in tests" >&2; exit 22\n`);
  await chmod(path.join(stubDir, 'sudo'), 0o755);
  await chmod(path.join(stubDir, 'curl'), 0o755);
  const files = await exec('/usr/bin/git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, env: { PATH: '/usr/bin:/bin' } });
  for (const f of files.stdout.split('\0').filter((x) => x !== '' && existsSync(path.join(ROOT, x)))) {
    await mkdir(path.dirname(path.join(actionDir, f)), { recursive: true });
    await copyFile(path.join(ROOT, f), path.join(actionDir, f));
  }
});

afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

/** A stand-in OIDC issuer: an RSA key, its JWKS, tokens with the claims the CI would set. */
async function makeIssuer(kid: string): Promise<{ jwks: string; token: (claims: Doc, iss: string) => Promise<string> }> {
  const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
  return {
    jwks: JSON.stringify({ keys: [jwk] }),
    token: (claims, iss) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' })
        .setIssuer(iss)
        .setAudience('zt-ffmpeg')
        .setIssuedAt()
        .setExpirationTime('5m')
        .setJti(crypto.randomUUID())
        .sign(privateKey),
  };
}

async function runLines(lines: readonly string[], cwd: string, env: Record<string, string>): Promise<Ran[]> {
  const out: Ran[] = [];
  for (const line of lines) {
    const r = await exec('/bin/bash', ['-eo', 'pipefail', '-c', line], { cwd, env });
    out.push({ line, ...r });
  }
  return out;
}

function baseEnv(home: string): Record<string, string> {
  return { PATH: `${shimDir}:/usr/bin:/bin`, HOME: home, XDG_STATE_HOME: path.join(home, 'state'), XDG_CONFIG_HOME: path.join(home, 'config'), NO_COLOR: '1' };
}

// --- GitHub Actions ------------------------------------------------------------------------------

describe('examples/github-actions.yml', () => {
  let wf: Doc;
  let text: string;
  beforeAll(async () => {
    text = await readFile(path.join(EX, 'github-actions.yml'), 'utf8');
    wf = parse(text) as Doc;
  });

  it.skipIf(workflowParser === undefined)('validates with GitHub\'s own workflow parser and schema (@actions/workflow-parser)', async () => {
    const wp = workflowParser as unknown as {
      parseWorkflow(f: { name: string; content: string }, t: unknown): { context: { errors: { getErrors(): Array<{ message: string }> } }; value: unknown };
      convertWorkflowTemplate(ctx: unknown, root: unknown): Promise<{ errors?: Array<{ Message?: string; message?: string }> }>;
      NoOperationTraceWriter: new () => unknown;
    };
    const parsed = wp.parseWorkflow({ name: 'github-actions.yml', content: text }, new wp.NoOperationTraceWriter());
    expect(parsed.context.errors.getErrors().map((e) => e.message)).toEqual([]);
    const template = await wp.convertWorkflowTemplate(parsed.context, parsed.value);
    expect((template.errors ?? []).map((e) => e.Message ?? e.message)).toEqual([]);
  });

  it('uses the composite action of this repository, which requests the OIDC token, annotates, verifies and uploads the evidence', async () => {
    expect(obj(wf['permissions'])['id-token']).toBe('write');
    const job = obj(obj(wf['jobs'])['transcode']);
    const steps = arr(job['steps']).map(obj);
    expect(steps.map((s) => String(s['run'] ?? '')).join('\n')).not.toMatch(/npm install --global zt-ffmpeg@|token mint|--token /);
    const zt = steps.find((s) => /^octo-org\/zt-ffmpeg@/.test(String(s['uses'] ?? '')))!;
    const withs = obj(zt['with']);
    expect(withs['command']).toBe('batch');
    expect(String(withs['args'])).toMatch(/--format github/);
    expect(existsSync(path.join(ROOT, String(withs['policy'])))).toBe(true);
    expect(action['runs']).toMatchObject({ using: 'composite' });
    const asteps = arr(obj(action['runs'])['steps']).map(obj);
    const scripts = asteps.map((s) => String(s['run'] ?? '')).join('\n');
    expect(scripts).toContain('$ACTIONS_ID_TOKEN_REQUEST_URL&audience=$ZT_AUDIENCE');
    expect(scripts).toContain('Authorization: bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN');
    expect(scripts).toContain('::add-mask::$ZT_FFMPEG_TOKEN');
    expect(scripts).toMatch(/npm pack --pack-destination "\$RUNNER_TEMP"\n\s*npm install --global .*zt-ffmpeg-\*\.tgz/);
    const upload = asteps.find((s) => String(s['uses'] ?? '').startsWith('actions/upload-artifact@'))!;
    expect(String(upload['if'])).toMatch(/^always\(\)/);
    const paths = String(obj(upload['with'])['path']).trim().split('\n').map((p) => p.trim());
    expect(paths).toEqual(['${{ inputs.state-dir }}/audit/audit.log', '${{ inputs.state-dir }}/audit/audit.log.checkpoint', '${{ inputs.state-dir }}/keys/audit.pub']);
  });

  /** Run the composite action's steps as the runner would: each script whole, under bash -eo pipefail. */
  async function runAction(withs: Doc, ws: string, env: Record<string, string>, token: string, install: boolean): Promise<Ran[]> {
    const defaults = obj(action['inputs']);
    const input = (name: string): string => String(withs[name] ?? obj(defaults[name])['default'] ?? '');
    const expr = (v: string): string => v.replace(/\$\{\{\s*inputs\.([a-z-]+)\s*\}\}/g, (_, n: string) => input(n)).replace(/\$\{\{\s*github\.action_path\s*\}\}/g, actionDir);
    await writeFile(path.join(stubDir, 'token'), JSON.stringify({ value: token }));
    const out: Ran[] = [];
    let failed = false;
    for (const step of arr(obj(action['runs'])['steps']).map(obj)) {
      if (step['run'] === undefined) continue; // actions/upload-artifact: the runner's own
      if (failed && !String(step['if'] ?? '').startsWith('always()')) continue;
      if (!install && String(step['name']).startsWith('Install')) continue;
      const stepEnv: Record<string, string> = { ...env, RUNNER_TEMP: await mkdtemp(path.join(tmp, 'runner-')), GITHUB_OUTPUT: path.join(ws, 'github-output'), ACTIONS_ID_TOKEN_REQUEST_URL: 'https://oidc.invalid/token?api-version=2.0', ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'request-token' };
      for (const [k, v] of Object.entries(obj(step['env']))) stepEnv[k] = expr(String(v));
      const r = await exec('/bin/bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', expr(String(step['run']))], { cwd: ws, env: stepEnv, timeoutMs: 240_000 });
      out.push({ line: `action: ${String(step['name'])}`, ...r });
      if (r.code !== 0) failed = true;
    }
    return out;
  }

  /** Run the workflow's zt-ffmpeg lines, step by step, as the runner would. */
  async function runWorkflow(media: Record<string, string>, claims: Doc, install = false): Promise<{ ran: Ran[]; ws: string }> {
    const ws = await mkdtemp(path.join(tmp, 'gh-ws-'));
    await mkdir(path.join(ws, 'examples', 'ci'), { recursive: true });
    await copyFile(path.join(EX, 'ci', 'github-policy.yaml'), path.join(ws, 'examples', 'ci', 'github-policy.yaml'));
    const issuer = await makeIssuer('gh-test-key');
    // Stands in for the JWKS the workflow fetches from GitHub.
    await writeFile(path.join(ws, 'examples', 'ci', 'github-jwks.json'), issuer.jwks);
    await mkdir(path.join(ws, 'media'));
    for (const [name, src] of Object.entries(media)) await copyFile(src, path.join(ws, 'media', name));
    const job = obj(obj(wf['jobs'])['transcode']);
    const expr = (v: string): string => v.replace(/\$\{\{\s*github\.workspace\s*\}\}/g, ws).replace(/\$\{\{\s*secrets\.ZT_FFMPEG_AUDIT_KEY != ''\s*\}\}/g, 'false');
    const env: Record<string, string> = { ...baseEnv(path.join(ws, 'home')), PATH: `${stubDir}:${path.join(prefix, 'bin')}:${path.dirname(process.execPath)}:/usr/bin:/bin`, npm_config_prefix: prefix, npm_config_cache: path.join(os.homedir(), '.npm'), npm_config_update_notifier: 'false', npm_config_prefer_offline: 'true', ...(process.env['NODE_EXTRA_CA_CERTS'] ? { NODE_EXTRA_CA_CERTS: process.env['NODE_EXTRA_CA_CERTS'] } : {}), GITHUB_ACTIONS: 'true', GITHUB_REPOSITORY: String(claims['repository']), GITHUB_REF: String(claims['ref']) };
    for (const [k, v] of Object.entries(obj(job['env']))) env[k] = expr(String(v));
    expect(Object.values(env).join('\n')).not.toContain('${{');
    // The action asks GitHub for the token (curl, stubbed to answer with this one).
    const token = await issuer.token(claims, 'https://token.actions.githubusercontent.com');
    const ran: Ran[] = [];
    for (const step of arr(job['steps']).map(obj)) {
      const cond = String(step['if'] ?? '');
      if (cond === "env.HAS_AUDIT_KEY == 'true'" && env['HAS_AUDIT_KEY'] !== 'true') continue;
      if (cond === "env.HAS_AUDIT_KEY != 'true'" && env['HAS_AUDIT_KEY'] === 'true') continue;
      const stepEnv = { ...env };
      for (const [k, v] of Object.entries(obj(step['env']))) stepEnv[k] = expr(String(v));
      if (/^octo-org\/zt-ffmpeg@/.test(String(step['uses'] ?? ''))) ran.push(...(await runAction(obj(step['with']), ws, stepEnv, token, install)));
      else ran.push(...(await runLines(zfLines(String(step['run'] ?? '')), ws, stepEnv)));
    }
    return { ran, ws };
  }

  it('its zt-ffmpeg lines run for real: benign media pass, the evidence is there and verifies', async () => {
    const good = await makeSample(tmp, 'h264-aac.mp4');
    // The first run installs zt-ffmpeg as the action does: npm ci and npm pack in the action's checkout, npm install --global.
    const { ran, ws } = await runWorkflow({ 'clip.mp4': good }, { repository: 'octo-org/media-pipeline', ref: 'refs/pull/7/merge', sub: 'repo:octo-org/media-pipeline:pull_request' }, true);
    expect(ran.map((r) => r.line)).toEqual([
      'action: Install ffmpeg, bubblewrap and zt-ffmpeg',
      'action: Audit key for this run',
      'action: Run zt-ffmpeg ${{ inputs.command }}',
      'action: Verify the audit log',
    ]);
    expect(existsSync(path.join(prefix, 'bin', 'zt-ffmpeg'))).toBe(true);
    for (const r of ran) expect(r.code, `${r.line}\n${r.stderr}`).toBe(0);
    expect(await readdir(path.join(ws, '.zt-ffmpeg', 'out'))).toEqual(['clip.mp4']);
    for (const p of ['.zt-ffmpeg/audit/audit.log', '.zt-ffmpeg/audit/audit.log.checkpoint', '.zt-ffmpeg/keys/audit.pub']) expect(existsSync(path.join(ws, p)), p).toBe(true);
    const log = await readFile(path.join(ws, '.zt-ffmpeg', 'audit', 'audit.log'), 'utf8');
    expect(log).toContain('"repository":"octo-org/media-pipeline"');
    expect(log).toContain('"issuerId":"github"');
  }, 300_000);

  it('a hostile file fails the step with exit 3 and an ::error annotation; the log still verifies', async () => {
    const good = await makeSample(tmp, 'h264-aac.mp4');
    const evil = path.join(tmp, 'evil.mp4');
    await writeFile(evil, '#EXTM3U\n#EXTINF:1,\nfile:///etc/passwd\n');
    const { ran } = await runWorkflow({ 'clip.mp4': good, 'evil.mp4': evil }, { repository: 'octo-org/media-pipeline', ref: 'refs/heads/main', sub: 'repo:octo-org/media-pipeline:ref:refs/heads/main' });
    const batch = ran.find((r) => r.line.includes('Run zt-ffmpeg'))!;
    expect(batch.code).toBe(3);
    // The token is masked before anything else is printed; then one annotation for the refused file.
    const [mask, ...rest] = batch.stdout.trim().split('\n');
    expect(mask).toMatch(/^::add-mask::ey/);
    expect(rest).toEqual([expect.stringMatching(/^::error file=media\/evil\.mp4,title=zt-ffmpeg refused \(input\.magic\)::/)]);
    expect(ran.find((r) => r.line.includes('Verify the audit log'))!.code).toBe(0);
  });

  it('a token from another repository is refused (exit 4)', async () => {
    const good = await makeSample(tmp, 'h264-aac.mp4');
    const { ran } = await runWorkflow({ 'clip.mp4': good }, { repository: 'mallory/fork', ref: 'refs/heads/main', sub: 'repo:mallory/fork:ref:refs/heads/main' });
    expect(ran.find((r) => r.line.includes('Run zt-ffmpeg'))!.code).toBe(4);
  });
});

// --- GitLab CI -----------------------------------------------------------------------------------

describe('examples/gitlab-ci.yml', () => {
  it('declares the ID token, keeps the evidence, and its zt-ffmpeg lines run for real', async () => {
    const ci = parse(await readFile(path.join(EX, 'gitlab-ci.yml'), 'utf8')) as Doc;
    const job = obj(ci['zt-ffmpeg-transcode']);
    expect(arr(ci['stages'])).toContain(job['stage']);
    expect(obj(obj(job['id_tokens'])['ZT_FFMPEG_TOKEN'])['aud']).toBe('zt-ffmpeg');
    const art = obj(job['artifacts']);
    expect(art['when']).toBe('always');
    expect(arr(art['paths'])).toEqual(expect.arrayContaining(['.zt-ffmpeg/out/', '.zt-ffmpeg/audit/audit.log', '.zt-ffmpeg/audit/audit.log.checkpoint', '.zt-ffmpeg/keys/audit.pub']));
    expect(arr(art['paths']).join('\n')).not.toMatch(/audit\.key/);
    for (const k of ['before_script', 'script', 'after_script']) for (const l of arr(job[k])) expect(typeof l, `${k}: ${String(l)}`).toBe('string');

    const ws = await mkdtemp(path.join(tmp, 'gl-ws-'));
    await mkdir(path.join(ws, 'examples', 'ci'), { recursive: true });
    await copyFile(path.join(EX, 'ci', 'gitlab-policy.yaml'), path.join(ws, 'examples', 'ci', 'gitlab-policy.yaml'));
    const issuer = await makeIssuer('gl-test-key');
    await writeFile(path.join(ws, 'examples', 'ci', 'gitlab-jwks.json'), issuer.jwks);
    await mkdir(path.join(ws, 'media'));
    await copyFile(await makeSample(tmp, 'tone.wav'), path.join(ws, 'media', 'tone.wav'));
    await copyFile(await makeSample(tmp, 'h264-aac.mp4'), path.join(ws, 'media', 'clip.mp4'));
    const env: Record<string, string> = { ...baseEnv(path.join(ws, 'home')), GITLAB_CI: 'true', CI_PROJECT_DIR: ws, CI_PROJECT_PATH: 'octo-org/media-pipeline', CI_COMMIT_REF_NAME: 'main' };
    for (const [k, v] of Object.entries(obj(job['variables']))) env[k] = String(v).replace(/\$([A-Z_]+)/g, (_, n: string) => env[n] ?? '');
    env['ZT_FFMPEG_TOKEN'] = await issuer.token({ project_path: 'octo-org/media-pipeline', ref: 'main', ref_protected: 'true', sub: 'project_path:octo-org/media-pipeline:ref_type:branch:ref:main' }, 'https://gitlab.com');
    const lines = [...arr(job['before_script']), ...arr(job['script']), ...arr(job['after_script'])].flatMap((l) => zfLines(String(l)));
    expect(lines.map((l) => l.replace(/^test -f \S+ \|\| /, '').replace(/^status=0; /, '').split(' ').slice(0, 3).join(' '))).toEqual([
      'zt-ffmpeg keygen --out',
      'zt-ffmpeg policy validate',
      'find media -type',
      'zt-ffmpeg audit verify',
    ]);
    // The log is verified in `script` (after_script never fails a job), and the job ends with the batch's status.
    expect(arr(job['after_script'])).toEqual([]);
    expect(arr(job['script']).at(-1)).toBe('exit "$status"');
    const ran = await runLines(lines, ws, env);
    // The video is transcoded; the audio-only file cannot become the default mp4 target's video.
    for (const r of ran.filter((x) => !x.line.includes('batch'))) expect(r.code, `${r.line}\n${r.stderr}`).toBe(0);
    const batch = ran.find((r) => r.line.includes('batch'))!;
    expect([0, 6], batch.stderr).toContain(batch.code);
    expect(await readdir(path.join(ws, '.zt-ffmpeg', 'out'))).toContain('clip.mp4');
    for (const p of ['.zt-ffmpeg/audit/audit.log', '.zt-ffmpeg/audit/audit.log.checkpoint', '.zt-ffmpeg/keys/audit.pub']) expect(existsSync(path.join(ws, p)), p).toBe(true);
  });
});

// --- Kubernetes ----------------------------------------------------------------------------------

async function k8sDocs(): Promise<Array<{ file: string; doc: Doc }>> {
  const dir = path.join(EX, 'kubernetes');
  const out: Array<{ file: string; doc: Doc }> = [];
  for (const f of (await readdir(dir)).filter((x) => x.endsWith('.yaml')).sort()) {
    for (const d of parseAllDocuments(await readFile(path.join(dir, f), 'utf8'))) {
      expect(d.errors, f).toEqual([]);
      out.push({ file: f, doc: d.toJS() as Doc });
    }
  }
  return out;
}

type Container = { name: string; image: string; command?: string[]; args?: string[]; env?: Array<{ name: string; value?: string; valueFrom?: unknown }>; volumeMounts?: Array<{ name: string; mountPath: string; readOnly?: boolean }>; securityContext?: Doc; restartPolicy?: string };
type PodSpec = { initContainers?: Container[]; containers: Container[]; volumes: Array<{ name: string; configMap?: { name: string }; secret?: { secretName: string; defaultMode?: number }; emptyDir?: Doc; persistentVolumeClaim?: Doc }>; hostUsers?: boolean; securityContext?: Doc; automountServiceAccountToken?: boolean };

describe('examples/kubernetes', () => {
  it('parses, and every Job carries the settings it claims', async () => {
    const docs = await k8sDocs();
    const kinds = docs.map((d) => `${d.file}:${String(d.doc['kind'])}`);
    expect(kinds).toEqual(['configmap-policy.yaml:ConfigMap', 'indexed-job.yaml:Job', 'job.yaml:Job', 'secret-audit-key.yaml:Secret']);
    for (const { file, doc } of docs.filter((d) => d.doc['kind'] === 'Job')) {
      const spec = obj(obj(doc['spec'])['template'])['spec'] as PodSpec;
      expect(spec.hostUsers, file).toBe(false);
      expect(spec.automountServiceAccountToken, file).toBe(false);
      expect(obj(spec.securityContext)['runAsNonRoot'], file).toBe(true);
      expect(obj(spec.securityContext)['seccompProfile'], file).toEqual({ type: 'Localhost', localhostProfile: 'profiles/zt-ffmpeg-bwrap.json' });
      for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
        const sc = obj(c.securityContext);
        expect(sc['allowPrivilegeEscalation'], `${file} ${c.name}`).toBe(false);
        expect(sc['readOnlyRootFilesystem'], `${file} ${c.name}`).toBe(true);
        expect(obj(sc['capabilities'])['drop'], `${file} ${c.name}`).toEqual(['ALL']);
        expect(sc['privileged'] ?? false, `${file} ${c.name}`).toBe(false);
      }
      const main = spec.containers.find((c) => c.name === 'zt-ffmpeg')!;
      expect(obj(main.securityContext)['procMount']).toBe('Unmasked');
      const vol = (n: string): PodSpec['volumes'][number] | undefined => spec.volumes.find((v) => v.name === n);
      expect(vol('policy')?.configMap?.name).toBe('zt-ffmpeg-policy');
      expect(vol('audit-key')?.secret?.secretName).toBe('zt-ffmpeg-audit-key');
      expect(vol('data')?.persistentVolumeClaim).toBeDefined();
      // The audit log is shipped by a native sidecar.
      expect(spec.initContainers?.some((c) => c.restartPolicy === 'Always' && (c.command ?? []).join(' ').includes('tail -n +1 -F'))).toBe(true);
    }
    const indexed = docs.find((d) => d.file === 'indexed-job.yaml')!.doc;
    const ispec = obj(indexed['spec']);
    expect(ispec['completionMode']).toBe('Indexed');
    const main = (obj(obj(ispec['template'])['spec']) as unknown as PodSpec).containers.find((c) => c.name === 'zt-ffmpeg')!;
    expect(main.args).toContain(`$(JOB_COMPLETION_INDEX)/${String(ispec['completions'])}`);
  });

  it('the bubblewrap seccomp profile leaves bwrap its calls and refuses the dangerous ones', async () => {
    const p = JSON.parse(await readFile(path.join(EX, 'kubernetes', 'seccomp', 'zt-ffmpeg-bwrap.json'), 'utf8')) as { defaultAction: string; syscalls: Array<{ names: string[]; action: string }> };
    const denied = new Set(p.syscalls.filter((s) => s.action !== 'SCMP_ACT_ALLOW').flatMap((s) => s.names));
    for (const need of ['clone', 'clone3', 'unshare', 'mount', 'umount2', 'pivot_root', 'chroot', 'sethostname', 'prctl', 'seccomp', 'capset']) expect(denied.has(need), need).toBe(false);
    for (const bad of ['bpf', 'keyctl', 'ptrace', 'perf_event_open', 'kexec_load', 'init_module', 'userfaultfd']) expect(denied.has(bad), bad).toBe(true);
  });

  it.skipIf(k8sModels.Job === undefined)('validates against the Kubernetes schemas (kubernetes-models)', async () => {
    for (const { file, doc } of await k8sDocs()) {
      const Model = k8sModels[doc['kind'] as 'Job' | 'ConfigMap' | 'Secret'];
      expect(Model, `${file}: no model for ${String(doc['kind'])}`).toBeDefined();
      expect(() => new Model!(doc).validate(), file).not.toThrow();
    }
  });

  /** Map a pod's volumes into directories, run its init containers and main container for real. */
  async function runPod(spec: PodSpec, root: string, shared: { data: string; policyDir: string; secretDir: string }, podEnv: Record<string, string>): Promise<Array<{ name: string; code: number; stdout: string; stderr: string }>> {
    const dirs = new Map<string, string>();
    for (const v of spec.volumes) {
      if (v.configMap) dirs.set(v.name, shared.policyDir);
      else if (v.secret) dirs.set(v.name, shared.secretDir);
      else if (v.persistentVolumeClaim) dirs.set(v.name, shared.data);
      else {
        const d = path.join(root, `vol-${v.name}`);
        await mkdir(d, { recursive: true });
        dirs.set(v.name, d);
      }
    }
    const results: Array<{ name: string; code: number; stdout: string; stderr: string }> = [];
    const containers = [...(spec.initContainers ?? []).filter((c) => c.restartPolicy !== 'Always'), ...spec.containers];
    for (const c of containers) {
      const mounts = (c.volumeMounts ?? []).filter((m) => m.mountPath !== '/tmp').sort((a, b) => b.mountPath.length - a.mountPath.length);
      const mapPath = (s: string): string => {
        let out = s;
        for (const m of mounts) out = out.split(m.mountPath).join(dirs.get(m.name)!);
        return out;
      };
      const env: Record<string, string> = { PATH: `${shimDir}:/usr/bin:/bin`, ...podEnv };
      for (const e of c.env ?? []) if (e.value !== undefined) env[e.name] = mapPath(e.value);
      const expand = (s: string): string => mapPath(s.replace(/\$\(([A-Z_]+)\)/g, (m, n: string) => env[n] ?? m));
      const argv = [...(c.command ?? []), ...(c.args ?? [])].map(expand);
      const [cmd, ...rest] = argv;
      const file = cmd === 'zt-ffmpeg' ? path.join(shimDir, 'zt-ffmpeg') : cmd === 'sh' ? '/bin/sh' : `/usr/bin/${cmd!}`;
      const r = await exec(file, rest, { cwd: root, env });
      results.push({ name: c.name, ...r });
    }
    return results;
  }

  async function cluster(): Promise<{ root: string; data: string; policyDir: string; secretDir: string; pub: string; goods: string[] }> {
    const root = await mkdtemp(path.join(tmp, 'k8s-'));
    const data = path.join(root, 'pv');
    await mkdir(path.join(data, 'in', 'sub'), { recursive: true });
    await mkdir(path.join(data, 'out'));
    await mkdir(path.join(data, 'audit'));
    const goods = [await makeSample(path.join(data, 'in'), 'h264-aac.mp4'), await makeSample(path.join(data, 'in', 'sub'), 'h264-aac.mov')];
    await writeFile(path.join(data, 'in', 'evil.mp4'), 'not media\n');
    const policyDir = path.join(root, 'configmap');
    await mkdir(policyDir);
    const cm = (await k8sDocs()).find((d) => d.doc['kind'] === 'ConfigMap')!.doc;
    for (const [k, v] of Object.entries(obj(cm['data']))) await writeFile(path.join(policyDir, k), String(v));
    // The Secret: a real key made with keygen, mounted 0440 as the Job's defaultMode says.
    const keys = path.join(root, 'keys');
    const kg = await exec(path.join(shimDir, 'zt-ffmpeg'), ['keygen', '--out', keys], { cwd: root, env: baseEnv(root) });
    expect(kg.code, kg.stderr).toBe(0);
    const secretDir = path.join(root, 'secret');
    await mkdir(secretDir);
    await copyFile(path.join(keys, 'audit.key'), path.join(secretDir, 'audit.key'));
    await chmod(path.join(secretDir, 'audit.key'), 0o440);
    return { root, data, policyDir, secretDir, pub: path.join(keys, 'audit.pub'), goods };
  }

  it('job.yaml: the containers run for real; outputs on the volume, a refusal recorded, the log verifies', async () => {
    const c = await cluster();
    const job = (await k8sDocs()).find((d) => d.file === 'job.yaml')!.doc;
    const spec = obj(obj(job['spec'])['template'])['spec'] as PodSpec;
    const res = await runPod(spec, path.join(c.root, 'pod'), c, { POD_NAME: 'zt-ffmpeg-batch-x7k2p' });
    expect(res.map((r) => r.name)).toEqual(['audit-key', 'list-inputs', 'zt-ffmpeg']);
    for (const r of res.slice(0, 2)) expect(r.code, `${r.name}: ${r.stderr}`).toBe(0);
    const main = res[2]!;
    expect(main.code, main.stderr).toBe(3);
    const summary = JSON.parse(main.stdout.trim().split('\n').at(-1)!) as Doc;
    expect(summary).toMatchObject({ type: 'summary', ok: 2, refused: 1, byRule: { 'input.magic': 1 } });
    expect((await readdir(path.join(c.data, 'out'))).sort()).toEqual(['h264-aac-1.mp4', 'h264-aac.mp4']);
    const log = path.join(c.data, 'audit', 'zt-ffmpeg-batch-x7k2p.log');
    const v = await exec(path.join(shimDir, 'zt-ffmpeg'), ['audit', 'verify', log, '--key', c.pub], { cwd: c.root, env: baseEnv(c.root) });
    expect(v.code, v.stderr).toBe(0);
    expect((await stat(path.join(c.root, 'pod', 'vol-state', 'keys', 'audit.key'))).mode & 0o777).toBe(0o600);
    // A retry of the Job (a new pod, same volume) skips the finished outputs and refuses only the bad file again.
    const retry = await runPod(spec, path.join(c.root, 'pod-retry'), c, { POD_NAME: 'zt-ffmpeg-batch-r3try' });
    const again = JSON.parse(retry[2]!.stdout.trim().split('\n').at(-1)!) as Doc;
    expect(again).toMatchObject({ type: 'summary', ok: 0, skipped: 2, refused: 1 });
  });

  it('indexed-job.yaml: every index runs its shard for real; each input once; all worker logs verify with a keyring', async () => {
    const c = await cluster();
    const job = (await k8sDocs()).find((d) => d.file === 'indexed-job.yaml')!.doc;
    const completions = Number(obj(job['spec'])['completions']);
    const spec = obj(obj(job['spec'])['template'])['spec'] as PodSpec;
    const seen: string[] = [];
    let refused = 0;
    for (let i = 0; i < completions; i++) {
      const res = await runPod(spec, path.join(c.root, `pod-${i}`), c, { JOB_COMPLETION_INDEX: String(i) });
      expect(res.map((r) => r.name)).toEqual(['audit-key', 'list-inputs', 'zt-ffmpeg']);
      for (const r of res.slice(0, 2)) expect(r.code, `${r.name}: ${r.stderr}`).toBe(0);
      const main = res[2]!;
      expect([0, 3], main.stderr).toContain(main.code);
      const lines = main.stdout.trim().split('\n').map((l) => JSON.parse(l) as Doc);
      for (const l of lines.filter((x) => x['type'] === 'job')) {
        seen.push(String(l['input']));
        if (l['verdict'] === 'refused') refused++;
      }
    }
    expect(seen.sort()).toEqual([...c.goods, path.join(c.data, 'in', 'evil.mp4')].sort());
    expect(refused).toBe(1);
    // Names were planned over the whole list: the two h264-aac inputs in different shards do not clash.
    expect((await readdir(path.join(c.data, 'out'))).sort()).toEqual(['h264-aac-1.mp4', 'h264-aac.mp4']);
    const keyring = path.join(c.root, 'keyring');
    await mkdir(keyring);
    await copyFile(c.pub, path.join(keyring, 'audit.pub'));
    const logs = (await readdir(path.join(c.data, 'audit'))).filter((f) => f.endsWith('.log')).map((f) => path.join(c.data, 'audit', f));
    expect(logs.length).toBeGreaterThanOrEqual(2);
    const v = await exec(path.join(shimDir, 'zt-ffmpeg'), ['--json', 'audit', 'verify', ...logs, '--keyring', keyring], { cwd: c.root, env: baseEnv(c.root) });
    expect(v.code, v.stdout + v.stderr).toBe(0);
    expect((JSON.parse(v.stdout) as { logs: unknown[] }).logs).toHaveLength(logs.length);
  });
});

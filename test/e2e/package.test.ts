/**
 * Test what ships: `npm pack` the project (prepack builds), install the tarball into an empty
 * directory (dependencies from the npm registry or the local cache, nothing from the source
 * tree), then use it there as a user would: `npx zt-ffmpeg` (--help, policy validate, a real
 * job, policy init with a $schema line that resolves), and `import('zt-ffmpeg')` from a script
 * and from type-checked TypeScript.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtemp, mkdir, writeFile, readFile, rm, readdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Ajv from 'ajv';
import { parse } from 'yaml';
import { ROOT } from '../helpers/cli.js';
import { makeSample } from '../helpers/media.js';

interface Ran {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function exec(file: string, args: readonly string[], cwd: string, env: Record<string, string>, timeoutMs = 180_000): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(file, [...args], { cwd, env, timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { code?: number | string }) | null;
      resolve({ code: e ? (typeof e.code === 'number' ? e.code : -1) : 0, stdout, stderr });
    });
  });
}

let tmp: string;
let app: string;
let env: Record<string, string>;
let tarball: string;
const npm = (args: readonly string[], cwd: string): Promise<Ran> => exec('/usr/bin/npm', args, cwd, env);
const npx = (args: readonly string[]): Promise<Ran> => exec('/usr/bin/npx', ['--no-install', 'zt-ffmpeg', ...args], app, env);

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'zt-package-'));
  app = path.join(tmp, 'app');
  await mkdir(app);
  env = {
    PATH: `${path.dirname(process.execPath)}:/usr/bin:/bin`,
    HOME: path.join(tmp, 'home'),
    XDG_STATE_HOME: path.join(tmp, 'state'),
    XDG_CONFIG_HOME: path.join(tmp, 'config'),
    NO_COLOR: '1',
    // The npm cache of this machine (dependencies come from it or the registry).
    npm_config_cache: path.join(os.homedir(), '.npm'),
    npm_config_update_notifier: 'false',
    npm_config_fund: 'false',
    npm_config_audit: 'false',
  };
  const packed = await npm(['pack', '--json', '--pack-destination', tmp], ROOT);
  expect(packed.code, packed.stderr).toBe(0);
  const info = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as Array<{ filename: string; files: Array<{ path: string }> }>;
  tarball = path.join(tmp, info[0]!.filename);
  await writeFile(path.join(app, 'package.json'), JSON.stringify({ name: 'upload-service', version: '1.0.0', private: true, type: 'module' }));
  const installed = await npm(['install', '--prefer-offline', '--no-package-lock', tarball], app);
  expect(installed.code, installed.stderr).toBe(0);
}, 300_000);

afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe('the packed package', () => {
  it('holds exactly what runs: the bundle, the types, policies, schemas, man page, LICENSE', async () => {
    const listed = await exec('/usr/bin/tar', ['-tzf', tarball], tmp, env);
    const files = listed.stdout.trim().split('\n').map((f) => f.replace(/^package\//, ''));
    const code = files.filter((f) => !f.endsWith('.d.ts'));
    for (const f of code) expect(f, f).toMatch(/^(bin\/zt-ffmpeg|bin\/load-cli\.cjs|bin\/package\.json|dist\/bundle\/.+\.js|dist\/bundle\/cli\.cjs(\.cache)?|dist\/version\.js|dist\/policy\/bundled-policies\.generated\.json|policies\/[a-z]+\.yaml|schema\/(policy|output)\.schema\.json|man\/zt-ffmpeg\.1|package\.json|README\.md|LICENSE)$/);
    for (const f of ['bin/zt-ffmpeg', 'bin/load-cli.cjs', 'bin/package.json', 'dist/bundle/cli.cjs', 'dist/bundle/cli.cjs.cache', 'dist/bundle/main.js', 'dist/bundle/index.js', 'dist/index.d.ts', 'LICENSE', 'policies/advanced.yaml', 'schema/policy.schema.json']) expect(files, f).toContain(f);
    expect(files.some((f) => f.startsWith('src/') || f.startsWith('test/') || f.startsWith('node_modules/'))).toBe(false);
  });

  it('npx zt-ffmpeg --help, --version and policy validate work from the empty directory', async () => {
    const help = await npx(['--help']);
    expect(help.code, help.stderr).toBe(0);
    expect(help.stdout).toMatch(/^Usage: zt-ffmpeg/);
    const v = await npx(['--version']);
    expect(v.stdout.trim()).toBe(JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')).version);
    const val = await npx(['policy', 'validate', 'initial', 'advanced']);
    expect(val.code, val.stderr).toBe(0);
    expect(val.stderr).toContain(path.join(app, 'node_modules', 'zt-ffmpeg', 'policies', 'advanced.yaml'));
  });

  it('runs a real sandboxed job and verifies its audit log', async () => {
    const input = await makeSample(tmp, 'h264-aac.mp4');
    const out = path.join(tmp, 'out.mp4');
    const r = await npx(['--json', 'run', '-i', input, '-o', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ verdict: 'ok', exitCode: 0 });
    expect(existsSync(out)).toBe(true);
    const v = await npx(['audit', 'verify']);
    expect(v.code, v.stderr).toBe(0);
  });

  it('loads no module from outside the bundle: a module planted in a node_modules above the install never runs', async () => {
    // Node's module search climbs every directory above the installed bundle; one of them (here
    // the parent of the project, in real life a /tmp anyone can write) holds modules the
    // bundle's dependencies would look for. `debug`, which file-type's zip reader logs through,
    // looked for supports-color.
    const marker = path.join(tmp, 'planted-module-ran');
    for (const name of ['supports-color', 'has-flag', 'debug', 'ms']) {
      const dir = path.join(tmp, 'node_modules', name);
      await mkdir(dir, { recursive: true });
      await writeFile(path.join(dir, 'index.js'), `require('node:fs').appendFileSync(${JSON.stringify(marker)}, ${JSON.stringify(name + '\n')}); module.exports = {};\n`);
    }
    try {
      const input = await makeSample(tmp, 'h264-aac.mp4');
      const r = await npx(['--json', 'run', '-i', input, '-o', path.join(tmp, 'planted-out.mp4')]);
      expect(r.code, r.stderr).toBe(0);
      const c = await npx(['check', input]);
      expect(c.code, c.stderr).toBe(0);
      expect(existsSync(marker) ? await readFile(marker, 'utf8') : '').toBe('');
    } finally {
      await rm(path.join(tmp, 'node_modules'), { recursive: true, force: true });
    }
  });

  it('policy init writes a policy whose $schema line resolves to the installed schema, which validates it', async () => {
    const dir = path.join(tmp, 'deploy');
    await mkdir(dir);
    const r = await npx(['policy', 'init', '--stage', 'advanced', '--out', path.join(dir, 'policy.yaml')]);
    expect(r.code, r.stderr).toBe(0);
    const text = await readFile(path.join(dir, 'policy.yaml'), 'utf8');
    const ref = /^# yaml-language-server: \$schema=(\S+)$/m.exec(text)?.[1];
    expect(ref).toBeDefined();
    const schemaFile = path.resolve(dir, ref!);
    expect(schemaFile).toBe(path.join(app, 'node_modules', 'zt-ffmpeg', 'schema', 'policy.schema.json'));
    const validate = new Ajv({ strict: true, allErrors: true }).compile(JSON.parse(await readFile(schemaFile, 'utf8')) as object);
    expect(validate(parse(text)), JSON.stringify(validate.errors)).toBe(true);
    expect((await npx(['policy', 'validate', path.join(dir, 'policy.yaml')])).code).toBe(0);
  });

  it("import('zt-ffmpeg'): runJob, checkInputs, verifyAuditLog, loadPolicy return what --json prints; an AbortSignal is accepted", async () => {
    const input = await makeSample(tmp, 'h264-aac.mov');
    const evil = path.join(tmp, 'evil.mp4');
    await writeFile(evil, '#EXTM3U\n#EXTINF:1,\nfile:///etc/passwd\n');
    await writeFile(
      path.join(app, 'handler.mjs'),
      `import { runJob, checkInputs, verifyAuditLog, loadPolicy, ZtError, errorResult } from 'zt-ffmpeg';
const env = { HOME: ${JSON.stringify(env['HOME'])}, XDG_STATE_HOME: ${JSON.stringify(env['XDG_STATE_HOME'])}, XDG_CONFIG_HOME: ${JSON.stringify(env['XDG_CONFIG_HOME'])} };
const signal = new AbortController().signal;
const ok = await runJob({ input: ${JSON.stringify(input)}, output: ${JSON.stringify(path.join(tmp, 'lib.mp4'))}, env, signal });
const checked = await checkInputs([${JSON.stringify(evil)}], { env, signal });
const verified = await verifyAuditLog({ env, keys: [${JSON.stringify(path.join(env['XDG_CONFIG_HOME']!, 'zt-ffmpeg', 'audit.pub'))}] });
const policy = await loadPolicy('initial', { env });
let bad;
try { await loadPolicy(${JSON.stringify(evil)}, { env }); } catch (e) { bad = e instanceof ZtError ? errorResult('policy show', e) : String(e); }
process.stdout.write(JSON.stringify({ ok, checked, verified, policy: { command: policy.command, stage: policy.stage, hasPolicy: typeof policy.policy === 'object' }, bad }));
`,
    );
    const r = await exec(process.execPath, ['handler.mjs'], app, env);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as Record<string, Record<string, unknown>>;
    expect(j['ok']).toMatchObject({ schemaVersion: 1, command: 'run', verdict: 'ok', exitCode: 0 });
    expect(j['checked']).toMatchObject({ command: 'check', verdict: 'refused', exitCode: 3 });
    expect(j['verified']).toMatchObject({ command: 'audit verify', ok: true, exitCode: 0 });
    expect(j['policy']).toEqual({ command: 'policy show', stage: 'initial', hasPolicy: true });
    expect(j['bad']).toMatchObject({ exitCode: 9, reason: 'policy-invalid', verdict: 'refused' });
    // The same objects validate against the shipped output schema.
    const out = new Ajv({ strict: true, allErrors: true }).compile(JSON.parse(await readFile(path.join(app, 'node_modules', 'zt-ffmpeg', 'schema', 'output.schema.json'), 'utf8')) as object);
    for (const k of ['ok', 'checked', 'verified', 'bad']) expect(out(j[k]), `${k}: ${JSON.stringify(out.errors?.slice(0, 3))}`).toBe(true);
  });

  it('its types (.d.ts) type-check a consumer with tsc, skipLibCheck off', async () => {
    await writeFile(
      path.join(app, 'upload.ts'),
      `import { runJob, type RunResult, type Violation } from 'zt-ffmpeg';
export async function handle(file: string, signal: AbortSignal): Promise<readonly Violation[]> {
  const r: RunResult = await runJob({ input: file, output: file + '.mp4', signal });
  const code: 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 | 129 | 130 | 143 = r.exitCode;
  return code === 0 ? [] : r.violations;
}
`,
    );
    await writeFile(path.join(app, 'tsconfig.json'), JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: false, types: ['node'], typeRoots: [path.join(ROOT, 'node_modules', '@types')] }, files: ['upload.ts'] }));
    const r = await exec(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', app], app, env);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(await readdir(path.join(app, 'node_modules', 'zt-ffmpeg', 'dist'))).toContain('index.d.ts');
  });
});

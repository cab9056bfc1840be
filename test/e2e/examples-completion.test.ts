/** Shell completion and the man page come from the same command definitions as --help. */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { makeSandbox, ROOT, type Sandbox } from '../helpers/cli.js';

let sb: Sandbox;
let bashScript: string;

function sh(file: string, args: readonly string[], env: Record<string, string> = { PATH: '/usr/bin:/bin' }): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, [...args], { env, timeout: 30_000, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { code?: number | string }) | null;
      resolve({ code: e ? (typeof e.code === 'number' ? e.code : -1) : 0, stdout, stderr });
    });
  });
}

beforeAll(async () => {
  sb = await makeSandbox('zt-completion-');
  const r = await sb.run(['completion', 'bash']);
  expect(r.code, r.stderr).toBe(0);
  bashScript = path.join(sb.dir, 'zt-ffmpeg.bash');
  await writeFile(bashScript, r.stdout);
});

afterAll(async () => {
  await sb?.cleanup();
});

async function complete(words: string[]): Promise<string[]> {
  const arr = words.map((w) => `'${w}'`).join(' ');
  const script = `shopt -s extglob; source '${bashScript}'; COMP_WORDS=(${arr}); COMP_CWORD=${words.length - 1}; cd '${sb.dir}'; _zt_ffmpeg; printf '%s\\n' "\${COMPREPLY[@]}"`;
  const r = await sh('/bin/bash', ['--norc', '--noprofile', '-c', script]);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout.split('\n').filter((l) => l !== '');
}

describe('bash completion', () => {
  it('completes commands, subcommands and options', async () => {
    expect(await complete(['zt-ffmpeg', 'ba'])).toEqual(['batch']);
    expect(await complete(['zt-ffmpeg', 'policy', 'ex'])).toEqual(['explain']);
    expect(await complete(['zt-ffmpeg', 'policy', 'd'])).toEqual(['diff']);
    expect(await complete(['zt-ffmpeg', 'batch', '--fa'])).toEqual(['--fail-fast']);
    expect(await complete(['zt-ffmpeg', '--audit-log', 'x.log', 'au'])).toEqual(['audit']);
    expect(await complete(['zt-ffmpeg', 'audit', 'verify', '--key'])).toContain('--keyring');
    expect(await complete(['zt-ffmpeg', 'com'])).toEqual(['completion']);
  });
  it('completes file names for inputs and option values', async () => {
    await writeFile(path.join(sb.dir, 'upload-clip.mov'), '');
    expect(await complete(['zt-ffmpeg', 'batch', 'upload-'])).toContain('upload-clip.mov');
    expect(await complete(['zt-ffmpeg', 'run', '-i', 'upload-'])).toEqual(['upload-clip.mov']);
  });
});

describe('zsh completion', () => {
  it('defines a function per command', async () => {
    const r = await sb.run(['completion', 'zsh']);
    expect(r.code).toBe(0);
    expect(r.stdout.startsWith('#compdef zt-ffmpeg')).toBe(true);
    for (const f of ['_zt_ffmpeg_batch', '_zt_ffmpeg_policy_explain', '_zt_ffmpeg_policy_diff', '_zt_ffmpeg_audit_verify']) expect(r.stdout).toContain(`${f}() {`);
    expect(r.stdout).toContain("'--fail-fast[start no new job after the first that did not succeed]'");
  });
  it.skipIf(!existsSync('/usr/bin/zsh') && !existsSync('/bin/zsh'))('is valid zsh', async () => {
    const r = await sb.run(['completion', 'zsh']);
    const f = path.join(sb.dir, '_zt-ffmpeg');
    await writeFile(f, r.stdout);
    expect((await sh(existsSync('/usr/bin/zsh') ? '/usr/bin/zsh' : '/bin/zsh', ['-n', f])).code).toBe(0);
  });
  it('refuses other shells with a usage error', async () => {
    expect((await sb.run(['completion', 'fish'])).code).toBe(2);
  });
});

describe('man page', () => {
  it('is generated from the command definitions and is up to date', async () => {
    const r = await sh(process.execPath, [path.join(ROOT, 'scripts', 'gen-man.mjs'), '--check']);
    expect(r.code, r.stderr).toBe(0);
  });
  it('carries every command\'s --help text and the exit codes', async () => {
    const page = (await readFile(path.join(ROOT, 'man', 'zt-ffmpeg.1'), 'utf8')).replace(/\\-/g, '-').replace(/\\e/g, '\\').replace(/\\&/g, '');
    for (const cmd of [['batch'], ['policy', 'explain'], ['policy', 'diff'], ['completion'], ['run']]) {
      const help = await sb.run([...cmd, '--help']);
      expect(help.code).toBe(0);
      expect(page, cmd.join(' ')).toContain(help.stdout.trimEnd());
    }
    expect(page).toMatch(/\.SH EXIT STATUS[\s\S]*\.B 9\npolicy file invalid/);
  });
});

/** Shared fixtures for the audit tests: temp dirs, real Ed25519 keys, real logs. */
import { generateKeyPairSync } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { expect } from 'vitest';
import { ZtError } from '../../src/errors.js';
import { openAuditLog, type AppendResult, type AuditEvent } from '../../src/audit/index.js';
import { keyIdOf, type SigningKey } from '../../src/keys/index.js';

export async function makeTmpDir(prefix = 'zt-audit-'): Promise<string> {
  return fs.mkdtemp(join(tmpdir(), prefix));
}

export async function removeDir(dir: string): Promise<void> {
  await fs.rm(dir, { recursive: true, force: true });
}

/** A fresh in-memory Ed25519 signing key. */
export function memoryKey(label = 'memory'): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { keyId: keyIdOf(publicKey), privateKey, publicKey, path: label };
}

export function decision(jobId: string, extra: Record<string, unknown> = {}): AuditEvent {
  return {
    type: 'decision',
    jobId,
    verdict: 'allow',
    operation: 'h264-mp4',
    principal: { user: 'alice' },
    input: { sha256: 'ab'.repeat(32), path: `/in/${jobId}.mov` },
    ...extra,
  };
}

export function result(jobId: string, extra: Record<string, unknown> = {}): AuditEvent {
  return { type: 'result', jobId, ok: true, operation: 'h264-mp4', timings: { totalMs: 100 }, ...extra };
}

/** Append a decision and a result for each of `jobs` jobs; returns the append results in order. */
export async function buildLog(logPath: string, key: SigningKey, jobs: number, prefix = 'job'): Promise<AppendResult[]> {
  const w = await openAuditLog({ logPath, key });
  const out: AppendResult[] = [];
  try {
    for (let j = 0; j < jobs; j++) {
      out.push(await w.append(decision(`${prefix}-${j}`)));
      out.push(await w.append(result(`${prefix}-${j}`)));
    }
  } finally {
    await w.close();
  }
  return out;
}

/** Bundle test/helpers/audit-appender.ts (which imports src/audit) into one .mjs file in `outDir`. */
export async function bundleAppender(outDir: string): Promise<string> {
  const outfile = join(outDir, 'audit-appender.mjs');
  await build({
    entryPoints: [new URL('./audit-appender.ts', import.meta.url).pathname],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile,
    // As the real build does: bundled CommonJS dependencies (execa's) call require().
    banner: { js: "import { createRequire as __ztCreateRequire } from 'node:module'; const require = __ztCreateRequire(import.meta.url);" },
    logLevel: 'error',
  });
  return outfile;
}

/** Split a file into its lines, each keeping its "\n". */
export function splitLines(data: Buffer): Buffer[] {
  const lines: Buffer[] = [];
  let start = 0;
  for (;;) {
    const nl = data.indexOf(0x0a, start);
    if (nl === -1) break;
    lines.push(data.subarray(start, nl + 1));
    start = nl + 1;
  }
  if (start < data.length) lines.push(data.subarray(start));
  return lines;
}

/** The ZtError a promise rejects with (fails the test if it resolves or throws anything else). */
export async function rejection(p: Promise<unknown>): Promise<ZtError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(ZtError);
  return e as ZtError;
}

/** Permission bits of a path. */
export const mode = async (p: string): Promise<number> => (await fs.stat(p)).mode & 0o777;

import { mintToken } from '../../identity/mint.js';
import { loadTokenSigningKey } from '../../keys/index.js';
import { openInput, digestInput } from '../../inspect/file.js';
import { JSON_SCHEMA_VERSION } from '../render.js';
import type { CommandContext } from '../context.js';
import { EXIT, ZtError, type ExitCode } from '../../errors.js';

export interface MintFlags {
  readonly key: string;
  readonly issuer: string;
  readonly subject: string;
  readonly audience: string[];
  readonly ttl: string;
  readonly claim?: string[];
  readonly operation?: string;
  readonly input?: string;
  readonly inputSha256?: string;
  readonly jti?: string;
}

/** `zt-ffmpeg token mint`: a short-lived EdDSA token from a local key, for scripts and tests. */
export async function tokenMintCommand(ctx: CommandContext, f: MintFlags): Promise<ExitCode> {
  const key = await loadTokenSigningKey(f.key);
  const claims: Record<string, string> = {};
  for (const c of f.claim ?? []) {
    const i = c.indexOf('=');
    if (i <= 0) throw new ZtError('usage', `--claim takes NAME=VALUE, got "${c}"`, { hint: 'for example --claim repository=acme/app' });
    claims[c.slice(0, i)] = c.slice(i + 1);
  }
  let inputSha256 = f.inputSha256;
  if (f.input !== undefined) {
    const opened = await openInput(f.input, Number.MAX_SAFE_INTEGER);
    try {
      inputSha256 = (await digestInput(opened.handle, opened.stat.size)).sha256;
    } finally {
      await opened.handle.close();
    }
  }
  const ttlSeconds = Number(f.ttl);
  const token = await mintToken({
    privateKeyPem: key,
    issuer: f.issuer,
    subject: f.subject,
    audience: f.audience,
    ttlSeconds,
    claims,
    ...(f.operation !== undefined ? { operation: f.operation } : {}),
    ...(inputSha256 !== undefined ? { inputSha256 } : {}),
    ...(f.jti !== undefined ? { jti: f.jti } : {}),
  });
  if (ctx.io.json) ctx.io.emitJson({ schemaVersion: JSON_SCHEMA_VERSION, command: 'token mint', exitCode: EXIT.ok, token, ...(inputSha256 ? { inputSha256 } : {}) });
  else ctx.io.out(token);
  return EXIT.ok;
}

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { generateKeyPair, jwksFromPems } from '../../keys/index.js';
import { createFileExclusive } from '../../audit/durable-fs.js';
import { JSON_SCHEMA_VERSION } from '../render.js';
import type { CommandContext } from '../context.js';
import { EXIT, ZtError, type ExitCode } from '../../errors.js';

export interface KeygenFlags {
  readonly out: string;
  readonly name: string;
  /** Also write NAME.jwks.json, for a policy's identity.issuers[].jwksFile. */
  readonly jwks?: boolean;
}

/**
 * `zt-ffmpeg keygen`: an Ed25519 pair, and with --jwks its public half as a JWKS whose `kid` is
 * the key id `token mint` writes into the tokens it signs with the private half (one rule,
 * keyIdOf), so the issuer of the optimal stage needs no hand conversion.
 */
export async function keygenCommand(ctx: CommandContext, flags: KeygenFlags): Promise<ExitCode> {
  const k = await generateKeyPair(flags.out, flags.name);
  let jwksPath: string | undefined;
  if (flags.jwks === true) {
    jwksPath = path.join(flags.out, `${flags.name}.jwks.json`);
    const jwks = jwksFromPems([await readFile(k.publicKeyPath, 'utf8')]);
    if (!(await createFileExclusive(jwksPath, JSON.stringify(jwks, null, 2) + '\n', 0o644))) {
      throw new ZtError('usage', `refusing to overwrite the existing file ${jwksPath}`, { hint: 'choose another --out directory or --name' });
    }
  }
  if (ctx.io.json) ctx.io.emitJson({ schemaVersion: JSON_SCHEMA_VERSION, command: 'keygen', exitCode: EXIT.ok, ...k, ...(jwksPath ? { jwksPath } : {}) });
  else {
    ctx.io.info(`${ctx.io.style.green('✓')} key ${k.keyId}`);
    ctx.io.info(`  private: ${k.privateKeyPath} (mode 0600: keep it secret)`);
    ctx.io.info(`  public:  ${k.publicKeyPath} (give it to whoever verifies what it signs)`);
    if (jwksPath) ctx.io.info(`  JWKS:    ${jwksPath} (kid ${k.keyId}; name it in identity.issuers[].jwksFile)`);
  }
  return EXIT.ok;
}

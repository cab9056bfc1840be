import { generateKeyPair } from '../../keys/index.js';
import { JSON_SCHEMA_VERSION } from '../render.js';
import type { CommandContext } from '../context.js';
import { EXIT, type ExitCode } from '../../errors.js';

export async function keygenCommand(ctx: CommandContext, outDir: string): Promise<ExitCode> {
  const k = await generateKeyPair(outDir);
  if (ctx.io.json) ctx.io.emitJson({ schemaVersion: JSON_SCHEMA_VERSION, command: 'keygen', ...k });
  else {
    ctx.io.info(`${ctx.io.style.green('✓')} key ${k.keyId}`);
    ctx.io.info(`  private: ${k.privateKeyPath} (mode 0600: keep it secret)`);
    ctx.io.info(`  public:  ${k.publicKeyPath} (give it to whoever verifies the audit log)`);
  }
  return EXIT.ok;
}

/**
 * The one request resolver: global flags, command flags and the allow-listed environment →
 * the typed JobSettings every command uses (run, check, batch, doctor, policy). Precedence is
 * the same everywhere: a flag over its environment variable over the default.
 */
import { readTokenInput } from '../identity/token-input.js';
import { statePaths } from '../util/paths.js';
import type { JobSettings } from '../job/settings.js';
import type { CommandContext } from './context.js';

export interface SettingsFlags {
  /** -p/--policy of the command. */
  readonly policy?: string;
  readonly token?: string;
  readonly tokenFile?: string;
}

/** Resolve without reading a token (commands that take none). */
export function resolveBaseSettings(ctx: CommandContext, flags: SettingsFlags = {}): JobSettings {
  const env = ctx.env;
  return {
    policy: {
      ref: flags.policy ?? env['ZT_FFMPEG_POLICY'],
      keyring: ctx.flags.policyKeyring ?? env['ZT_FFMPEG_POLICY_KEYRING'],
    },
    paths: statePaths(env, { ...(ctx.flags.auditLog ? { auditLog: ctx.flags.auditLog } : {}), ...(ctx.flags.auditKey ? { auditKey: ctx.flags.auditKey } : {}) }),
    token: undefined,
    env,
  };
}

/** Resolve everything, the presented token included (--token, --token-file, ZT_FFMPEG_TOKEN). */
export async function resolveSettings(ctx: CommandContext, flags: SettingsFlags = {}): Promise<JobSettings> {
  const token = await readTokenInput({
    ...(flags.token !== undefined ? { flag: flags.token } : {}),
    ...(flags.tokenFile !== undefined ? { file: flags.tokenFile } : {}),
    ...(ctx.env['ZT_FFMPEG_TOKEN'] !== undefined ? { env: ctx.env['ZT_FFMPEG_TOKEN'] } : {}),
  });
  return { ...resolveBaseSettings(ctx, flags), token };
}

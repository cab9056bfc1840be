/**
 * The one request resolver: global flags, command flags and the allow-listed environment →
 * the typed JobSettings every command uses (run, check, batch, doctor, policy). Precedence is
 * the same everywhere: a flag over its environment variable over the default. The library's
 * options resolve through the same code (src/api/options.ts).
 */
import { baseSettingsOf, settingsOf, type CommonOptions } from '../api/options.js';
import type { JobSettings } from '../job/settings.js';
import type { CommandContext } from './context.js';

export interface SettingsFlags {
  /** -p/--policy of the command. */
  readonly policy?: string;
  readonly token?: string;
  readonly tokenFile?: string;
}

function optionsOf(ctx: CommandContext, flags: SettingsFlags): CommonOptions {
  return {
    ...(flags.policy !== undefined ? { policy: flags.policy } : {}),
    ...(ctx.flags.policyKeyring !== undefined ? { policyKeyring: ctx.flags.policyKeyring } : {}),
    ...(ctx.flags.auditLog ? { auditLog: ctx.flags.auditLog } : {}),
    ...(ctx.flags.auditKey ? { auditKey: ctx.flags.auditKey } : {}),
    env: ctx.env,
  };
}

/** Resolve without reading a token (commands that take none). */
export function resolveBaseSettings(ctx: CommandContext, flags: SettingsFlags = {}): JobSettings {
  return baseSettingsOf(optionsOf(ctx, flags));
}

/** Resolve everything, the presented token included (--token, --token-file, ZT_FFMPEG_TOKEN). */
export async function resolveSettings(ctx: CommandContext, flags: SettingsFlags = {}): Promise<JobSettings> {
  return settingsOf({ ...optionsOf(ctx, flags), ...(flags.token !== undefined ? { token: flags.token } : {}), ...(flags.tokenFile !== undefined ? { tokenFile: flags.tokenFile } : {}) });
}

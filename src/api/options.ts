/**
 * What a library caller passes instead of flags and environment variables, resolved into the
 * same JobSettings the CLI resolves (src/cli/settings.ts), with the same defaults: the bundled
 * advanced policy, the audit log under $XDG_STATE_HOME/zt-ffmpeg/, the key under
 * $XDG_CONFIG_HOME/zt-ffmpeg/.
 */
import { readTokenInput } from '../identity/token-input.js';
import { allowListedEnv, statePaths, type Env } from '../util/paths.js';
import type { JobSettings } from '../job/settings.js';

export interface CommonOptions {
  /** A policy file or a bundled stage name (initial, advanced, optimal). Default: advanced. */
  readonly policy?: string;
  /** Directory of trusted *.pub keys: every policy must then carry a valid signature by one of them. */
  readonly policyKeyring?: string;
  /** The audit log. Default: $XDG_STATE_HOME/zt-ffmpeg/audit.log. */
  readonly auditLog?: string;
  /** The audit signing key. Default: $XDG_CONFIG_HOME/zt-ffmpeg/audit.key. */
  readonly auditKey?: string;
  /**
   * The environment to take defaults and CI facts from; only zt-ffmpeg's allow-listed variables
   * are read. Default: process.env. Pass `{}` to ignore the process's environment.
   */
  readonly env?: NodeJS.ProcessEnv;
  /** Cancels the work: no new job starts, and a running job is stopped and recorded as such. */
  readonly signal?: AbortSignal;
}

export interface TokenOptions {
  /** The caller's signed token (JWT), where the policy asks for one. Never recorded. */
  readonly token?: string;
  /** A file holding the token (not together with `token`). */
  readonly tokenFile?: string;
}

function envOf(o: CommonOptions): Env {
  return allowListedEnv(o.env ?? process.env);
}

/** Settings without a token (check, doctor, policy). */
export function baseSettingsOf(o: CommonOptions): JobSettings {
  const env = envOf(o);
  return {
    policy: { ref: o.policy ?? env['ZT_FFMPEG_POLICY'], keyring: o.policyKeyring ?? env['ZT_FFMPEG_POLICY_KEYRING'] },
    paths: statePaths(env, { ...(o.auditLog ? { auditLog: o.auditLog } : {}), ...(o.auditKey ? { auditKey: o.auditKey } : {}) }),
    token: undefined,
    env,
  };
}

/** Settings with the token: the option, else ZT_FFMPEG_TOKEN from the given environment. */
export async function settingsOf(o: CommonOptions & TokenOptions): Promise<JobSettings> {
  const base = baseSettingsOf(o);
  const token = await readTokenInput({
    ...(o.token !== undefined ? { flag: o.token } : {}),
    ...(o.tokenFile !== undefined ? { file: o.tokenFile } : {}),
    ...(base.env['ZT_FFMPEG_TOKEN'] !== undefined ? { env: base.env['ZT_FFMPEG_TOKEN'] } : {}),
  });
  return { ...base, token };
}

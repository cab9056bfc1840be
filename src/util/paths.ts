/**
 * Where state lives, from allow-listed environment variables only: the audit log under
 * $XDG_STATE_HOME/zt-ffmpeg/, the signing key under $XDG_CONFIG_HOME/zt-ffmpeg/.
 */
import path from 'node:path';
import os from 'node:os';

export type Env = Readonly<Record<string, string | undefined>>;

/** The only environment variables zt-ffmpeg reads. */
export const ENV_ALLOW_LIST = [
  'ZT_FFMPEG_POLICY', 'ZT_FFMPEG_POLICY_KEYRING', 'ZT_FFMPEG_AUDIT_LOG', 'ZT_FFMPEG_AUDIT_KEY', 'ZT_FFMPEG_TOKEN', 'NO_COLOR', 'FORCE_COLOR',
  'XDG_STATE_HOME', 'XDG_CONFIG_HOME', 'HOME', 'CI',
  'GITHUB_ACTIONS', 'GITHUB_REPOSITORY', 'GITHUB_REF', 'GITHUB_WORKFLOW', 'GITHUB_RUN_ID', 'GITHUB_SHA', 'GITHUB_ACTOR',
  'GITLAB_CI', 'CI_PROJECT_PATH', 'CI_COMMIT_REF_NAME', 'CI_PIPELINE_ID', 'CI_JOB_ID', 'CI_COMMIT_SHA', 'GITLAB_USER_LOGIN',
] as const;

export function allowListedEnv(env: NodeJS.ProcessEnv): Env {
  const out: Record<string, string> = {};
  for (const k of ENV_ALLOW_LIST) {
    const v = env[k];
    if (v !== undefined) out[k] = v;
  }
  return out;
}

export interface StatePaths {
  readonly stateDir: string;
  readonly configDir: string;
  readonly auditLog: string;
  readonly auditKey: string;
  readonly postureCache: string;
}

export function statePaths(env: Env, overrides: { auditLog?: string; auditKey?: string } = {}): StatePaths {
  const home = env['HOME'] || os.homedir();
  const stateHome = env['XDG_STATE_HOME'] || path.join(home, '.local', 'state');
  const configHome = env['XDG_CONFIG_HOME'] || path.join(home, '.config');
  const stateDir = path.join(stateHome, 'zt-ffmpeg');
  const configDir = path.join(configHome, 'zt-ffmpeg');
  return {
    stateDir,
    configDir,
    auditLog: path.resolve(overrides.auditLog ?? env['ZT_FFMPEG_AUDIT_LOG'] ?? path.join(stateDir, 'audit.log')),
    auditKey: path.resolve(overrides.auditKey ?? env['ZT_FFMPEG_AUDIT_KEY'] ?? path.join(configDir, 'audit.key')),
    postureCache: path.join(stateDir, 'posture-cache.json'),
  };
}

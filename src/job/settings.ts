/**
 * Everything a job takes from its invocation rather than from its request: where the policy
 * and its trust root come from, where the audit log and its key live, the presented token and
 * the allow-listed environment. Resolved once, by the CLI's composition root
 * (src/cli/settings.ts) or by a library caller, and handed to run, check, batch and doctor
 * alike, so no command can forget one of them.
 */
import type { TokenInput } from '../identity/token-input.js';
import type { Env, StatePaths } from '../util/paths.js';

export interface PolicySource {
  /** A bundled stage name or a path; undefined means the bundled default. */
  readonly ref: string | undefined;
  /** Trusted keys for the policy signature, from outside the policy. */
  readonly keyring: string | undefined;
}

export interface JobSettings {
  readonly policy: PolicySource;
  readonly paths: StatePaths;
  readonly token: TokenInput | undefined;
  /** The allow-listed environment (CI variables are recorded from it, never trusted). */
  readonly env: Env;
}

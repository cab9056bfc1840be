/** What every command handler gets: the I/O, the allow-listed environment and global flags. */
import type { CliIo } from './io.js';
import type { Env } from '../util/paths.js';

export interface GlobalFlags {
  readonly json: boolean;
  readonly quiet: boolean;
  readonly color: boolean;
  readonly auditLog?: string;
  readonly auditKey?: string;
  readonly policyKeyring?: string;
}

export interface CommandContext {
  readonly io: CliIo;
  readonly env: Env;
  readonly flags: GlobalFlags;
  /**
   * A command that runs jobs takes this signal and honours it (kills the sandboxed tree, writes
   * an `interrupted` result, publishes nothing): SIGINT, SIGTERM and SIGHUP then abort it, with
   * the signal's name as the reason. Any other command is simply ended by those signals.
   */
  cancellation(): AbortSignal;
}

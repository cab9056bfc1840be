/**
 * The composition root: flags → typed requests → pipeline → rendered outcome → exit code.
 * It holds no rules. Expected failures arrive as ZtError and map to their exit code; anything
 * else is a bug, reported as an internal error with the version.
 */
import { CommanderError } from 'commander';
import { buildProgram, type Handler } from './program.js';
import { EXIT, isZtError, type ExitCode } from '../errors.js';
import { VERSION } from '../version.js';
import { allowListedEnv } from '../util/paths.js';
import { closeInheritedDescriptors } from '../util/inherited-fds.js';
import { colorWanted, makeStyle } from './style.js';
import { makeIo, type CliIo } from './io.js';
import { guardStreams, writeErr } from './streams.js';
import { renderError, errorJson } from './render.js';
import type { GlobalFlags } from './context.js';

export async function main(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<ExitCode> {
  // Nothing this process inherited beyond stdio may reach the sandbox (see inherited-fds.ts).
  closeInheritedDescriptors();
  guardStreams();
  const safeEnv = allowListedEnv(env);
  let pending: Handler | undefined;
  const program = buildProgram((h) => {
    pending = h;
  });

  const wantsJson = argv.includes('--json');
  const fallbackIo = (): CliIo => {
    const noColor = argv.includes('--no-color');
    return makeIo({ json: wantsJson, quiet: false, style: makeStyle({ color: colorWanted(safeEnv, noColor, process.stderr.isTTY === true) }), isTty: process.stderr.isTTY === true });
  };
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return EXIT.ok;
      if (wantsJson) fallbackIo().emitJson({ schemaVersion: 1, verdict: 'failed', exitCode: EXIT.usage, reason: 'usage', message: e.message });
      writeErr('run `zt-ffmpeg --help` for usage\n');
      return EXIT.usage;
    }
    throw e;
  }
  if (!pending) {
    program.outputHelp({ error: true });
    return EXIT.usage;
  }
  const g = program.opts<{ json?: boolean; auditLog?: string; auditKey?: string; policyKeyring?: string; quiet?: boolean; color?: boolean }>();
  const flags: GlobalFlags = {
    json: g.json === true,
    quiet: g.quiet === true,
    color: colorWanted(safeEnv, g.color === false, process.stderr.isTTY === true),
    ...(g.auditLog ? { auditLog: g.auditLog } : {}),
    ...(g.auditKey ? { auditKey: g.auditKey } : {}),
    ...(g.policyKeyring ? { policyKeyring: g.policyKeyring } : {}),
  };
  const io = makeIo({ json: flags.json, quiet: flags.quiet, style: makeStyle({ color: flags.color }), isTty: process.stderr.isTTY === true });
  const cancel = onSignals();
  try {
    return await pending({ io, env: safeEnv, flags, cancellation: cancel.take });
  } catch (e) {
    if (isZtError(e)) {
      if (io.json) io.emitJson(errorJson(program.args[0] ?? 'zt-ffmpeg', e));
      else renderError(io, e);
      return e.exitCode;
    }
    const msg = e instanceof Error ? (e.stack ?? e.message) : String(e);
    if (io.json) io.emitJson({ schemaVersion: 1, verdict: 'failed', exitCode: EXIT.internal, reason: 'internal', message: `internal error: ${e instanceof Error ? e.message : String(e)}` });
    io.error(`zt-ffmpeg ${VERSION}: internal error, please report it:\n${msg}`);
    return EXIT.internal;
  } finally {
    cancel.dispose();
  }
}

const SIGNALS = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 } as const;

/**
 * SIGINT, SIGTERM and SIGHUP: a command that took the signal (run, check, batch) is aborted and
 * ends itself cleanly (exit 130, 143, 129); a second signal, or one to a command that runs no
 * job, ends the process at once with the same status.
 */
function onSignals(): { take: () => AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  let taken = false;
  const handler = (sig: NodeJS.Signals): void => {
    const code = 128 + (SIGNALS[sig as keyof typeof SIGNALS] ?? 2);
    if (!taken || controller.signal.aborted) process.exit(code);
    controller.abort(sig);
  };
  for (const s of Object.keys(SIGNALS)) process.on(s, handler);
  return {
    take: () => {
      taken = true;
      return controller.signal;
    },
    dispose: () => {
      for (const s of Object.keys(SIGNALS)) process.off(s, handler);
    },
  };
}


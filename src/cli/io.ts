/** Where output goes: exactly one JSON object on stdout with --json; human text on stderr. */
import type { Style } from './style.js';
import { writeErr, writeOut } from './streams.js';

export interface CliIo {
  readonly json: boolean;
  readonly quiet: boolean;
  readonly style: Style;
  readonly isTty: boolean;
  /** Human output (stderr). Suppressed by --quiet except errors. */
  info(line: string): void;
  error(line: string): void;
  /** The one JSON document of --json (stdout). */
  emitJson(value: unknown): void;
  /** Plain data a command prints on stdout (e.g. `policy schema`, `audit show`). */
  out(text: string): void;
  /** Overwrite the current stderr line (progress bar on a TTY). */
  progress(line: string | undefined): void;
}

export function makeIo(opts: { json: boolean; quiet: boolean; style: Style; isTty: boolean }): CliIo {
  let progressShown = false;
  const clear = (): void => {
    if (progressShown) {
      writeErr('\r\x1b[2K');
      progressShown = false;
    }
  };
  return {
    ...opts,
    info(line) {
      if (opts.quiet) return;
      clear();
      writeErr(line + '\n');
    },
    error(line) {
      clear();
      writeErr(line + '\n');
    },
    emitJson(value) {
      writeOut(JSON.stringify(value, null, 2) + '\n');
    },
    out(text) {
      writeOut(text.endsWith('\n') ? text : text + '\n');
    },
    progress(line) {
      if (opts.quiet || opts.json || !opts.isTty) return;
      if (line === undefined) return clear();
      writeErr('\r\x1b[2K' + line);
      progressShown = true;
    },
  };
}

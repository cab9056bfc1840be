/**
 * The one place that imports chalk. Colour only when stderr is a TTY and NO_COLOR is unset
 * (and never with --no-color).
 */
import { Chalk, type ChalkInstance } from 'chalk';

export interface Style {
  readonly red: (s: string) => string;
  readonly yellow: (s: string) => string;
  readonly green: (s: string) => string;
  readonly dim: (s: string) => string;
  readonly bold: (s: string) => string;
  readonly cyan: (s: string) => string;
}

export function makeStyle(opts: { color: boolean }): Style {
  const c: ChalkInstance = new Chalk({ level: opts.color ? 1 : 0 });
  return { red: c.red, yellow: c.yellow, green: c.green, dim: c.dim, bold: c.bold, cyan: c.cyan };
}

export function colorWanted(env: Readonly<Record<string, string | undefined>>, noColorFlag: boolean, isTty: boolean): boolean {
  if (noColorFlag) return false;
  if (env['NO_COLOR'] !== undefined && env['NO_COLOR'] !== '') return false;
  return isTty;
}

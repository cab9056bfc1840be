/**
 * How the firewall words a violation: which argument it is about, a bounded
 * rendering of hostile text, and the hints that say what to do next. Shared
 * by the scanner, the value grammar and the filter checks so that the same
 * kind of refusal reads the same wherever it comes from.
 */
import type { Violation } from '../../errors.js';
import type { FirewallRuleId } from './rule-ids.js';
import type { ArgRef } from './types.js';

export const HINT_POLICY = 'use a named operation (--operation) or ask for the policy to allow it';
export const HINT_NEVER =
  'zt-ffmpeg refuses this whatever the policy says; use a named operation (--operation) that does what you need';
export const HINT_WRAPPER = 'leave it out: zt-ffmpeg sets this itself';
export const HINT_OUTPUT = 'give the one output with -o; passthrough arguments may only be options';

export function ref(index: number, arg: string, value?: string): ArgRef {
  return value === undefined ? { index, arg } : { index, arg, value };
}

/** Printable, bounded rendering of hostile strings for messages. */
export function show(s: string): string {
  const clipped = s.length > 120 ? `${s.slice(0, 120)}…` : s;
  return JSON.stringify(clipped).slice(1, -1);
}

/** An allow-list for a message: the names, or "none" for an empty one. */
export function list(xs: readonly string[]): string {
  return xs.length === 0 ? 'none' : xs.join(', ');
}

/** Something the policy's allow-list does not name; the limit is that allow-list. */
export function notInPolicy(rule: FirewallRuleId, actual: ArgRef, allowed: readonly string[], message: string): Violation {
  return { rule, actual, limit: [...allowed], message, hint: HINT_POLICY };
}

/** Something refused whatever the policy says (a fixed denial). */
export function neverAllowed(rule: FirewallRuleId, actual: ArgRef, message: string, hint: string = HINT_NEVER): Violation {
  return { rule, actual, limit: 'never allowed', message, hint };
}

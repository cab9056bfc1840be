/**
 * Parsers for flag values that have a fixed set or shape, checked when the command line is
 * parsed (exit 2, usage) rather than silently matching nothing later: `audit show --verdict
 * denied` would otherwise list no records and say nothing.
 */
import { InvalidArgumentError } from 'commander';
import { suggest } from '../util/suggest.js';

/** One of `choices`; a near miss gets a "did you mean". */
export function oneOf(choices: readonly string[]): (value: string) => string {
  return (value) => {
    if (choices.includes(value)) return value;
    const near = suggest(value, choices);
    throw new InvalidArgumentError(`expected one of ${choices.join(', ')}${near ? `; did you mean "${near}"?` : ''}`);
  };
}

/** A whole number from 1 to max. */
export function positiveInt(max = Number.MAX_SAFE_INTEGER): (value: string) => string {
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1 || n > max) throw new InvalidArgumentError(`expected a whole number from 1 to ${max}`);
    return value;
  };
}

/** An ISO 8601 date or time (what audit records carry). */
export function isoTime(value: string): string {
  if (!/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(value) || Number.isNaN(Date.parse(value))) {
    throw new InvalidArgumentError('expected an ISO 8601 time, e.g. 2025-06-01 or 2025-06-01T12:00:00Z');
  }
  return value;
}

/** A sha256 digest in hex (the filter compares whole digests). */
export function sha256Hex(value: string): string {
  if (!/^[0-9a-f]{64}$/.test(value)) throw new InvalidArgumentError('expected a sha256 digest: 64 lowercase hex digits');
  return value;
}

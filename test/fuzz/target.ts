/**
 * A fuzz target: one host-side parser, a generator of hostile inputs for it, and the invariants
 * checked on every input (only typed errors; bounded reads; oracles where the answer is known).
 * Time and memory budgets are checked by the engine around `check`.
 */
import type { Rng } from './rng.js';

export interface Finding {
  /** crash (an untyped exception), bypass (an oracle failed), bound (reads or memory), slow, shape. */
  readonly kind: 'crash' | 'bypass' | 'bound' | 'slow' | 'memory' | 'shape';
  readonly message: string;
}

export interface Target<I> {
  readonly name: string;
  /** The parser's source files, for the coverage report. */
  readonly sources: readonly string[];
  /** Extension of the corpus files. */
  readonly ext: string;
  setup?(): Promise<void>;
  generate(rng: Rng): Promise<I> | I;
  /** Run the parser on `input` and check every invariant. */
  check(input: I): Promise<Finding | undefined>;
  /** Milliseconds one check may take (checked by the engine, confirmed by re-running). */
  budgetMs(input: I): number;
  encode(input: I): Buffer;
  decode(bytes: Buffer): I;
  teardown?(): Promise<void>;
}

/** An untyped exception, described for a finding. */
export function crash(where: string, e: unknown): Finding {
  const name = e instanceof Error ? e.constructor.name : typeof e;
  const msg = e instanceof Error ? e.message : String(e);
  return { kind: 'crash', message: `${where} threw ${name}: ${msg.slice(0, 300)}` };
}

/** Corpus files with a JSON header line, then raw bytes. */
export function withHeader(header: Record<string, unknown>, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${JSON.stringify(header)}\n`), body]);
}

export function splitHeader(bytes: Buffer): { header: Record<string, unknown>; body: Buffer } {
  const nl = bytes.indexOf(0x0a);
  if (nl < 0) return { header: {}, body: bytes };
  return { header: JSON.parse(bytes.subarray(0, nl).toString('utf8')) as Record<string, unknown>, body: bytes.subarray(nl + 1) };
}

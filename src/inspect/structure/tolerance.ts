/**
 * Tolerances: named decisions to accept a specific thing real writers do that the strict framing
 * rules would refuse. Each is a decision point inside one walker (the walker calls
 * `ctx.tolerate(name, ...)` exactly where the strict rule would refuse); an accepted quirk is
 * recorded in the report, so the audit record says which tolerance let a file through.
 *
 * A tolerance must never accept bytes whose place in the file is unproven: it may accept an
 * imprecise header field only where the bytes around it still tile the file exactly.
 * New ones go here, with the walker that asks for them and a test with a file from the writer.
 */
export const TOLERANCES = {
  /** Zero or 0xFF padding after a JPEG's end-of-image marker (cameras pad to a block size). */
  'jpeg-padding-after-eoi': 'zero or 0xFF padding (up to 1 MiB) after the JPEG end-of-image marker',
  /** QuickTime's optional 32-bit zero that ends a user-data (udta) list. */
  'isobmff-udta-zero-terminator': 'the 4 zero bytes QuickTime allows at the end of a udta box',
  /** RIFF and data sizes left as placeholders by a writer streaming to a pipe (sox, lame); see riff-tolerance.ts. */
  'riff-streaming-placeholder': 'placeholder RIFF/data sizes of a WAV written to a pipe, the data chunk last and running to the end of the file',
  /** A RIFF size that leaves out exactly one complete chunk (a fact chunk its writer forgot to count). */
  'riff-size-off-by-one-chunk': 'a RIFF size short by exactly one complete chunk, every chunk complete and nothing after them',
} as const;

export type ToleranceName = keyof typeof TOLERANCES;

export type Tolerances = ReadonlySet<ToleranceName>;

/** The tolerances every walk applies unless the caller passes its own set. */
export const DEFAULT_TOLERANCES: Tolerances = new Set(Object.keys(TOLERANCES) as ToleranceName[]);

/**
 * Size bounds on passthrough arguments. They keep hostile input from costing
 * the checks (or ffmpeg) unbounded work; ordinary command lines stay far below.
 * The filtergraph bound lives with its parser (filtergraph.ts).
 */
export const MAX_ARGS = 256;
export const MAX_ARG_LENGTH = 4096;
export const MAX_METADATA_VALUE_LENGTH = 1024;
/** Upper bound for -threads when the context names none. */
export const DEFAULT_MAX_THREADS = 16;

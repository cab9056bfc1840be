/**
 * The rule ids the inspection of an input puts into Violation.rule (src/inspect/). Most are the
 * policy field that set the limit (`input.maxWidth`); the others name the check (`input.magic`).
 * The strings are part of the product (--json, the audit log, scripts): change one only as a
 * breaking change.
 */
export const INPUT_RULES = [
  // the file itself (file.ts)
  'input.exists', 'input.regular-file', 'input.empty', 'input.maxBytes', 'input.unchanged',
  // magic bytes (magic.ts)
  'input.magic', 'input.magic-extension', 'input.magic-format',
  // the container's own framing and smuggled markers (rules.ts, structure.ts)
  'input.structure', 'input.structure.unverified', 'input.embedded-playlist', 'input.dimensions',
  // the sandboxed probe (inspect-input.ts) and what it found (rules.ts)
  'input.probe', 'input.probe.limit', 'input.probe.timeout', 'input.probe.json', 'input.probe.errors', 'input.probe.metadata',
  'input.format', 'input.streams', 'input.maxStreams', 'input.streamType', 'input.codecs',
  'input.allowAttachments', 'input.allowDataStreams', 'input.unusedStreams',
  'input.maxWidth', 'input.maxHeight', 'input.maxPixels', 'input.maxFrameRate', 'input.maxSampleRate', 'input.maxChannels',
  'input.maxDurationSeconds', 'input.maxBitrate', 'input.maxMetadataEntries', 'input.maxMetadataBytes',
  // decoding every stream (the deep check)
  'input.deepCheck',
] as const;

export type StreamKind = 'video' | 'audio' | 'subtitle';

export type InputRuleId = (typeof INPUT_RULES)[number] | `input.codecs.${StreamKind}`;

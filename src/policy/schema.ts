/**
 * The JSON Schema of a policy file. It ships with the package (schema/policy.schema.json,
 * generated at build time) and is compiled to a standalone validator at build time, so no
 * schema is ever compiled while a job runs.
 */
import { identitySchema, authorizationSchema } from '../identity/schema.js';
import { STREAM_KINDS, UNUSED_STREAM_ACTIONS } from './types.js';

type JsonSchema = Record<string, unknown>;

const str = (description: string): JsonSchema => ({ type: 'string', minLength: 1, description });
const bool = (description: string): JsonSchema => ({ type: 'boolean', description });
const posInt = (description: string, maximum?: number): JsonSchema => ({
  type: 'integer',
  minimum: 1,
  ...(maximum === undefined ? {} : { maximum }),
  description,
});
const posNum = (description: string): JsonSchema => ({ type: 'number', exclusiveMinimum: 0, description });
const strList = (description: string): JsonSchema => ({
  type: 'array',
  items: { type: 'string', minLength: 1 },
  uniqueItems: true,
  description,
});
const obj = (description: string, properties: Record<string, JsonSchema>, optional: string[] = []): JsonSchema => ({
  type: 'object',
  description,
  additionalProperties: false,
  properties,
  required: Object.keys(properties).filter((k) => !optional.includes(k)),
});

const binaryRule = obj(
  'Where a binary must be and what it must be.',
  {
    path: str('Absolute path; when absent the binary is looked up in /usr/bin, /usr/local/bin, /bin.'),
    minVersion: { type: 'string', pattern: '^[0-9]+(\\.[0-9]+){0,2}$', description: 'Lowest accepted version, e.g. "5.1".' },
    sha256: { type: 'string', pattern: '^[0-9a-f]{64}$', description: 'Pinned sha256 of the binary (zt-ffmpeg policy pin fills it).' },
  },
  ['path', 'minVersion', 'sha256'],
);

const operationTarget = obj(
  'How one output extension is produced: a vetted argument template.',
  {
    format: str('The ffmpeg muxer forced with -f.'),
    args: { type: 'array', items: { type: 'string' }, description: 'ffmpeg output arguments, without -i, -f or the output path.' },
    expect: obj(
      'What the output must contain: checked from its container on the host, or by a sandboxed ffprobe where no reader states every fact.',
      {
        formats: strList('Accepted ffprobe format names of the output.'),
        video: strList('Accepted video codecs of the output.'),
        audio: strList('Accepted audio codecs of the output.'),
      },
      ['video', 'audio'],
    ),
    still: bool('The output is one still image: no duration is compared.'),
    durationFactor: posNum('How much longer than the input this output may legitimately be (default 1): its duration budget is input × factor + output.durationToleranceSeconds.'),
  },
  ['still', 'durationFactor'],
);

export const policySchema: JsonSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'https://zt-ffmpeg.dev/schema/policy.schema.json',
  title: 'zt-ffmpeg policy',
  description: 'A Zero Trust maturity-stage policy for running FFmpeg on untrusted media.',
  type: 'object',
  additionalProperties: false,
  required: [
    'apiVersion', 'stage', 'mode', 'identity', 'authorization', 'posture', 'sandbox', 'limits',
    'budget', 'input', 'output', 'operations', 'firewall', 'monitor', 'audit', 'signature',
  ],
  properties: {
    apiVersion: { const: 'zt-ffmpeg/v1', description: 'Policy format version. Must be "zt-ffmpeg/v1".' },
    stage: { enum: ['initial', 'advanced', 'optimal'], description: 'CISA ZTMM v2 maturity stage this policy claims.' },
    mode: {
      enum: ['enforce', 'warn', 'audit'],
      description: 'enforce refuses; warn runs but prints and records what would be refused; audit runs and records.',
    },
    description: { type: 'string', description: 'Free text for humans.' },
    extends: str('A bundled stage (initial, advanced, optimal) this policy starts from; it may only tighten it.'),
    allowLoosening: bool('With extends: allow rules looser than the bundled stage (each one is still reported by `policy diff`).'),
    identity: identitySchema,
    authorization: authorizationSchema,
    posture: obj('Devices pillar: the binaries the job trusts.', {
      binaries: obj('Per-binary rules.', { ffmpeg: binaryRule, ffprobe: binaryRule, bwrap: binaryRule }),
      requireRootOwned: bool('Refuse binaries not owned by root or writable by group/others.'),
    }),
    sandbox: obj('Applications & workloads pillar: the sandbox every decoder runs in.', {
      required: bool('false permits degraded mode without bubblewrap (initial stage only; recorded in the audit log).'),
      seccomp: { enum: ['default', 'strict', 'none'], description: 'Seccomp profile: default (deny-list), strict (allow-list), none.' },
      tmpfsMiB: posInt('Size in MiB of each writable tmpfs inside the sandbox: /tmp and /dev/shm.', 4096),
      grants: obj('Capabilities granted to the sandbox; none by default.', {
        fonts: bool('Bind system fonts read-only (drawtext, subtitle burn-in).'),
        gpu: bool('Bind /dev/dri render nodes for hardware encoders.'),
      }),
      user: {
        type: 'string',
        pattern: '^(?!root$)(?!0+$)([a-z_][a-z0-9_-]{0,31}|[1-9][0-9]{0,9})$',
        description: 'Host user (name or uid) the sandbox runs as when zt-ffmpeg runs as root; never root. Default "zt-ffmpeg" (created by setup.sh). As any other user the sandbox runs as the caller.',
      },
    }, ['user']),
    limits: obj('Resource limits of every sandboxed process; a breach kills the tree (exit 5).', {
      wallSeconds: posInt('Wall-clock limit of the transcode.'),
      cpuSeconds: posInt('CPU-time limit (RLIMIT_CPU) per process.'),
      addressSpaceMiB: posInt('Address-space limit (RLIMIT_AS) in MiB.'),
      outputMaxMiB: posInt('Largest file the job may write (RLIMIT_FSIZE) in MiB.'),
      openFiles: posInt('Open file descriptors (RLIMIT_NOFILE).'),
      maxThreads: posInt('Threads of the whole sandboxed tree. The kernel holds the command of each sandbox (probes included) to this many tasks at once (RLIMIT_NPROC set inside its user namespace: a fork or thread past it fails with EAGAIN; not in degraded mode), and the monitor kills a tree over it; an exited process not yet waited for (a zombie) counts as one, since it holds a pid, and a process whose first thread has exited counts by the threads it still runs.'),
      ffmpegThreads: posInt('Value of ffmpeg -threads.', 64),
    }),
    budget: obj('Cost budgets proportional to the input, enforced on every job by the monitor (exit 5); limits.cpuSeconds and limits.wallSeconds are the absolute caps above them.', {
      cpuSecondsPerMediaSecond: posNum('CPU seconds of the whole sandboxed tree per second of input media.'),
      wallSecondsPerMediaSecond: posNum('Wall-clock seconds of the transcode per second of input media.'),
      minCpuSeconds: posNum('CPU budget of short and still inputs (the floor of the per-media-second budget).'),
      minWallSeconds: posNum('Wall-clock budget of short and still inputs (the floor of the per-media-second budget).'),
      maxStderrMiB: posNum('ffmpeg diagnostics past this many MiB are a flood: the job is killed. Only a bounded head and tail are kept in memory whatever the limit.'),
    }),
    output: obj('What an output may be, whatever the arguments: checked before the run (arguments), during it (ffmpeg -progress) and at verification.', {
      durationToleranceSeconds: posNum('Output duration at most the input\'s × the target\'s durationFactor (default 1) + this many seconds.'),
      maxFrameRate: posNum('Highest output frame rate (-r, fps=, and frames written per second of output).'),
      maxWidth: posInt('Widest output video in pixels.'),
      maxHeight: posInt('Tallest output video in pixels.'),
      maxPixels: posInt('Largest output width × height.'),
      maxSizeFactor: posNum('Largest output as a multiple of the input\'s size (bounded below by minSizeMiB, above by limits.outputMaxMiB).'),
      minSizeMiB: posNum('Output size budget of small inputs (the floor of maxSizeFactor × input).'),
      keepMetadata: bool('Keep the input\'s metadata (global, stream and chapter tags). false strips it; raw arguments cannot map it back.'),
    }),
    input: obj('Data pillar: what an input must be before anything decodes it.', {
      maxBytes: posInt('Largest input file in bytes.'),
      magic: strList('Accepted magic-byte types (file-type extensions such as mp4, webm, wav).'),
      requireMagicMatchesExtension: bool('The file extension must agree with the magic bytes.'),
      requireMagicMatchesFormat: bool('The demuxer ffprobe picks must agree with the magic bytes.'),
      formats: strList('Accepted ffprobe demuxers (format_name entries, e.g. mov, matroska, wav).'),
      codecs: obj('Accepted codecs per stream type.', {
        video: strList('Video codecs (ffprobe codec_name).'),
        audio: strList('Audio codecs.'),
        subtitle: strList('Subtitle codecs; empty refuses subtitle streams.'),
      }),
      maxStreams: posInt('Most streams in the container.'),
      maxWidth: posInt('Widest video in pixels.'),
      maxHeight: posInt('Tallest video in pixels.'),
      maxPixels: posInt('Largest width × height (also passed to the decoder as -max_pixels).'),
      maxFrameRate: posNum('Highest frame rate.'),
      maxDurationSeconds: posNum('Longest duration (also enforced at decode time with -t).'),
      maxBitrate: posInt('Highest container bitrate in bit/s.'),
      maxSampleRate: posInt('Highest audio sample rate in Hz.'),
      maxChannels: posInt('Most audio channels.'),
      allowAttachments: bool('Allow attachment streams (fonts in mkv).'),
      allowDataStreams: bool('Allow data streams (timed metadata, tmcd).'),
      unusedStreams: {
        description: 'Streams the planned job does not map (a second audio track, subtitles, a font, a timecode track, cover art) are never demuxed into the output nor decoded. "ignore": listed as ignored, counted only towards maxStreams and the metadata limits; "judge": held to the same rules as the streams the job uses; "refuse": their presence refuses the file. One action for every kind, or one per kind. Absent: "judge".',
        oneOf: [
          { type: 'string', enum: [...UNUSED_STREAM_ACTIONS] },
          {
            type: 'object',
            additionalProperties: false,
            required: [...STREAM_KINDS],
            properties: Object.fromEntries(STREAM_KINDS.map((k) => [k, { type: 'string', enum: [...UNUSED_STREAM_ACTIONS], description: `Unused ${k} streams.` }])),
          },
        ],
      },
      maxMetadataEntries: posInt('Most metadata tags (container + streams).'),
      maxMetadataBytes: posInt('Total bytes of metadata keys and values.'),
      deepCheck: bool('Decode every stream to null in the sandbox before the real job.'),
      requiredHardening: {
        type: 'array',
        uniqueItems: true,
        items: { type: 'string', pattern: '^[A-Za-z0-9_ ,-]+(\\.[A-Za-z0-9_]+)?$' },
        description: 'ffmpeg/ffprobe options ("option" or "demuxer.option") the installed build must have, on top of the stage\'s baseline; a job refuses (exit 7) naming any that is missing.',
      },
      probe: obj('Bounds of the sandboxed ffprobe.', {
        probesize: posInt('ffprobe -probesize in bytes.'),
        analyzeDurationUs: posInt('ffprobe -analyzeduration in microseconds.'),
        timeoutSeconds: posInt('Wall-clock limit of one probe.'),
        addressSpaceMiB: posInt('Address-space limit of the probe in MiB.'),
      }),
    }, ['requiredHardening', 'unusedStreams']),
    operations: obj('Vetted argument templates, chosen with --operation.', {
      default: str('Operation used when --operation is not given.'),
      allowRawArgs: bool('Allow raw ffmpeg output arguments after -- (checked by the firewall).'),
      list: {
        type: 'object',
        description: 'Operation name → definition.',
        minProperties: 1,
        propertyNames: { pattern: '^[a-z][a-z0-9-]*$' },
        additionalProperties: obj('One operation.', {
          description: str('What it does, for humans.'),
          targets: {
            type: 'object',
            description: 'Output extension (without dot) → how to produce it.',
            minProperties: 1,
            propertyNames: { pattern: '^[a-z0-9]+$' },
            additionalProperties: operationTarget,
          },
        }),
      },
    }),
    firewall: obj('Allow-lists for raw passthrough arguments (used only when operations.allowRawArgs).', {
      options: strList('Allowed option names without dash or stream specifier (e.g. c, b, preset, vf).'),
      encoders: strList('Allowed encoders for -c/-codec.'),
      muxers: strList('Allowed muxers for -f.'),
      filters: strList('Allowed filters in -vf/-af/-filter_complex.'),
    }),
    monitor: obj('Visibility & analytics: live monitoring of the sandboxed tree.', {
      sampleMs: posInt('Sampling interval of /proc in milliseconds.', 5000),
      baselineFactor: posNum('Flag a job whose CPU or wall time per media-second exceeds the learned baseline by this factor.'),
      onSlowJob: { enum: ['warn', 'kill'], description: 'What a slow-job anomaly does.' },
      onMemorySpike: { enum: ['warn', 'kill'], description: 'What a memory spike (RSS above 90% of the limit) does.' },
      onEscapeAttempt: { enum: ['warn', 'kill'], description: 'What a sign of network or out-of-sandbox access in ffmpeg diagnostics does.' },
    }),
    audit: obj('Governance: the signed audit log.', {
      requireProvisionedKey: bool('Refuse to auto-generate the audit signing key.'),
      keyring: str('Directory of trusted public keys (*.pub), relative to the policy file.'),
      intoto: bool('Write an in-toto statement (DSSE) next to each output.'),
    }, ['keyring']),
    signature: obj('Integrity of this policy file.', {
      required: bool('The policy must carry a valid detached signature (<file>.sig) by a trusted key.'),
      keyring: str('Directory of trusted public keys (*.pub), relative to the policy file.'),
    }, ['keyring']),
  },
};

/**
 * A policy in plain words, per CISA ZTMM pillar: what it allows and what it refuses, so a
 * reviewer can read a policy change without knowing the schema. Pure: no I/O.
 */
import { DEFAULT_SANDBOX_USER } from '../sandbox/identity.js';
import { STREAM_KINDS, unusedStreamAction, type Policy, type UnusedStreamAction } from './types.js';
import { PILLAR_TITLES, effectiveGrant, principalsCovered, type Pillar } from './diff.js';

export interface PillarExplanation {
  readonly pillar: Pillar;
  readonly title: string;
  readonly allows: readonly string[];
  readonly refuses: readonly string[];
}

export interface PolicyExplanation {
  readonly stage: string;
  readonly mode: string;
  readonly summary: string;
  readonly pillars: readonly PillarExplanation[];
}

const MODE_WORDS: Readonly<Record<string, string>> = {
  enforce: 'a broken rule refuses the job',
  warn: 'a broken rule is printed and recorded, but the job still runs',
  audit: 'a broken rule is only recorded; the job still runs',
};

function list(xs: readonly string[], none = 'none'): string {
  return xs.length === 0 ? none : xs.join(', ');
}

function bytes(n: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1 && v % 1024 === 0) {
    v /= 1024;
    i++;
  }
  return `${v} ${units[i]}`;
}

function duration(s: number): string {
  if (s % 3600 === 0) return `${s / 3600} h`;
  if (s % 60 === 0) return `${s / 60} min`;
  return `${s} s`;
}

type AddPillar = (pillar: Pillar, allows: string[], refuses: string[]) => void;

function explainIdentity(p: Policy, add: AddPillar): void {
  const allows: string[] = [];
  const refuses: string[] = [];
  const id = p.identity;
  if (id.token === 'required') refuses.push('any caller without a valid signed token (JWT)');
  else if (id.token === 'optional') allows.push('callers without a token (the OS user is recorded); a token, when given, must verify');
  else allows.push('callers identified by their OS user only; tokens are ignored');
  for (const i of id.issuers) {
    allows.push(
      `tokens from ${i.issuer} (id "${i.id}") for audience ${list(i.audience)}, signed with ${list(i.algorithms)}` +
        `${i.maxTokenAgeSeconds ? `, issued at most ${duration(i.maxTokenAgeSeconds)} ago` : ''}` +
        `${i.requiredClaims && i.requiredClaims.length > 0 ? `, carrying claims ${list(i.requiredClaims)}` : ''}`,
    );
  }
  if (id.issuers.length === 0 && id.token !== 'off') refuses.push('every token (no issuer is trusted)');
  if (id.bindToInput !== false) refuses.push(`tokens not bound to the exact input and operation (by ${id.bindToInput})`);
  if (id.singleUseJti) refuses.push('a token presented a second time (single-use token ids)');
  const g = effectiveGrant(p.authorization);
  if (p.authorization.default === 'allow') allows.push('anyone no rule matches (default allow)');
  else refuses.push('anyone no authorization rule matches (default deny)');
  for (const r of p.authorization.rules) {
    const who: string[] = [];
    if (r.match.users) who.push(r.match.users.includes('*') ? 'any OS user' : `OS users ${list(r.match.users)}`);
    if (r.match.groups) who.push(`members of ${list(r.match.groups)}`);
    if (r.match.issuers) who.push(`holders of a token from ${list(r.match.issuers)}`);
    if (r.match.claims) who.push(`whose token claims ${Object.entries(r.match.claims).map(([k, v]) => `${k}=${typeof v === 'string' ? v : v.join('|')}`).join(', ')}`);
    const what = r.allow.operations.includes('*') ? 'every operation' : `operations ${list(r.allow.operations)}`;
    allows.push(`rule "${r.id}": ${who.join(' ')} may run ${what}${r.allow.rawArgs ? ' and raw ffmpeg arguments' : ''}`);
  }
  if (!g.rawArgs) refuses.push('raw ffmpeg arguments from any caller');
  if (principalsCovered(p.authorization) === 'listed') refuses.push('local users the rules do not name');
  add('identity', allows, refuses);
}

function explainDevices(p: Policy, add: AddPillar): void {
  const allows: string[] = [];
  const refuses: string[] = [];
  for (const [name, b] of Object.entries(p.posture.binaries)) {
    allows.push(`${name}${b.path ? ` at ${b.path}` : ' found in /usr/bin, /usr/local/bin or /bin'}${b.minVersion ? `, version ${b.minVersion} or later` : ''}${b.sha256 ? `, sha256 ${b.sha256.slice(0, 12)}…` : ''}`);
    if (b.minVersion) refuses.push(`${name} older than ${b.minVersion}`);
    if (b.sha256) refuses.push(`an ${name} whose sha256 differs from the pin`);
  }
  if (p.posture.requireRootOwned) refuses.push('binaries not owned by root or writable by group or others');
  add('devices', allows, refuses);
}

function explainNetworks(p: Policy, add: AddPillar): void {
  add(
    'networks',
    ['only local files: ffmpeg and ffprobe run with -protocol_whitelist file'],
    [
      'every network access: the sandbox has no network namespace at all (fixed, not configurable)',
      ...(p.sandbox.seccomp !== 'none' ? [`network sockets at the system-call level (seccomp profile "${p.sandbox.seccomp}")`] : []),
      'URLs, playlists and pseudo-protocols (hls, concat, data:, subfile:) in inputs and arguments',
    ],
  );
}

function explainWorkloads(p: Policy, add: AddPillar): void {
  const allows: string[] = [];
  const refuses: string[] = [];
  const l = p.limits;
  if (p.sandbox.required) refuses.push('running without the bubblewrap sandbox');
  else allows.push('DEGRADED mode without bubblewrap when it is missing (recorded in the audit log)');
  allows.push(`seccomp profile "${p.sandbox.seccomp}", a ${bytes(p.sandbox.tmpfsMiB * 1024 * 1024)} private /tmp and /dev/shm; the output is the only host file it can write`);
  refuses.push(`running the sandbox as host root: as root it runs as the unprivileged user "${p.sandbox.user ?? DEFAULT_SANDBOX_USER}"; /proc/sys and the other host-global knobs are masked`);
  if (p.sandbox.grants.fonts) allows.push('read-only system fonts inside the sandbox');
  if (p.sandbox.grants.gpu) allows.push('GPU render nodes inside the sandbox');
  refuses.push(
    `a job running longer than ${duration(l.wallSeconds)} wall clock or ${duration(l.cpuSeconds)} CPU, using more than ${bytes(l.addressSpaceMiB * 1024 * 1024)} of address space, ` +
      `writing more than ${bytes(l.outputMaxMiB * 1024 * 1024)}, opening more than ${l.openFiles} files or running more than ${l.maxThreads} threads (it is killed)`,
  );
  const b = p.budget;
  refuses.push(
    `a job costing more than ${b.cpuSecondsPerMediaSecond} CPU-seconds or ${b.wallSecondsPerMediaSecond} wall-seconds per second of its input media ` +
      `(at least ${b.minCpuSeconds} s CPU and ${b.minWallSeconds} s wall for short and still inputs), or printing more than ${b.maxStderrMiB} MiB of diagnostics (it is killed)`,
  );
  const ops = Object.entries(p.operations.list).map(([n, o]) => `${n} (${Object.keys(o.targets).join(', ')})`);
  allows.push(`operations ${ops.join('; ')}; default "${p.operations.default}"`);
  if (p.operations.allowRawArgs) {
    allows.push(`raw ffmpeg output arguments through the firewall: options ${list(p.firewall.options)}; encoders ${list(p.firewall.encoders)}; muxers ${list(p.firewall.muxers)}; filters ${list(p.firewall.filters)}`);
    refuses.push('raw arguments outside those lists, extra inputs, URLs, a second output, -report, -dump_attachment, -attach, file-reading filters');
  } else refuses.push('raw ffmpeg arguments: only the vetted operations run');
  add('applications', allows, refuses);
}

function unusedStreamKinds(i: Policy['input'], action: UnusedStreamAction): string[] {
  return STREAM_KINDS.filter((k) => unusedStreamAction(i.unusedStreams, k) === action);
}

function explainData(p: Policy, add: AddPillar): void {
  const i = p.input;
  const allows = [
    `inputs up to ${bytes(i.maxBytes)} whose magic bytes are ${list(i.magic)}`,
    `containers ${list(i.formats)}`,
    `video codecs ${list(i.codecs.video)}; audio codecs ${list(i.codecs.audio)}; subtitle codecs ${list(i.codecs.subtitle)}`,
    `up to ${i.maxStreams} streams, ${i.maxWidth}x${i.maxHeight} and ${i.maxPixels} pixels, ${i.maxFrameRate} frames/s, ${duration(i.maxDurationSeconds)}, ${i.maxBitrate} bit/s, ${i.maxSampleRate} Hz, ${i.maxChannels} channels`,
    ...(i.allowAttachments ? ['attachment streams (e.g. fonts in mkv)'] : []),
    ...(i.allowDataStreams ? ['data streams (timed metadata)'] : []),
    ...unusedStreamKinds(i, 'ignore').map((k) => `${k} streams the job does not map (never demuxed into the output nor decoded; listed as ignored)`),
  ];
  const refuses = [
    'symlinks, FIFOs, devices and anything that is not a regular file',
    'any input beyond the limits above, each broken rule reported with its actual value and the limit',
    ...(i.requireMagicMatchesExtension ? ['a file whose extension disagrees with its magic bytes'] : []),
    ...(i.requireMagicMatchesFormat ? ['a file the demuxer reads as something other than its magic bytes say (polyglots)'] : []),
    ...(i.allowAttachments ? [] : ['attachment streams']),
    ...(i.allowDataStreams ? [] : ['data streams']),
    ...unusedStreamKinds(i, 'refuse').map((k) => `any ${k} stream the job does not map`),
    `more than ${i.maxMetadataEntries} metadata tags or ${bytes(i.maxMetadataBytes)} of metadata`,
    ...(i.deepCheck ? ['a file that does not decode cleanly end to end in the sandbox (deep check)'] : []),
    `a probe that takes longer than ${duration(i.probe.timeoutSeconds)} or more than ${bytes(i.probe.addressSpaceMiB * 1024 * 1024)}`,
  ];
  const o = p.output;
  refuses.push(
    `an output longer than its input plus ${o.durationToleranceSeconds} s (unless its operation declares a factor), over ${o.maxFrameRate} frames/s, ${o.maxWidth}x${o.maxHeight} or ${o.maxPixels} pixels, ` +
      `or larger than ${o.maxSizeFactor}x its input (at least ${bytes(o.minSizeMiB * 1024 * 1024)} allowed), whatever the arguments`,
  );
  if (o.keepMetadata) allows.push("the input's metadata (tags, chapter titles) in the output");
  else refuses.push("the input's metadata (global, stream and chapter tags) in the output, whatever the arguments");
  add('data', allows, refuses);
}

function explainVisibility(p: Policy, add: AddPillar): void {
  const m = p.monitor;
  const act = (a: string): string => (a === 'kill' ? 'kills the job' : 'warns');
  add(
    'visibility',
    [`the sandboxed tree is sampled every ${m.sampleMs} ms (CPU, memory, threads, I/O); peaks are recorded`],
    [
      `a job slower than ${m.baselineFactor}x the learned baseline: ${act(m.onSlowJob)}`,
      `a memory spike near the limit: ${act(m.onMemorySpike)}`,
      `signs of network or out-of-sandbox access in ffmpeg's diagnostics: ${act(m.onEscapeAttempt)}`,
    ],
  );
}

function explainGovernance(p: Policy, add: AddPillar): void {
  const allows = [
    `stage "${p.stage}", mode "${p.mode}": ${MODE_WORDS[p.mode] ?? p.mode}`,
    'every decision and result in a signed, hash-chained audit log',
    ...(p.audit.keyring ? [`audit and policy keys trusted from ${p.audit.keyring}`] : []),
    ...(p.audit.intoto ? ['an in-toto statement next to every output'] : []),
  ];
  const refuses = [
    'running a job whose audit record cannot be written (fail closed)',
    ...(p.audit.requireProvisionedKey ? ['auto-generating the audit signing key: it must be provisioned'] : []),
    ...(p.signature.required ? [`a policy file without a valid detached signature${p.signature.keyring ? ` by a key in ${p.signature.keyring}` : ''}`] : []),
  ];
  add('governance', allows, refuses);
}

export function explainPolicy(p: Policy): PolicyExplanation {
  const pillars: PillarExplanation[] = [];
  const add: AddPillar = (pillar, allows, refuses) => {
    pillars.push({ pillar, title: PILLAR_TITLES[pillar], allows, refuses });
  };
  explainIdentity(p, add);
  explainDevices(p, add);
  explainNetworks(p, add);
  explainWorkloads(p, add);
  explainData(p, add);
  explainVisibility(p, add);
  explainGovernance(p, add);

  return {
    stage: p.stage,
    mode: p.mode,
    summary: `${p.stage} stage, ${p.mode} mode: ${MODE_WORDS[p.mode] ?? p.mode}.${p.description ? ` ${p.description}` : ''}`,
    pillars,
  };
}

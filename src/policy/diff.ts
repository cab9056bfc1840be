/**
 * Rule-by-rule comparison of two policies: for every policy field, which side is stricter.
 *
 *   numeric limits     lower is stricter (a smaller file, fewer seconds, fewer streams)
 *   allow-lists        a subset is stricter (fewer formats, codecs, options, operations)
 *   booleans           by their meaning (requireX: true is stricter; allowX: false is stricter)
 *   enums              by order (mode enforce > warn > audit; seccomp strict > default > none; ...)
 *   minimum versions   higher is stricter; a pin (path, sha256) is stricter than none
 *
 * A rule whose two values cannot be ordered (two different pinned hashes, a changed argument
 * template) is "incomparable": a reviewer must read it. Pure: no I/O, no clock.
 */
import type { PolicyFieldPath } from './rule-ids.js';
import { STREAM_KINDS, UNUSED_STREAM_ACTIONS, unusedStreamAction, type Policy } from './types.js';
import type { AuthorizationConfig, IssuerConfig } from '../identity/types.js';
import { DEFAULT_SANDBOX_USER } from '../sandbox/identity.js';

/** How B compares with A on one rule. */
export type Strictness = 'same' | 'stricter' | 'looser' | 'incomparable';

/** The CISA ZTMM v2 pillars and cross-cutting capabilities a rule belongs to. */
export type Pillar = 'identity' | 'devices' | 'networks' | 'applications' | 'data' | 'visibility' | 'governance';

export const PILLAR_TITLES: Readonly<Record<Pillar, string>> = {
  identity: 'Identity',
  devices: 'Devices',
  networks: 'Networks',
  applications: 'Applications & workloads',
  data: 'Data',
  visibility: 'Visibility & analytics',
  governance: 'Governance',
};

export interface RuleDiff {
  /** Dotted policy path, e.g. "limits.wallSeconds" or "input.codecs.video". */
  readonly rule: PolicyFieldPath;
  readonly pillar: Pillar;
  /** How B compares with A. */
  readonly b: Strictness;
  readonly valueA: unknown;
  readonly valueB: unknown;
  /** For lists: what B adds and removes relative to A. */
  readonly added?: readonly string[];
  readonly removed?: readonly string[];
  /** Why, in plain words. */
  readonly note: string;
}

export interface PolicyDiff {
  readonly rules: readonly RuleDiff[];
  readonly counts: Readonly<Record<Strictness, number>>;
  /** B is stricter on at least one rule and looser or incomparable on none. */
  readonly bStrictlyStronger: boolean;
  /** B is looser on at least one rule and stricter or incomparable on none. */
  readonly bStrictlyWeaker: boolean;
  /** One word for the whole: what B is relative to A. */
  readonly overall: 'same' | 'stricter' | 'looser' | 'mixed';
}

// --- primitive comparisons (B relative to A) ------------------------------------------------

export function compareNumber(a: number | undefined, b: number | undefined, lowerIsStricter = true): Strictness {
  if (a === b) return 'same';
  // An absent limit is no limit at all.
  if (a === undefined) return 'stricter';
  if (b === undefined) return 'looser';
  const bLower = b < a;
  return bLower === lowerIsStricter ? 'stricter' : 'looser';
}

/** Subset is stricter. `*` in a list stands for every value. */
export function compareAllowList(a: readonly string[], b: readonly string[]): { s: Strictness; added: string[]; removed: string[] } {
  const sa = new Set(a);
  const sb = new Set(b);
  const added = [...sb].filter((x) => !sa.has(x)).sort();
  const removed = [...sa].filter((x) => !sb.has(x)).sort();
  const aAll = sa.has('*');
  const bAll = sb.has('*');
  if (added.length === 0 && removed.length === 0) return { s: 'same', added, removed };
  if (aAll && !bAll) return { s: 'stricter', added, removed };
  if (bAll && !aAll) return { s: 'looser', added, removed };
  if (added.length === 0) return { s: 'stricter', added, removed };
  if (removed.length === 0) return { s: 'looser', added, removed };
  return { s: 'incomparable', added, removed };
}

/** `order` lists values from loosest to strictest; equal-rank values share an inner array. */
export function compareEnum<T>(a: T, b: T, order: ReadonlyArray<T | readonly T[]>): Strictness {
  if (a === b) return 'same';
  const rank = (v: T): number => order.findIndex((o) => (Array.isArray(o) ? (o as readonly T[]).includes(v) : o === v));
  const ra = rank(a);
  const rb = rank(b);
  if (ra < 0 || rb < 0 || ra === rb) return 'incomparable';
  return rb > ra ? 'stricter' : 'looser';
}

export function compareBool(a: boolean, b: boolean, trueIsStricter: boolean): Strictness {
  if (a === b) return 'same';
  return b === trueIsStricter ? 'stricter' : 'looser';
}

function versionParts(v: string): number[] {
  return v.split('.').map((x) => Number.parseInt(x, 10) || 0);
}

/** A higher minimum version is stricter; an absent minimum is the loosest. */
export function compareMinVersion(a: string | undefined, b: string | undefined): Strictness {
  if (a === b) return 'same';
  if (a === undefined) return 'stricter';
  if (b === undefined) return 'looser';
  const pa = versionParts(a);
  const pb = versionParts(b);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? 0;
    const y = pb[i] ?? 0;
    if (x !== y) return y > x ? 'stricter' : 'looser';
  }
  return 'same';
}

/** A pinned value (path, hash, keyring) is stricter than none; two different pins cannot be ordered. */
/** A pin, unless it is the all-zero placeholder a stage file ships with (pinned by `policy pin`). */
function realPin(h: string | undefined): string | undefined {
  return h !== undefined && /^0{64}$/.test(h) ? undefined : h;
}

export function comparePin(a: string | undefined, b: string | undefined): Strictness {
  if (a === b) return 'same';
  if (a === undefined) return 'stricter';
  if (b === undefined) return 'looser';
  return 'incomparable';
}

// --- the rule table --------------------------------------------------------------------------

const NOTE: Record<Strictness, string> = { same: 'unchanged', stricter: 'B is stricter', looser: 'B is looser', incomparable: 'changed; the two cannot be ordered, read both' };

class Collector {
  readonly rules: RuleDiff[] = [];
  add(rule: PolicyFieldPath, pillar: Pillar, b: Strictness, valueA: unknown, valueB: unknown, note?: string, lists?: { added: string[]; removed: string[] }): void {
    this.rules.push({
      rule,
      pillar,
      b,
      valueA,
      valueB,
      ...(lists && (lists.added.length > 0 || lists.removed.length > 0) ? { added: lists.added, removed: lists.removed } : {}),
      note: note ?? NOTE[b],
    });
  }
  num(rule: PolicyFieldPath, pillar: Pillar, a: number | undefined, b: number | undefined, lowerIsStricter = true): void {
    const s = compareNumber(a, b, lowerIsStricter);
    this.add(rule, pillar, s, a, b, s === 'same' ? undefined : `${lowerIsStricter ? 'lower' : 'higher'} is stricter: ${NOTE[s]}`);
  }
  list(rule: PolicyFieldPath, pillar: Pillar, a: readonly string[], b: readonly string[]): void {
    const r = compareAllowList(a, b);
    const note = r.s === 'same' ? undefined : r.s === 'stricter' ? 'B allows a subset' : r.s === 'looser' ? 'B allows more' : 'B adds some values and removes others';
    this.add(rule, pillar, r.s, a, b, note, r);
  }
  /** A list of requirements (claims a token must carry, options a build must have): more is stricter. */
  requirements(rule: PolicyFieldPath, pillar: Pillar, a: readonly string[], b: readonly string[], what: string): void {
    // As allow-lists with the sides swapped: B is "stricter" exactly when A's list is a subset of B's.
    const r = compareAllowList(b, a);
    this.add(rule, pillar, r.s, a, b, r.s === 'same' ? undefined : `more ${what} is stricter`, { added: r.removed, removed: r.added });
  }
  bool(rule: PolicyFieldPath, pillar: Pillar, a: boolean, b: boolean, trueIsStricter: boolean): void {
    const s = compareBool(a, b, trueIsStricter);
    this.add(rule, pillar, s, a, b, s === 'same' ? undefined : `${trueIsStricter ? 'true' : 'false'} is stricter: ${NOTE[s]}`);
  }
  enumeration<T>(rule: PolicyFieldPath, pillar: Pillar, a: T, b: T, order: ReadonlyArray<T | readonly T[]>): void {
    const s = compareEnum(a, b, order);
    const words = order.map((o) => (Array.isArray(o) ? (o as readonly T[]).map(String).join('=') : String(o))).reverse().join(' > ');
    this.add(rule, pillar, s, a, b, s === 'same' ? undefined : `${words}: ${NOTE[s]}`);
  }
}

const sameJson = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/** What an authorization section grants, reduced to comparable facts. */
export interface EffectiveGrant {
  /** Operation patterns some principal may run ('*' = all). */
  readonly operations: readonly string[];
  /** Whether any principal may pass raw ffmpeg arguments. */
  readonly rawArgs: boolean;
  /** Whether every grant requires a verified token (issuer or claims condition). */
  readonly tokenRequired: boolean;
}

export function effectiveGrant(az: AuthorizationConfig): EffectiveGrant {
  const ops = new Set<string>();
  let raw = false;
  let tokenRequired = az.default === 'deny';
  if (az.default === 'allow') {
    ops.add('*');
    raw = true;
  }
  for (const r of az.rules) {
    for (const o of r.allow.operations) ops.add(o);
    if (r.allow.rawArgs === true) raw = true;
    if (r.match.issuers === undefined && r.match.claims === undefined) tokenRequired = false;
  }
  return { operations: ops.has('*') ? ['*'] : [...ops].sort(), rawArgs: raw, tokenRequired };
}

/** 'anyone': every local OS user gets some grant (default allow, or a rule matching users "*" with no token condition). */
export function principalsCovered(az: AuthorizationConfig): 'anyone' | 'listed' {
  if (az.default === 'allow') return 'anyone';
  const open = az.rules.some((r) => r.match.issuers === undefined && r.match.claims === undefined && ((r.match.users ?? []).includes('*') || (r.match.groups ?? []).includes('*')));
  return open ? 'anyone' : 'listed';
}

function issuerById(list: readonly IssuerConfig[]): Map<string, IssuerConfig> {
  return new Map(list.map((i) => [i.issuer, i]));
}

/** The stage claimed and how refusals are applied. */
function diffStage(c: Collector, a: Policy, b: Policy): void {
  c.enumeration('stage', 'governance', a.stage, b.stage, ['initial', 'advanced', 'optimal']);
  c.enumeration('mode', 'governance', a.mode, b.mode, ['audit', 'warn', 'enforce']);
}

/** Identity: tokens and the issuers trusted to sign them. */
function diffIdentity(c: Collector, a: Policy, b: Policy): void {
  c.enumeration('identity.token', 'identity', a.identity.token, b.identity.token, ['off', 'optional', 'required']);
  {
    // Trusting more issuers is looser, unless B starts demanding a token A never demanded:
    // then the issuer list is part of a new requirement.
    const ia = a.identity.issuers.map((i) => i.issuer);
    const ib = b.identity.issuers.map((i) => i.issuer);
    const r = compareAllowList(ia, ib);
    let s = r.s;
    let note: string | undefined = r.s === 'same' ? undefined : r.s === 'stricter' ? 'B trusts fewer issuers' : r.s === 'looser' ? 'B trusts more issuers' : 'B trusts different issuers';
    if (r.s !== 'same' && a.identity.token !== 'required' && b.identity.token === 'required') {
      s = 'stricter';
      note = 'B demands a token from these issuers where A demanded none';
    } else if (r.s !== 'same' && a.identity.token === 'required' && b.identity.token !== 'required') {
      s = 'looser';
      note = 'B no longer demands a token';
    }
    c.add('identity.issuers', 'identity', s, ia, ib, note, r);
    const ma = issuerById(a.identity.issuers);
    for (const [iss, xb] of issuerById(b.identity.issuers)) {
      const xa = ma.get(iss);
      if (!xa) continue;
      const p = `identity.issuers[${xb.id}]` as const;
      c.list(`${p}.audience`, 'identity', xa.audience, xb.audience);
      c.list(`${p}.algorithms`, 'identity', xa.algorithms, xb.algorithms);
      c.num(`${p}.maxTokenAgeSeconds`, 'identity', xa.maxTokenAgeSeconds, xb.maxTokenAgeSeconds);
      c.num(`${p}.clockToleranceSeconds`, 'identity', xa.clockToleranceSeconds ?? 30, xb.clockToleranceSeconds ?? 30);
      c.requirements(`${p}.requiredClaims`, 'identity', xa.requiredClaims ?? [], xb.requiredClaims ?? [], 'required claims');
      c.add(`${p}.keys`, 'identity', sameJson([xa.jwksFile, xa.keys], [xb.jwksFile, xb.keys]) ? 'same' : 'incomparable', xa.jwksFile ?? 'inline keys', xb.jwksFile ?? 'inline keys');
      // The stage files carry an all-zero placeholder (it matches no file: fail closed); the real pin is stricter.
      c.add(`${p}.jwksSha256`, 'identity', comparePin(realPin(xa.jwksSha256), realPin(xb.jwksSha256)), xa.jwksSha256, xb.jwksSha256);
    }
  }
  c.enumeration('identity.bindToInput', 'identity', a.identity.bindToInput, b.identity.bindToInput, [false, ['audience', 'claim']]);
  c.bool('identity.singleUseJti', 'identity', a.identity.singleUseJti, b.identity.singleUseJti, true);
}

/** Authorization (identity pillar): who may run what. */
function diffAuthorization(c: Collector, a: Policy, b: Policy): void {
  c.enumeration('authorization.default', 'identity', a.authorization.default, b.authorization.default, ['allow', 'deny']);
  {
    const ga = effectiveGrant(a.authorization);
    const gb = effectiveGrant(b.authorization);
    c.list('authorization.rules.operations', 'identity', ga.operations, gb.operations);
    c.bool('authorization.rules.rawArgs', 'identity', ga.rawArgs, gb.rawArgs, false);
    c.bool('authorization.rules.tokenRequired', 'identity', ga.tokenRequired, gb.tokenRequired, true);
    // Who the rules let in: anyone local, or only the principals they list.
    const pa = principalsCovered(a.authorization);
    const pb = principalsCovered(b.authorization);
    const matchA = a.authorization.rules.map((r) => r.match);
    const matchB = b.authorization.rules.map((r) => r.match);
    let s = compareEnum(pa, pb, ['anyone', 'listed']);
    let note: string | undefined = s === 'same' ? undefined : s === 'stricter' ? 'B admits only the principals its rules list, A admits any local user' : 'B admits any local user';
    if (s === 'same' && pa === 'listed' && !sameJson(matchA, matchB)) {
      s = 'incomparable';
      note = 'the rules match different principals: read their match conditions';
    }
    c.add('authorization.rules.principals', 'identity', s, pa, pb, note);
  }
}

/** Devices: the binaries we trust. */
function diffDevices(c: Collector, a: Policy, b: Policy): void {
  for (const name of ['ffmpeg', 'ffprobe', 'bwrap'] as const) {
    const xa = a.posture.binaries[name];
    const xb = b.posture.binaries[name];
    const s1 = compareMinVersion(xa.minVersion, xb.minVersion);
    c.add(`posture.binaries.${name}.minVersion`, 'devices', s1, xa.minVersion, xb.minVersion, s1 === 'same' ? undefined : `a higher minimum is stricter: ${NOTE[s1]}`);
    c.add(`posture.binaries.${name}.path`, 'devices', comparePin(xa.path, xb.path), xa.path, xb.path);
    c.add(`posture.binaries.${name}.sha256`, 'devices', comparePin(xa.sha256, xb.sha256), xa.sha256, xb.sha256);
  }
  c.bool('posture.requireRootOwned', 'devices', a.posture.requireRootOwned, b.posture.requireRootOwned, true);
}

/** Applications & workloads: the sandbox, its limits, the operations and the firewall. */
function diffWorkloads(c: Collector, a: Policy, b: Policy): void {
  c.bool('sandbox.required', 'applications', a.sandbox.required, b.sandbox.required, true);
  c.enumeration('sandbox.seccomp', 'networks', a.sandbox.seccomp, b.sandbox.seccomp, ['none', 'default', 'strict']);
  c.num('sandbox.tmpfsMiB', 'applications', a.sandbox.tmpfsMiB, b.sandbox.tmpfsMiB);
  c.bool('sandbox.grants.fonts', 'applications', a.sandbox.grants.fonts, b.sandbox.grants.fonts, false);
  c.bool('sandbox.grants.gpu', 'applications', a.sandbox.grants.gpu, b.sandbox.grants.gpu, false);
  {
    // Another unprivileged user is neither stricter nor looser: a reviewer must read it.
    const ua = a.sandbox.user ?? DEFAULT_SANDBOX_USER;
    const ub = b.sandbox.user ?? DEFAULT_SANDBOX_USER;
    c.add('sandbox.user', 'applications', ua === ub ? 'same' : 'incomparable', ua, ub, ua === ub ? undefined : 'the sandbox runs as another host user: check it is unprivileged and dedicated');
  }
  for (const k of ['wallSeconds', 'cpuSeconds', 'addressSpaceMiB', 'outputMaxMiB', 'openFiles', 'maxThreads', 'ffmpegThreads'] as const) {
    c.num(`limits.${k}`, 'applications', a.limits[k], b.limits[k]);
  }
  c.bool('operations.allowRawArgs', 'applications', a.operations.allowRawArgs, b.operations.allowRawArgs, false);
  c.add('operations.default', 'applications', a.operations.default === b.operations.default ? 'same' : 'incomparable', a.operations.default, b.operations.default);
  c.list('operations.list', 'applications', Object.keys(a.operations.list), Object.keys(b.operations.list));
  for (const [name, ob] of Object.entries(b.operations.list)) {
    const oa = a.operations.list[name];
    if (!oa) continue;
    c.list(`operations.list.${name}.targets`, 'applications', Object.keys(oa.targets), Object.keys(ob.targets));
    for (const [ext, tb] of Object.entries(ob.targets)) {
      const ta = oa.targets[ext];
      if (!ta) continue;
      const same = sameJson({ f: ta.format, a: ta.args, s: ta.still ?? false, d: ta.durationFactor ?? 1 }, { f: tb.format, a: tb.args, s: tb.still ?? false, d: tb.durationFactor ?? 1 });
      c.add(`operations.list.${name}.targets.${ext}.args`, 'applications', same ? 'same' : 'incomparable', [ta.format, ...ta.args].join(' '), [tb.format, ...tb.args].join(' '), same ? undefined : 'the vetted argument template changed: review it');
      c.list(`operations.list.${name}.targets.${ext}.expect.formats`, 'applications', ta.expect.formats, tb.expect.formats);
      for (const kind of ['video', 'audio'] as const) {
        const ea = ta.expect[kind];
        const eb = tb.expect[kind];
        // An absent list promises nothing (any codec passes verification): looser than any list.
        if (ea === undefined || eb === undefined) c.add(`operations.list.${name}.targets.${ext}.expect.${kind}`, 'applications', ea === eb ? 'same' : ea === undefined ? 'stricter' : 'looser', ea ?? 'any', eb ?? 'any');
        else c.list(`operations.list.${name}.targets.${ext}.expect.${kind}`, 'applications', ea, eb);
      }
    }
  }
  for (const k of ['options', 'encoders', 'muxers', 'filters'] as const) c.list(`firewall.${k}`, 'applications', a.firewall[k], b.firewall[k]);
}

/** Applications & workloads: what a job may cost per second of its media (lower is stricter). */
function diffBudget(c: Collector, a: Policy, b: Policy): void {
  for (const k of ['cpuSecondsPerMediaSecond', 'wallSecondsPerMediaSecond', 'minCpuSeconds', 'minWallSeconds', 'maxStderrMiB'] as const) {
    c.num(`budget.${k}`, 'applications', a.budget[k], b.budget[k]);
  }
}

/** Data: what an output may be (lower is stricter; keeping the input's metadata is looser). */
function diffOutput(c: Collector, a: Policy, b: Policy): void {
  for (const k of ['durationToleranceSeconds', 'maxFrameRate', 'maxWidth', 'maxHeight', 'maxPixels', 'maxSizeFactor', 'minSizeMiB'] as const) {
    c.num(`output.${k}`, 'data', a.output[k], b.output[k]);
  }
  c.bool('output.keepMetadata', 'data', a.output.keepMetadata, b.output.keepMetadata, false);
}

/** Data: what an input must be. */
function diffData(c: Collector, a: Policy, b: Policy): void {
  const ia = a.input;
  const ib = b.input;
  c.num('input.maxBytes', 'data', ia.maxBytes, ib.maxBytes);
  c.list('input.magic', 'data', ia.magic, ib.magic);
  c.bool('input.requireMagicMatchesExtension', 'data', ia.requireMagicMatchesExtension, ib.requireMagicMatchesExtension, true);
  c.bool('input.requireMagicMatchesFormat', 'data', ia.requireMagicMatchesFormat, ib.requireMagicMatchesFormat, true);
  c.list('input.formats', 'data', ia.formats, ib.formats);
  for (const k of ['video', 'audio', 'subtitle'] as const) c.list(`input.codecs.${k}`, 'data', ia.codecs[k], ib.codecs[k]);
  for (const k of ['maxStreams', 'maxWidth', 'maxHeight', 'maxPixels', 'maxFrameRate', 'maxDurationSeconds', 'maxBitrate', 'maxSampleRate', 'maxChannels', 'maxMetadataEntries', 'maxMetadataBytes'] as const) {
    c.num(`input.${k}`, 'data', ia[k], ib[k]);
  }
  c.bool('input.allowAttachments', 'data', ia.allowAttachments, ib.allowAttachments, false);
  c.bool('input.allowDataStreams', 'data', ia.allowDataStreams, ib.allowDataStreams, false);
  for (const k of STREAM_KINDS) c.enumeration(`input.unusedStreams.${k}`, 'data', unusedStreamAction(ia.unusedStreams, k), unusedStreamAction(ib.unusedStreams, k), UNUSED_STREAM_ACTIONS);
  c.bool('input.deepCheck', 'data', ia.deepCheck, ib.deepCheck, true);
  c.requirements('input.requiredHardening', 'data', ia.requiredHardening ?? [], ib.requiredHardening ?? [], 'required hardening');
  for (const k of ['probesize', 'analyzeDurationUs', 'timeoutSeconds', 'addressSpaceMiB'] as const) c.num(`input.probe.${k}`, 'data', ia.probe[k], ib.probe[k]);
}

/** Visibility & analytics: the monitor. */
function diffVisibility(c: Collector, a: Policy, b: Policy): void {
  c.num('monitor.sampleMs', 'visibility', a.monitor.sampleMs, b.monitor.sampleMs);
  c.num('monitor.baselineFactor', 'visibility', a.monitor.baselineFactor, b.monitor.baselineFactor);
  for (const k of ['onSlowJob', 'onMemorySpike', 'onEscapeAttempt'] as const) c.enumeration(`monitor.${k}`, 'visibility', a.monitor[k], b.monitor[k], ['warn', 'kill']);
}

/** Governance: the evidence and the policy's own integrity. */
function diffGovernance(c: Collector, a: Policy, b: Policy): void {
  c.bool('audit.requireProvisionedKey', 'governance', a.audit.requireProvisionedKey, b.audit.requireProvisionedKey, true);
  c.add('audit.keyring', 'governance', comparePin(a.audit.keyring, b.audit.keyring), a.audit.keyring, b.audit.keyring);
  c.bool('audit.intoto', 'governance', a.audit.intoto, b.audit.intoto, true);
  c.bool('signature.required', 'governance', a.signature.required, b.signature.required, true);
  c.add('signature.keyring', 'governance', comparePin(a.signature.keyring, b.signature.keyring), a.signature.keyring, b.signature.keyring);
}

/** Compare two policies rule by rule: how B compares with A. */
export function diffPolicies(a: Policy, b: Policy): PolicyDiff {
  const c = new Collector();
  diffStage(c, a, b);
  diffIdentity(c, a, b);
  diffAuthorization(c, a, b);
  diffDevices(c, a, b);
  diffWorkloads(c, a, b);
  diffBudget(c, a, b);
  diffData(c, a, b);
  diffOutput(c, a, b);
  diffVisibility(c, a, b);
  diffGovernance(c, a, b);

  const counts: Record<Strictness, number> = { same: 0, stricter: 0, looser: 0, incomparable: 0 };
  for (const r of c.rules) counts[r.b]++;
  const bStrictlyStronger = counts.stricter > 0 && counts.looser === 0 && counts.incomparable === 0;
  const bStrictlyWeaker = counts.looser > 0 && counts.stricter === 0 && counts.incomparable === 0;
  const overall = bStrictlyStronger ? 'stricter' : bStrictlyWeaker ? 'looser' : counts.stricter + counts.looser + counts.incomparable === 0 ? 'same' : 'mixed';
  return { rules: c.rules, counts, bStrictlyStronger, bStrictlyWeaker, overall };
}

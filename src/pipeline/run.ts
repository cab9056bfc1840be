/**
 * One job, in the order the security argument needs:
 *   policy → audit opened (fail closed) → output and operation checked → posture → identity
 *   → authorization → inspect (magic, sandboxed probe ∥ sha256) → deep check → plan →
 *   decision record → sandboxed ffmpeg under limits and the monitor → input re-checked →
 *   output verified in the sandbox → atomic publish → result record.
 * Every refusal and failure is recorded and returned as a value; nothing is thrown past here
 * except bugs.
 */
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { EXIT, ZtError, isZtError, type Violation } from '../errors.js';
import type { LoadedPolicy } from '../policy/types.js';
import { statePaths, type Env } from '../util/paths.js';
import { openAuditSession, type AuditWriter, type AuditEvent } from './audit-session.js';
import { loadJobPolicy, prepareTools, type JobTools } from './context.js';
import { checkOutput, makeJobDir, removeJobDir, publish, sweepStaleJobDirs, type OutputTarget } from '../publish/output.js';
import { chooseOperation, type ChosenOperation } from '../plan/operation.js';
import { checkPassthroughArgs } from '../plan/firewall.js';
import { establishPrincipal } from '../identity/establish.js';
import { authorize } from '../identity/authorize.js';
import type { TokenInput } from '../identity/token-input.js';
import type { Principal } from '../identity/types.js';
import { inspectInput, inspectionSummary, deepCheck, probedCodecs, sandboxInputPath, summarizeProbe, type InspectReport } from '../inspect/inspect.js';
import { digestInput, identityOf, openInput, sameIdentity } from '../inspect/file.js';
import { demuxerNames } from '../inspect/formats.js';
import { buildFfmpegArgv } from '../plan/ffmpeg-argv.js';
import { supervise, sandboxCommandLines, type SupervisedOutcome } from '../sandbox/supervise.js';
import { describeProfile } from '../sandbox/seccomp/index.js';
import { readBaseline, baselineKeyString } from '../run/baseline.js';
import { mib } from '../sandbox/prlimit.js';
import { SANDBOX_JOB_DIR } from '../sandbox/bwrap.js';
import { verifyOutput } from '../verify/output.js';
import type { JobOutcome, Verdict } from './outcome.js';
import { VERSION } from '../version.js';
import { loadSigningKey } from '../keys/index.js';
import { writeProvenance } from '../publish/intoto.js';
import { firstLine } from '../util/text.js';

export interface RunRequest {
  readonly input: string;
  readonly output: string;
  readonly policy: string | undefined;
  /** Trusted keys for the policy signature, from outside the policy. */
  readonly policyKeyring?: string;
  readonly operation: string | undefined;
  /** Raw ffmpeg output arguments after `--` (undefined when none were given). */
  readonly rawArgs: readonly string[] | undefined;
  readonly overwrite: boolean;
  readonly dryRun: boolean;
  readonly token: TokenInput | undefined;
  readonly env: Env;
  readonly auditLog?: string;
  readonly auditKey?: string;
  readonly now?: Date;
  /** Live events for the terminal (progress, warnings). */
  readonly onProgress?: (p: { seconds: number; speed: string | undefined; total: number | undefined }) => void;
  readonly onWarning?: (v: Violation) => void;
  /** For batch: an audit writer shared by the jobs of one process. */
  readonly audit?: AuditWriter;
}

class Timer {
  readonly t: Record<string, number> = {};
  private readonly start = performance.now();
  async time<T>(stage: string, f: () => Promise<T>): Promise<T> {
    const s = performance.now();
    try {
      return await f();
    } finally {
      this.t[stage] = Math.round((performance.now() - s) * 10) / 10;
    }
  }
  total(): number {
    return Math.round((performance.now() - this.start) * 10) / 10;
  }
}

export function principalRecord(p: Principal | undefined): Record<string, unknown> | undefined {
  if (!p) return undefined;
  return {
    user: p.os.user,
    uid: p.os.uid,
    groups: p.os.groups,
    ...(p.ci ? { ci: p.ci } : {}),
    ...(p.token ? { token: { issuer: p.token.iss, issuerId: p.token.issuerId, subject: p.token.sub, jti: p.token.jti, claims: p.token.claims, ...(p.token.boundTo ? { boundTo: p.token.boundTo } : {}) } } : {}),
  };
}

export async function runJob(req: RunRequest): Promise<JobOutcome> {
  const timer = new Timer();
  const jobId = randomUUID();
  const paths = statePaths(req.env, { ...(req.auditLog ? { auditLog: req.auditLog } : {}), ...(req.auditKey ? { auditKey: req.auditKey } : {}) });
  const seqs: number[] = [];
  let loaded: LoadedPolicy | undefined;
  let audit: AuditWriter | undefined = req.audit;
  let tools: JobTools | undefined;
  let report: InspectReport | undefined;
  let principal: Principal | undefined;
  let chosen: ChosenOperation | undefined;
  let target: OutputTarget | undefined;
  let jobDir: string | undefined;
  let ffmpegArgv: string[] | undefined;
  let runOutcome: SupervisedOutcome | undefined;
  const warnings: Violation[] = [];
  const warn = (v: Violation): void => {
    warnings.push(v);
    req.onWarning?.(v);
  };

  const common = (): Record<string, unknown> => ({
    jobId,
    command: 'run',
    tool: { name: 'zt-ffmpeg', version: VERSION },
    host: os.hostname(),
    ...(loaded ? { policy: { path: loaded.path, sha256: loaded.sha256, stage: loaded.policy.stage, mode: loaded.policy.mode, ...(loaded.signedBy ? { signedBy: loaded.signedBy } : {}) } } : {}),
    ...(principal ? { principal: principalRecord(principal) } : {}),
    ...(chosen ? { operation: chosen.name } : {}),
    ...(report ? { input: inputRecord(report) } : { input: { path: path.resolve(req.input) } }),
  });

  const record = async (event: AuditEvent): Promise<void> => {
    if (!audit) throw new ZtError('audit-unavailable', 'the audit log is not open', { hint: 'internal ordering error' });
    const r = await audit.append(event);
    seqs.push(r.seq);
  };

  const finish = async (verdict: Verdict, err: ZtError | undefined, extra: Partial<JobOutcome> = {}): Promise<JobOutcome> => {
    let auditError: string | undefined;
    let exitCode = err ? err.exitCode : EXIT.ok;
    const outcomeBase = {
      command: 'run' as const,
      verdict,
      jobId,
      violations: err?.violations ?? [],
      warnings,
      ...(loaded ? { policy: { path: loaded.path, sha256: loaded.sha256, stage: loaded.policy.stage, mode: loaded.policy.mode } } : {}),
      ...(principal ? { principal: principalRecord(principal) } : {}),
      ...(chosen ? { operation: chosen.name } : {}),
      ...(report ? { input: inputRecord(report) } : { input: { path: path.resolve(req.input) } }),
      degraded: tools?.sandbox.degraded ?? false,
      ...extra,
    };
    if (audit && !req.dryRun) {
      try {
        await record({
          type: seqs.length > 0 ? 'result' : 'refusal',
          ...common(),
          verdict,
          exitCode,
          ...(err ? { reason: err.reason, message: err.message, violations: err.violations, ...(Object.keys(err.details).length > 0 ? { details: err.details } : {}) } : {}),
          warnings,
          ...(runOutcome ? { run: runRecord(runOutcome), anomalies: runOutcome.anomalies } : {}),
          ...(extra.output ? { output: extra.output } : {}),
          degraded: tools?.sandbox.degraded ?? false,
          timings: { ...timer.t, totalMs: timer.total() },
        });
      } catch (e) {
        auditError = e instanceof Error ? e.message : String(e);
        // The job already ran; its result could not be recorded. Never report success then.
        if (verdict === 'ok') exitCode = EXIT.auditFailed;
      }
    }
    if (!req.audit) await audit?.close().catch(() => undefined);
    await tools?.cleanup().catch(() => undefined);
    await report?.input.handle.close().catch(() => undefined);
    await removeJobDir(jobDir).catch(() => undefined);
    return {
      ...outcomeBase,
      exitCode,
      ...(err ? { reason: err.reason, message: err.message, ...(err.hint ? { hint: err.hint } : {}) } : {}),
      ...(auditError ? { message: `${err?.message ?? 'the job finished'}, but its audit record could not be written: ${auditError}`, hint: 'fix the audit log (see the message), then re-run; the output was not published' } : {}),
      timings: { ...timer.t, totalMs: timer.total() },
      audit: { log: paths.auditLog, seqs, ...(auditError ? { error: auditError } : {}) },
    };
  };

  try {
    const keyring = req.policyKeyring ?? req.env['ZT_FFMPEG_POLICY_KEYRING'];
    loaded = await timer.time('policy', () => loadJobPolicy(req.policy ?? req.env['ZT_FFMPEG_POLICY'], keyring ? { keyring } : {}));
  } catch (e) {
    if (!isZtError(e)) throw e;
    // No trustworthy policy: record the refusal if a key already exists (never generate one).
    audit ??= await openAuditSession(paths, undefined).catch(() => undefined);
    return finish('refused', e);
  }
  const policy = loaded.policy;
  const enforce = policy.mode === 'enforce';
  try {
    if (!req.dryRun) audit ??= await timer.time('audit', () => openAuditSession(paths, policy));
  } catch (e) {
    if (!isZtError(e)) throw e;
    return finish('refused', e);
  }

  try {
    // Cheap checks of the request itself first: destination and operation.
    target = await checkOutput(req.output, req.overwrite);
    const raw = req.rawArgs !== undefined && req.rawArgs.length > 0;
    chosen = chooseOperation(policy, req.operation, target.extension);
    if (raw && !policy.operations.allowRawArgs) {
      throw new ZtError('input-refused', 'raw ffmpeg arguments are not allowed by this policy', {
        hint: `use a named operation instead: --operation ${Object.keys(policy.operations.list).join('|')}`,
        violations: [{ rule: 'operations.allowRawArgs', actual: req.rawArgs?.join(' '), limit: false, message: 'the policy allows only vetted operations' }],
      });
    }
    let outputArgs: readonly string[] = chosen.target.args;
    let rawMuxer: string | undefined;
    if (raw && req.rawArgs) {
      const fw = checkPassthroughArgs(req.rawArgs, policy.firewall, { jobDir: SANDBOX_JOB_DIR, grants: policy.sandbox.grants });
      if (!fw.ok) {
        throw new ZtError('input-refused', `raw ffmpeg arguments refused by the argument firewall: ${fw.violations.map((v) => v.message).join('; ')}`, {
          hint: fw.violations[0]?.hint ?? 'use a named operation (--operation)',
          violations: fw.violations,
        });
      }
      // The muxer as ffmpeg itself reads the arguments; the wrapper passes it last.
      const fOpt = fw.options.filter((o) => o.name === 'f').pop();
      rawMuxer = fOpt?.value;
      outputArgs = fw.args.filter((_, i) => !fw.options.some((o) => o.name === 'f' && (o.index === i || o.index + 1 === i)));
    }

    tools = await timer.time('posture', () => prepareTools(policy, paths, { ffmpeg: true }));
    if (tools.sandbox.degraded) {
      warn({ rule: 'sandbox.required', actual: 'bubblewrap unavailable', limit: 'sandbox', message: 'DEGRADED: running without the bubblewrap sandbox, as this initial-stage policy permits', hint: 'install bubblewrap to run sandboxed' });
    }

    // Identity and authorization before any parser sees the input. A token bound to the input
    // needs the input's digest: reading bytes to hash them parses nothing.
    let boundDigest: string | undefined;
    if (policy.identity.bindToInput !== false && req.token !== undefined) {
      const opened = await openInput(req.input, policy.input.maxBytes);
      try {
        boundDigest = (await timer.time('hash', () => digestInput(opened.handle, opened.stat.size))).sha256;
      } finally {
        await opened.handle.close();
      }
    }
    const established = await timer.time('identity', () =>
        establishPrincipal({
          identity: policy.identity,
          token: req.token,
          env: req.env,
          verify: {
            now: req.now ?? new Date(),
            policyDir: path.dirname(loaded!.path),
            operation: chosen!.name,
            stateDir: paths.stateDir,
            ...(boundDigest ? { inputSha256: boundDigest } : {}),
          },
        }),
    );
    principal = established.principal;
    if (established.tokenIgnored) {
      warn({ rule: 'identity.token', actual: 'a token was presented', limit: 'off', message: 'a token was presented but this policy does not use tokens (identity.token: off); it was ignored', hint: 'drop the token, or use a policy that verifies it' });
    }
    const authz = authorize(principal, policy.authorization, { operation: chosen.name, rawArgs: raw });
    if (!authz.allowed) {
      const err = new ZtError('unauthorized', authz.reason, { hint: authz.violations[0]?.hint ?? 'check authorization.rules in the policy', violations: authz.violations });
      if (enforce) throw err;
      for (const v of authz.violations) warn({ ...v, message: `[${policy.mode}] would refuse: ${v.message}` });
    }
    report = await timer.time('inspect', () => inspectInput(req.input, policy, tools!, { digestNow: false }));
    for (const [k, v] of Object.entries(report.timings)) timer.t[`inspect.${k}`] = Math.round(v * 10) / 10;
    if (boundDigest !== undefined && report.digest !== undefined && report.digest.sha256 !== boundDigest) {
      throw new ZtError('input-refused', 'the input changed between the token check and the inspection', {
        hint: 'do not modify files while zt-ffmpeg processes them',
        violations: [{ rule: 'input.unchanged', actual: report.digest?.sha256 ?? 'unknown', limit: boundDigest, message: 'the sha256 of the input changed during the job' }],
      });
    }
    const authzRule = authz.allowed ? authz.ruleId : authz.ruleId ?? 'authorization.default';

    for (const v of report.warnings) warn(v);
    if (report.violations.length > 0) {
      const err = new ZtError('input-refused', `input refused by policy: ${report.violations.map((v) => v.message).join('; ')}`, { hint: report.violations[0]?.hint, violations: report.violations });
      if (enforce || !report.probe) throw err;
      for (const v of report.violations) warn({ ...v, message: `[${policy.mode}] would refuse: ${v.message}` });
    }
    const probe = report.probe;
    if (!probe || !report.digest) throw new ZtError('internal', 'inspection returned no probe', {});

    if (policy.input.deepCheck) {
      const dv = await timer.time('deepCheck', () => deepCheck(report!, policy, tools!));
      if (dv.length > 0) throw new ZtError('input-refused', `input refused by the deep check: ${dv.map((v) => v.message).join('; ')}`, { hint: dv[0]?.hint, violations: dv });
    }

    // Plan.
    const l = policy.limits;
    const outName = `output.${chosen.extension}`;
    ffmpegArgv = buildFfmpegArgv({
      ffmpegPath: tools.ffmpeg,
      inputPath: sandboxInputPath(report, tools.sandbox.degraded),
      outputPath: tools.sandbox.degraded ? outName : `${SANDBOX_JOB_DIR}/${outName}`,
      demuxer: demuxerNames(probe.formatName)[0] ?? 'none',
      codecs: probedCodecs(probe),
      maxPixels: policy.input.maxPixels,
      maxDurationSeconds: policy.input.maxDurationSeconds,
      threads: l.ffmpegThreads,
      probesize: policy.input.probe.probesize,
      analyzeDurationUs: policy.input.probe.analyzeDurationUs,
      muxer: rawMuxer ?? chosen.target.format,
      ...(report.decodeHardening ? { hardening: report.decodeHardening } : {}),
      outputArgs,
      stats: req.onProgress !== undefined,
    });
    // The learned baseline of this operation (vetted templates only: raw arguments vary too much).
    const mediaSeconds = !raw && !chosen.target.still && probe.duration !== undefined ? Math.min(probe.duration, policy.input.maxDurationSeconds) : undefined;
    const baselineKey = mediaSeconds !== undefined ? { operation: chosen.name, target: chosen.extension } : undefined;
    const baseline = baselineKey && !req.dryRun ? await readBaseline(paths.auditLog, baselineKey).catch(() => undefined) : undefined;
    const runSpec = {
      tools: tools.sandbox,
      command: ffmpegArgv,
      inputFd: report.input.handle.fd,
      inputName: report.sandboxName,
      ...(tools.seccompFile ? { seccompFile: tools.seccompFile } : {}),
      tmpfsBytes: mib(policy.sandbox.tmpfsMiB),
      grants: policy.sandbox.grants,
      rlimits: { addressSpaceBytes: mib(l.addressSpaceMiB), cpuSeconds: l.cpuSeconds, fileSizeBytes: mib(l.outputMaxMiB), openFiles: l.openFiles },
      wallMs: l.wallSeconds * 1000,
      monitor: {
        sampleMs: policy.monitor.sampleMs, maxThreads: l.maxThreads, addressSpaceBytes: mib(l.addressSpaceMiB), onMemorySpike: policy.monitor.onMemorySpike, onEscapeAttempt: policy.monitor.onEscapeAttempt,
        ...(baseline && mediaSeconds !== undefined ? { slowJob: { baseline, mediaSeconds, factor: policy.monitor.baselineFactor, action: policy.monitor.onSlowJob } } : {}),
      },
      ...(baselineKey && mediaSeconds !== undefined ? { media: { seconds: mediaSeconds, baselineKey: baselineKeyString(baselineKey) } } : {}),
    };
    const sandbox = {
      profile: tools.sandbox.degraded ? 'degraded' : 'bwrap',
      seccomp: tools.seccompProfile,
      ...(tools.seccompHash ? { seccompSha256: tools.seccompHash } : {}),
      limits: l,
      grants: policy.sandbox.grants,
      ...(baseline ? { baseline } : {}),
    };
    if (req.dryRun) {
      const shown = sandboxCommandLines({ ...runSpec, jobDir: path.join(target.dir, '.zt-ffmpeg-job-XXXXXX') }, { input: 3, ...(tools.seccompFile ? { seccomp: 4 } : {}) });
      const seccompProfile = tools.seccompFile && policy.sandbox.seccomp !== 'none' ? describeProfile(policy.sandbox.seccomp) : undefined;
      return finish('ok', undefined, {
        dryRun: {
          argv: shown.argv,
          commands: { prlimit: shown.prlimit, ...(shown.bwrap ? { bwrap: shown.bwrap } : {}), ffmpeg: shown.command },
          shell: shown.shell,
          ffmpeg: ffmpegArgv,
          sandbox,
          seccompProfile: seccompProfile ?? { profile: tools.seccompProfile, note: 'no seccomp filter' },
          binaries: tools.binaries,
          fds: { 3: report.input.path, ...(tools.seccompFile ? { 4: `seccomp program (${tools.seccompProfile})` } : {}) },
        },
      });
    }

    await sweepStaleJobDirs(target.dir);
    jobDir = await makeJobDir(target);
    // The decision record: written before ffmpeg starts, or ffmpeg does not start.
    await timer.time('audit', () =>
      record({
        type: 'decision',
        ...common(),
        decision: 'allow',
        authorization: { rule: authzRule },
        operation: chosen!.name,
        ffmpegArgv,
        binaries: tools!.binaries,
        sandbox,
        output: { path: target!.path },
        warnings,
      }),
    );

    let lastProgress = 0;
    runOutcome = await timer.time('run', () =>
      supervise({
        ...runSpec,
        jobDir,
        ...(req.onProgress
          ? {
              onStderr: (chunk: string) => {
                const m = /time=(\d+):(\d+):(\d+(?:\.\d+)?)[^\n\r]*?speed=\s*([\d.]+x|N\/A)?/.exec(chunk);
                if (m) {
                  const seconds = Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]);
                  if (seconds !== lastProgress) req.onProgress?.({ seconds, speed: m[4], total: probe.duration });
                  lastProgress = seconds;
                }
              },
            }
          : {}),
      }),
    );
    for (const a of runOutcome.anomalies) warn({ rule: `monitor.${a.kind}`, actual: a.evidence ?? a.message, limit: a.action, message: `anomaly: ${a.message}` });
    if (runOutcome.sandboxFailed || runOutcome.spawnFailed) {
      throw new ZtError('sandbox-unavailable', `the sandbox could not start ffmpeg: ${firstLine(runOutcome.stderr)}`, { hint: 'run `zt-ffmpeg doctor`' });
    }
    if (runOutcome.killedFor) {
      const b = runOutcome.killedFor;
      throw new ZtError(b.rule.startsWith('monitor.') ? 'killed-by-monitor' : 'limit-breached', `job killed: ${b.message}`, {
        hint: b.rule === 'limits.wallSeconds' ? 'the input is too heavy for this policy; raise limits.wallSeconds or use a smaller input' : 'the job broke a limit of the policy; it was killed with its whole process tree',
        violations: [{ rule: b.rule, actual: b.actual, limit: b.limit, message: b.message }],
      });
    }
    if (runOutcome.exitCode !== 0) {
      const lim = runOutcome.limit;
      if (lim) {
        throw new ZtError('limit-breached', `job stopped by a resource limit: ${lim.message}`, {
          hint: 'the input needs more than this policy allows',
          violations: [{ rule: lim.rule, actual: runOutcome.signal ?? runOutcome.exitCode, limit: ruleLimit(lim.rule, l), message: lim.message }],
        });
      }
      throw new ZtError('ffmpeg-failed', `ffmpeg failed (${runOutcome.signal ?? `exit ${runOutcome.exitCode}`}): ${lastLines(runOutcome.stderr)}`, {
        hint: 'the input may be corrupt, or the arguments wrong for it; the diagnostics are in the audit record',
      });
    }

    // The bytes validated must be the bytes decoded.
    const tmpOut = path.join(jobDir, outName);
    const expectedDuration = probe.duration !== undefined ? Math.min(probe.duration, policy.input.maxDurationSeconds) : undefined;
    const [inputStill, verified] = await timer.time('verify', () =>
      Promise.all([
        (async () => {
          const st = await report!.input.handle.stat();
          if (!sameIdentity(identityOf(st), report!.identity)) return false;
          const again = await digestInput(report!.input.handle, st.size);
          return again.sha256 === report!.digest!.sha256;
        })(),
        verifyOutput(tmpOut, raw ? undefined : chosen!.target, raw ? undefined : expectedDuration, {
          sandbox: tools!.sandbox,
          ffprobe: tools!.ffprobe,
          seccompFile: tools!.seccompFile,
          probeTimeoutSeconds: policy.input.probe.timeoutSeconds,
          stateDir: tools!.stateDir,
          ...(tools!.binaries.ffprobe ? { ffprobeSha256: tools!.binaries.ffprobe.sha256 } : {}),
        }),
      ]),
    );
    if (!inputStill) {
      throw new ZtError('input-refused', 'the input changed while the job ran; the output is discarded', {
        hint: 'do not modify files while zt-ffmpeg processes them',
        violations: [{ rule: 'input.unchanged', actual: 'modified during the job', limit: 'the validated bytes', message: 'inode, size, times or sha256 of the input changed after inspection' }],
      });
    }
    if (verified.violations.length > 0) {
      throw new ZtError('ffmpeg-failed', `the output failed verification: ${verified.violations.map((v) => v.message).join('; ')}`, {
        hint: 'the output was not published',
        violations: verified.violations,
      });
    }
    await timer.time('publish', () => publish(tmpOut, target!));
    let provenance: string | undefined;
    if (policy.audit.intoto) {
      const key = await loadSigningKey(paths.auditKey, { autoGenerate: false });
      provenance = await writeProvenance(
        {
          output: { path: target.path, sha256: verified.sha256 },
          input: { path: report.input.path, sha256: report.digest.sha256 },
          policy: { path: loaded.path, sha256: loaded.sha256, stage: policy.stage },
          operation: chosen.name,
          principal: principalRecord(principal),
          audit: { log: paths.auditLog, decisionSeq: seqs[0], jobId },
          tool: { name: 'zt-ffmpeg', version: VERSION },
        },
        key,
      );
    }
    const output = { path: target.path, size: verified.size, sha256: verified.sha256, ...(verified.probe ? { probe: summarizeProbe(verified.probe) } : {}), ...(provenance ? { provenance } : {}) };
    return finish('ok', undefined, { output, run: runRecord(runOutcome) });
  } catch (e) {
    if (!isZtError(e)) throw e;
    const verdict: Verdict = ['input-refused', 'output-refused', 'unauthenticated', 'unauthorized', 'usage', 'policy-invalid', 'policy-signature'].includes(e.reason) ? 'refused' : 'failed';
    return finish(verdict, e, runOutcome ? { run: runRecord(runOutcome) } : {});
  }
}

function inputRecord(r: InspectReport): NonNullable<JobOutcome['input']> {
  return {
    path: r.input.path,
    size: r.input.stat.size,
    ...(r.digest ? { sha256: r.digest.sha256 } : {}),
    ...(r.magic.type ? { magic: r.magic.type } : {}),
    ...(r.probe ? { probe: summarizeProbe(r.probe) } : {}),
    ...inspectionSummary(r),
  };
}

function runRecord(r: SupervisedOutcome): NonNullable<JobOutcome['run']> {
  return {
    exitCode: r.exitCode,
    signal: r.signal,
    wallMs: Math.round(r.wallMs),
    peaks: r.peaks,
    anomalies: r.anomalies,
    ...(r.killedFor ? { breach: r.killedFor } : {}),
    leftBehind: r.leftBehind,
    ...(r.mediaSeconds !== undefined ? { mediaSeconds: r.mediaSeconds } : {}),
    ...(r.baselineKey !== undefined ? { baselineKey: r.baselineKey } : {}),
    ...(r.exitCode !== 0 ? { stderrTail: r.stderr.slice(-2000) } : {}),
  };
}

function ruleLimit(rule: string, l: { cpuSeconds: number; outputMaxMiB: number; addressSpaceMiB: number }): string {
  if (rule === 'limits.cpuSeconds') return `${l.cpuSeconds} s`;
  if (rule === 'limits.outputMaxMiB') return `${l.outputMaxMiB} MiB`;
  if (rule === 'limits.addressSpaceMiB') return `${l.addressSpaceMiB} MiB`;
  return rule;
}


function lastLines(s: string): string {
  return s.trim().split('\n').slice(-3).join(' | ').slice(0, 600);
}

/** Gathering the facts the maturity checklist judges: real probes of this machine, bounded in time. */
import { stat, readFile, access, mkdir } from 'node:fs/promises';
import { constants } from 'node:fs';
import path from 'node:path';
import type { LoadedPolicy } from '../policy/types.js';
import { checkPosture } from '../posture/binaries.js';
import { supervise, type SandboxTools } from '../sandbox/supervise.js';
import { mib } from '../sandbox/prlimit.js';
import { buildSeccompProgram, hostSeccompArch } from '../sandbox/seccomp/index.js';
import { loadTrustedKeys, loadPublicKeyFile, keyIdOf, publicKeyPathFor } from '../keys/index.js';
import { decodeCheckpoint, checkpointPathFor, checkpointSignatureValid } from '../audit/checkpoint.js';
import { ciContext } from '../identity/principal.js';
import { resolveSandboxIdentity, type SandboxIdentity } from '../sandbox/identity.js';
import { isZtError } from '../errors.js';
import type { Env, StatePaths } from '../util/paths.js';
import type { DoctorFacts } from './controls.js';
import { readFileSync } from 'node:fs';
import type { ProcessTree } from '../monitor/proc.js';

async function sandboxed(tools: SandboxTools, command: string[], seccompProgram?: Buffer, onTree?: (tree: ProcessTree) => void): Promise<{ ok: boolean; out: string; err: string }> {
  const r = await supervise({
    tools,
    command,
    ...(onTree ? { onTree } : {}),
    ...(seccompProgram ? { seccompProgram } : {}),
    tmpfsBytes: mib(8),
    grants: { fonts: false, gpu: false },
    // The jobs' task ceiling too (prlimit inside the sandbox), so the doctor's run is a job's.
    rlimits: { addressSpaceBytes: mib(512), cpuSeconds: 5, fileSizeBytes: mib(1), openFiles: 64, tasks: 16 },
    wallMs: 10_000,
  });
  return { ok: r.exitCode === 0 && !r.sandboxFailed, out: r.stdout, err: r.stderr.trim().split('\n')[0] ?? '' };
}

/**
 * The host uid the sandboxed processes really run as (never 0), read on the host from
 * /proc/PID/status of the tree's members while it runs: the uid_map seen from inside names the
 * parent namespace, which bwrap nests when it remounts /dev, so only the host's view is proof.
 * And /proc/sys is masked inside.
 */
async function hostUidSeenInside(tools: SandboxTools, id: SandboxIdentity): Promise<{ ok: boolean; detail: string }> {
  const uids = new Set<number>();
  let poll: ReturnType<typeof setInterval> | undefined;
  const r = await sandboxed(tools, ['/usr/bin/sh', '-c', 'ls /proc/sys | wc -l; /usr/bin/sleep 0.3'], undefined, (tree) => {
    let n = 0;
    poll = setInterval(() => {
      for (const p of tree.scan()) {
        const m = /^Uid:\s+(\d+)/m.exec(readFileSafe(`/proc/${p.pid}/status`));
        if (m) uids.add(Number(m[1]));
      }
      if (++n > 40) clearInterval(poll);
    }, 25);
  });
  clearInterval(poll);
  if (!r.ok) return { ok: false, detail: `the sandbox did not start as uid ${id.uid}: ${r.err}` };
  const masked = r.out.trim().split('\n')[0]?.trim() === '0';
  const seen = [...uids].sort((a, b) => a - b);
  const who = id.dropped ? `the dedicated user ${id.user}` : 'the caller';
  return {
    ok: seen.length > 0 && !seen.includes(0) && seen.every((u) => u === id.uid) && masked,
    detail: `the sandboxed tree runs as host uid ${seen.length > 0 ? seen.join(', ') : '?'} (${who}); /proc/sys ${masked ? 'masked' : 'VISIBLE'}`,
  };
}

function readFileSafe(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

export async function gatherFacts(loaded: LoadedPolicy, paths: StatePaths, env: Env, externalKeyring: boolean, signatureError?: string): Promise<DoctorFacts> {
  const policy = loaded.policy;
  let sandboxWorks = { ok: false, detail: 'bwrap or prlimit missing' };
  let seccompWorks = { ok: false, detail: 'not checked (no sandbox)' };
  let networkIsolated = { ok: false, detail: 'not checked (no sandbox)' };
  let identity: SandboxIdentity | undefined;
  let sandboxUser = { ok: false, detail: 'not checked (no sandbox)' };
  try {
    identity = await resolveSandboxIdentity(policy.sandbox.user);
  } catch (e) {
    if (!isZtError(e)) throw e;
    sandboxUser = { ok: false, detail: e.message };
  }
  const posture = await checkPosture(policy.posture, ['ffmpeg', 'ffprobe', 'bwrap', 'prlimit'], paths.postureCache, identity?.dropped ? { uid: identity.uid, gid: identity.gid } : undefined);
  await posture.release();
  const bwrap = posture.binaries.bwrap?.path;
  const prlimit = posture.binaries.prlimit?.path;
  if (bwrap && prlimit && identity) {
    const tools: SandboxTools = { bwrap, prlimit, degraded: false, ...(identity.dropped ? { runAs: { uid: identity.uid, gid: identity.gid } } : {}) };
    sandboxUser = await hostUidSeenInside(tools, identity);
    const net = await sandboxed(tools, ['/usr/bin/cat', '/proc/net/dev']);
    sandboxWorks = { ok: net.ok, detail: net.ok ? `bwrap ${posture.binaries.bwrap?.version ?? ''} builds the sandbox` : `bwrap failed: ${net.err}` };
    if (net.ok) {
      const ifaces = net.out.split('\n').slice(2).map((l) => l.split(':')[0]?.trim()).filter((x): x is string => !!x);
      networkIsolated = { ok: ifaces.every((i) => i === 'lo'), detail: `interfaces inside: ${ifaces.join(', ') || 'none'}` };
      if (policy.sandbox.seccomp !== 'none') {
        const st = await sandboxed(tools, ['/usr/bin/cat', '/proc/self/status'], buildSeccompProgram(policy.sandbox.seccomp, hostSeccompArch()));
        const loadedFilter = /^Seccomp:\s+2$/m.test(st.out);
        seccompWorks = { ok: st.ok && loadedFilter, detail: st.ok ? (loadedFilter ? `${policy.sandbox.seccomp} filter loads (Seccomp: 2)` : 'filter not in effect') : `failed: ${st.err}` };
      } else seccompWorks = { ok: false, detail: 'no seccomp profile' };
    }
  }
  // Audit key and log.
  let auditKey: DoctorFacts['auditKey'] = { exists: false, path: paths.auditKey };
  try {
    const st = await stat(paths.auditKey);
    let keyId: string | undefined;
    try {
      keyId = keyIdOf(await loadPublicKeyFile(publicKeyPathFor(paths.auditKey)));
    } catch {
      /* no public key beside it */
    }
    auditKey = { exists: true, mode: (st.mode & 0o777).toString(8), path: paths.auditKey, ...(keyId ? { keyId } : {}) };
  } catch {
    /* missing */
  }
  let writable = false;
  let detail: string;
  try {
    await mkdir(path.dirname(paths.auditLog), { recursive: true, mode: 0o700 });
    await access(path.dirname(paths.auditLog), constants.W_OK);
    writable = true;
    detail = `${paths.auditLog}`;
  } catch (e) {
    detail = `${paths.auditLog}: ${(e as NodeJS.ErrnoException).code ?? 'not writable'}`;
  }
  let checkpoint: DoctorFacts['auditLog']['checkpoint'] = 'absent';
  try {
    const data = await readFile(checkpointPathFor(paths.auditLog));
    const d = decodeCheckpoint(data);
    if (!d.ok) checkpoint = 'mismatch';
    else {
      const trusted = await loadTrustedKeys({ keyFiles: [publicKeyPathFor(paths.auditKey)] }).catch(() => undefined);
      const pub = trusted?.get(d.keyid);
      checkpoint = pub ? (checkpointSignatureValid(d, pub) ? 'ok' : 'mismatch') : 'unverifiable';
    }
  } catch {
    /* absent */
  }
  // Issuer keys.
  const problems: string[] = [];
  for (const iss of policy.identity.issuers) {
    if (iss.jwksFile) {
      const f = path.resolve(path.dirname(loaded.path), iss.jwksFile);
      try {
        const j = JSON.parse(await readFile(f, 'utf8')) as { keys?: unknown[] };
        if (!Array.isArray(j.keys) || j.keys.length === 0) problems.push(`${iss.id}: ${f} has no keys`);
      } catch (e) {
        problems.push(`${iss.id}: ${f}: ${(e as NodeJS.ErrnoException).code ?? 'unreadable'}`);
      }
    }
  }
  const ci = ciContext(env);
  return {
    policy,
    policyPath: loaded.path,
    policySignedBy: loaded.signedBy,
    ...(signatureError ? { policySignatureError: signatureError } : {}),
    externalPolicyKeyring: externalKeyring,
    posture,
    sandboxWorks,
    sandboxUser,
    seccompWorks,
    networkIsolated,
    auditKey,
    auditLog: { path: paths.auditLog, writable, checkpoint, detail },
    issuerKeys: { ok: problems.length === 0, detail: problems.length === 0 ? `${policy.identity.issuers.length} issuer(s) readable` : problems.join('; ') },
    ci: ci ? `${ci.provider} ${ci.repository ?? ''}` : undefined,
  };
}

import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { signPolicyFile } from '../../policy/signature.js';
import { loadSigningKey } from '../../keys/index.js';
import { readPolicyFile, mergePolicy, loadBundledData } from '../../policy/load.js';
import { STAGES, type Stage } from '../../policy/types.js';
import { checkPosture } from '../../posture/binaries.js';
import { resolveSandboxIdentity } from '../../sandbox/identity.js';
import { statePaths } from '../../util/paths.js';
import { JSON_SCHEMA_VERSION } from '../render.js';
import type { CommandContext } from '../context.js';
import { EXIT, ZtError, type ExitCode } from '../../errors.js';
import type { PostureConfig } from '../../policy/types.js';

/** `zt-ffmpeg policy sign FILE --key KEY`: a detached Ed25519 signature in FILE.sig. */
export async function policySignCommand(ctx: CommandContext, file: string, flags: { key: string }): Promise<ExitCode> {
  // Only a valid policy is worth signing.
  await readPolicyFile(file);
  const key = await loadSigningKey(flags.key, { autoGenerate: false });
  const sigPath = await signPolicyFile(file, key.privateKey, key.keyId);
  if (ctx.io.json) ctx.io.emitJson({ schemaVersion: JSON_SCHEMA_VERSION, command: 'policy sign', exitCode: EXIT.ok, policy: file, signature: sigPath, keyId: key.keyId });
  else ctx.io.info(`${ctx.io.style.green('✓ signed')} ${file} → ${sigPath} (key ${key.keyId})`);
  return EXIT.ok;
}

/**
 * `zt-ffmpeg policy pin FILE`: fill posture.binaries.*.sha256 (and path) from this machine, and
 * identity.issuers[].jwksSha256 from the JWKS files the policy names (a signed policy must pin
 * every file it relies on). Edits only the pin lines, keeping the file's comments; re-sign the
 * policy afterwards.
 */
export async function policyPinCommand(ctx: CommandContext, file: string): Promise<ExitCode> {
  const parsed = await readPolicyFile(file);
  // A policy that extends a stage pins the stage's binaries; the pins go into its own file.
  const parent = parsed.data['extends'];
  const merged = typeof parent === 'string' && (STAGES as readonly string[]).includes(parent) ? (mergePolicy(await loadBundledData(parent as Stage), parsed.data) as Record<string, unknown>) : parsed.data;
  const posture = merged['posture'] as PostureConfig | undefined;
  if (!posture?.binaries) throw new ZtError('policy-invalid', `${file} has no posture.binaries section to pin`, { hint: 'start from a bundled policy (zt-ffmpeg policy show advanced)' });
  const report = await checkPosture({ ...posture, requireRootOwned: false, binaries: { ffmpeg: { ...(posture.binaries.ffmpeg.path ? { path: posture.binaries.ffmpeg.path } : {}) }, ffprobe: { ...(posture.binaries.ffprobe.path ? { path: posture.binaries.ffprobe.path } : {}) }, bwrap: { ...(posture.binaries.bwrap.path ? { path: posture.binaries.bwrap.path } : {}) } } }, ['ffmpeg', 'ffprobe', 'bwrap'], statePaths(ctx.env).postureCache, await pinRunAs());
  await report.release();
  if (report.missing.length > 0) throw new ZtError('binary-unavailable', `cannot pin: ${report.missing.join(', ')} not found`, { hint: 'install them first (./setup.sh)' });
  const doc = parseDocument(await readFile(file, 'utf8'));
  const pins: Record<string, { path: string; sha256: string; version: string }> = {};
  for (const name of ['ffmpeg', 'ffprobe', 'bwrap'] as const) {
    const b = report.binaries[name];
    if (!b) continue;
    doc.setIn(['posture', 'binaries', name, 'path'], b.path);
    doc.setIn(['posture', 'binaries', name, 'sha256'], b.sha256);
    pins[name] = { path: b.path, sha256: b.sha256, version: b.version };
  }
  const jwks = await pinKeySets(doc, parsed.data, merged, path.dirname(path.resolve(file)));
  await writeFile(file, doc.toString({ lineWidth: 0 }));
  if (ctx.io.json) ctx.io.emitJson({ schemaVersion: JSON_SCHEMA_VERSION, command: 'policy pin', exitCode: EXIT.ok, policy: file, pins, jwks });
  else {
    for (const [n, p] of Object.entries(pins)) ctx.io.info(`${ctx.io.style.green('✓ pinned')} ${n} ${p.path} ${p.version} sha256 ${p.sha256}`);
    for (const [id, j] of Object.entries(jwks)) ctx.io.info(`${ctx.io.style.green('✓ pinned')} issuer ${id} ${j.file} sha256 ${j.sha256}`);
    ctx.io.info('re-sign the policy if it is signed: zt-ffmpeg policy sign FILE --key KEY');
  }
  return EXIT.ok;
}

/**
 * jwksSha256 of every issuer that names a jwksFile (relative to the policy's directory). A policy
 * that extends a stage inherits the stage's issuers; pinning writes them into its own file, with
 * their pins (a list replaces its parent's when policies merge).
 */
async function pinKeySets(doc: ReturnType<typeof parseDocument>, own: Record<string, unknown>, merged: Record<string, unknown>, dir: string): Promise<Record<string, { file: string; sha256: string }>> {
  type Issuer = Record<string, unknown> & { id?: unknown; jwksFile?: unknown };
  const issuersOf = (d: Record<string, unknown>): Issuer[] | undefined => (d['identity'] as { issuers?: Issuer[] } | undefined)?.issuers;
  const inherited = issuersOf(own) === undefined;
  const issuers = (inherited ? issuersOf(merged) : issuersOf(own)) ?? [];
  const out: Record<string, { file: string; sha256: string }> = {};
  const pinned: Issuer[] = [];
  for (const [i, iss] of issuers.entries()) {
    if (typeof iss.jwksFile !== 'string') {
      pinned.push(iss);
      continue;
    }
    const file = path.resolve(dir, iss.jwksFile);
    const bytes = await readFile(file).catch((e: unknown) => {
      throw new ZtError('policy-invalid', `cannot pin identity.issuers[${String(iss.id)}].jwksFile ${file}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`, { hint: 'write the JWKS file first' });
    });
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    if (!inherited) doc.setIn(['identity', 'issuers', i, 'jwksSha256'], sha256);
    pinned.push({ ...iss, jwksSha256: sha256 });
    out[String(iss.id)] = { file, sha256 };
  }
  if (inherited && Object.keys(out).length > 0) doc.setIn(['identity', 'issuers'], doc.createNode(pinned));
  return out;
}

/** A root caller runs the binaries it pins as the sandbox user (when there is one), never as root. */
async function pinRunAs(): Promise<{ uid: number; gid: number } | undefined> {
  const id = await resolveSandboxIdentity(undefined).catch(() => undefined);
  return id?.dropped ? { uid: id.uid, gid: id.gid } : undefined;
}

/**
 * `zt-ffmpeg policy explain FILE` and `zt-ffmpeg policy diff A B`: a policy, and a policy
 * change, in words a reviewer reads in a pull request.
 *
 * Both read what the file says (schema and stage checked); neither checks a detached
 * signature, since a reviewer compares proposed text before it is signed.
 */
import { loadPolicy } from '../../policy/load.js';
import { explainPolicy } from '../../policy/explain.js';
import { sandboxPreview } from '../../plan/sandbox-preview.js';
import { diffPolicies, PILLAR_TITLES, type RuleDiff, type Pillar } from '../../policy/diff.js';
import { JSON_SCHEMA_VERSION } from '../render.js';
import type { CommandContext } from '../context.js';
import { EXIT, ZtError, type ExitCode } from '../../errors.js';

export async function policyExplainCommand(ctx: CommandContext, file: string | undefined): Promise<ExitCode> {
  const { io } = ctx;
  const l = await loadPolicy(file ?? ctx.env['ZT_FFMPEG_POLICY']);
  const e = explainPolicy(l.policy);
  if (io.json) {
    io.emitJson({ schemaVersion: JSON_SCHEMA_VERSION, command: 'policy explain', exitCode: EXIT.ok, path: l.path, sha256: l.sha256, ...e, sandbox: sandboxPreview(l.policy) });
    return EXIT.ok;
  }
  const s = io.style;
  io.out(`${s.bold(l.path)}`);
  io.out(e.summary);
  for (const p of e.pillars) {
    io.out('');
    io.out(s.bold(p.title));
    for (const a of p.allows) io.out(`  ${s.green('allows ')} ${a}`);
    for (const r of p.refuses) io.out(`  ${s.red('refuses')} ${r}`);
  }
  const sb = sandboxPreview(l.policy);
  io.out('');
  io.out(s.bold('The sandbox every job runs in'));
  io.out(`  ${sb.shell}`);
  io.out(s.dim('  (stdin: the seccomp program, handed over only once the job\'s decision record is written; fd 3: the input, opened once and bound read-only; fd 7: ffmpeg\'s -progress report; fd 8: bubblewrap\'s status; ffmpeg\'s own arguments: `zt-ffmpeg run --dry-run`)'));
  if ('denied' in sb.seccomp) {
    io.out(`  seccomp "${sb.seccomp.profile}" (sha256 ${sb.seccomp.sha256.slice(0, 16)}…): default ${sb.seccomp.defaultAction}`);
    if (sb.seccomp.allowed) io.out(s.dim(`    allowed: ${sb.seccomp.allowed.join(' ')}`));
    if (sb.seccomp.denied.length > 0) io.out(s.dim(`    refused: ${sb.seccomp.denied.join(' ')}`));
    if (sb.seccomp.conditional.length > 0) io.out(s.dim(`    conditional: ${sb.seccomp.conditional.join('; ')}`));
  } else io.out('  no seccomp filter');
  return EXIT.ok;
}

export interface DiffFlags {
  readonly all?: boolean;
  readonly failIfLooser?: boolean;
}

function show(v: unknown): string {
  if (v === undefined) return '(unset)';
  if (Array.isArray(v)) return v.length > 6 ? `[${v.slice(0, 6).map(String).join(', ')}, … ${v.length} items]` : `[${v.map(String).join(', ')}]`;
  const t = typeof v === 'string' ? v : JSON.stringify(v);
  return t.length > 70 ? t.slice(0, 69) + '…' : t;
}

export async function policyDiffCommand(ctx: CommandContext, fileA: string, fileB: string, flags: DiffFlags): Promise<ExitCode> {
  const { io } = ctx;
  const a = await loadPolicy(fileA);
  const b = await loadPolicy(fileB);
  const d = diffPolicies(a.policy, b.policy);
  const problems = d.rules.filter((r) => r.b === 'looser' || r.b === 'incomparable');
  const exitCode: ExitCode = flags.failIfLooser === true && problems.length > 0 ? EXIT.policyInvalid : EXIT.ok;
  if (io.json) {
    io.emitJson({
      schemaVersion: JSON_SCHEMA_VERSION,
      command: 'policy diff',
      exitCode,
      a: { path: a.path, sha256: a.sha256, stage: a.policy.stage },
      b: { path: b.path, sha256: b.sha256, stage: b.policy.stage },
      overall: d.overall,
      bStrictlyStronger: d.bStrictlyStronger,
      counts: d.counts,
      rules: d.rules,
    });
    return exitCode;
  }
  const s = io.style;
  const mark = (r: RuleDiff): string =>
    r.b === 'stricter' ? s.green('stricter    ') : r.b === 'looser' ? s.red('LOOSER      ') : r.b === 'incomparable' ? s.yellow('changed     ') : s.dim('same        ');
  io.out(`A: ${a.path} (${a.policy.stage})`);
  io.out(`B: ${b.path} (${b.policy.stage})`);
  const byPillar = new Map<Pillar, RuleDiff[]>();
  for (const r of d.rules) if (flags.all === true || r.b !== 'same') byPillar.set(r.pillar, [...(byPillar.get(r.pillar) ?? []), r]);
  for (const [pillar, rules] of byPillar) {
    io.out('');
    io.out(s.bold(PILLAR_TITLES[pillar]));
    for (const r of rules) {
      io.out(`  ${mark(r)} ${r.rule}: ${show(r.valueA)} → ${show(r.valueB)}`);
      if (r.added && r.added.length > 0) io.out(s.dim(`               + ${r.added.join(', ')}`));
      if (r.removed && r.removed.length > 0) io.out(s.dim(`               - ${r.removed.join(', ')}`));
      if (r.b !== 'same') io.out(s.dim(`               ${r.note}`));
    }
  }
  io.out('');
  io.out(`B is ${d.overall === 'mixed' ? 'stricter on some rules and looser or changed on others' : d.overall} than A: ${d.counts.stricter} stricter, ${d.counts.looser} looser, ${d.counts.incomparable} changed, ${d.counts.same} same`);
  if (exitCode !== EXIT.ok) {
    throw new ZtError('policy-invalid', `policy ${b.path} is looser than ${a.path} on ${problems.length} rule(s) or changes them in a way that cannot be ordered`, {
      hint: 'review the LOOSER and changed rules above; drop --fail-if-looser to only report',
      violations: problems.map((r) => ({ rule: r.rule, actual: r.valueB, limit: r.valueA, message: r.note })),
    });
  }
  return exitCode;
}

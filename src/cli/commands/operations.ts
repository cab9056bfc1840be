/** `zt-ffmpeg operations`: the vetted operations of the policy, their descriptions and targets. */
import { loadJobPolicy } from '../../policy/load-trusted.js';
import { resolveBaseSettings } from '../settings.js';
import { JSON_SCHEMA_VERSION } from '../render.js';
import type { CommandContext } from '../context.js';
import { EXIT, type ExitCode } from '../../errors.js';

export async function operationsCommand(ctx: CommandContext, flags: { policy?: string }): Promise<ExitCode> {
  const { io } = ctx;
  const { ref, keyring } = resolveBaseSettings(ctx, flags).policy;
  const l = await loadJobPolicy(ref, keyring ? { keyring } : {});
  const ops = l.policy.operations;
  const list = Object.entries(ops.list).map(([name, op]) => ({
    name,
    description: op.description,
    default: name === ops.default,
    targets: Object.entries(op.targets).map(([ext, t]) => ({ ext, format: t.format, still: t.still === true })),
  }));
  if (io.json) {
    io.emitJson({ schemaVersion: JSON_SCHEMA_VERSION, command: 'operations', exitCode: EXIT.ok, policy: { path: l.path, sha256: l.sha256, stage: l.policy.stage }, default: ops.default, allowRawArgs: ops.allowRawArgs, operations: list });
    return EXIT.ok;
  }
  const width = Math.max(...list.map((o) => o.name.length));
  for (const o of list) {
    io.out(`${io.style.bold(o.name.padEnd(width))}  ${o.description}${o.default ? io.style.dim('  (default)') : ''}`);
    io.out(`${' '.repeat(width)}  ${io.style.dim(`writes: ${o.targets.map((t) => '.' + t.ext).join(' ')}`)}`);
  }
  io.out(io.style.dim(`raw arguments after --: ${ops.allowRawArgs ? 'allowed through the argument firewall, in place of the default operation\'s template (not with --operation)' : 'not allowed by this policy'}`));
  return EXIT.ok;
}

/**
 * Choosing the vetted argument template: the operation named with --operation (or the
 * policy's default), and its target for the output's extension.
 */
import { ZtError } from '../errors.js';
import type { Operation, OperationTarget, Policy } from '../policy/types.js';

export interface ChosenOperation {
  readonly name: string;
  readonly operation: Operation;
  readonly extension: string;
  readonly target: OperationTarget;
}

export function chooseOperation(policy: Policy, requested: string | undefined, outputExtension: string): ChosenOperation {
  const name = requested ?? policy.operations.default;
  const operation = policy.operations.list[name];
  const names = Object.keys(policy.operations.list);
  if (!operation) {
    throw new ZtError('usage', `unknown operation "${name}"`, {
      hint: `choose one of: ${names.join(', ')} (see \`zt-ffmpeg policy show\`)`,
      violations: [{ rule: 'operations.list', actual: name, limit: names, message: `the policy has no operation "${name}"` }],
    });
  }
  const ext = outputExtension.toLowerCase();
  const target = operation.targets[ext];
  if (!target) {
    const exts = Object.keys(operation.targets);
    throw new ZtError('usage', `operation "${name}" cannot produce ".${ext}" files`, {
      hint: `name the output with one of: ${exts.map((e) => '.' + e).join(', ')}, or pick another --operation`,
      violations: [{ rule: `operations.${name}.targets`, actual: ext, limit: exts, message: `no target for .${ext}` }],
    });
  }
  return { name, operation, extension: ext, target };
}

/**
 * Choosing the vetted argument template: the operation named with --operation (or the
 * policy's default), and its target for the output's extension.
 */
import { ZtError } from '../errors.js';
import type { Operation, OperationTarget, Policy } from '../policy/types.js';

/** The rule ids of operation refusals (Violation.rule); the strings are part of the product. */
export const OPERATION_RULES = {
  /** An operation the policy does not define. */
  list: 'operations.list',
} as const;

/** `operations.NAME.targets`: the operation has no target for the output's extension. */
export type OperationTargetsRuleId = `operations.${string}.targets`;
export type OperationRuleId = (typeof OPERATION_RULES)[keyof typeof OPERATION_RULES] | OperationTargetsRuleId;

function targetsRule(name: string): OperationTargetsRuleId {
  return `operations.${name}.targets`;
}

export interface ChosenOperation {
  readonly name: string;
  readonly operation: Operation;
  readonly extension: string;
  readonly target: OperationTarget;
}

/** The operation named with --operation (or the policy's default); refuses an unknown one. */
export function findOperation(policy: Policy, requested: string | undefined): { name: string; operation: Operation } {
  const name = requested ?? policy.operations.default;
  const operation = policy.operations.list[name];
  if (!operation) {
    const names = Object.keys(policy.operations.list);
    throw new ZtError('usage', `unknown operation "${name}"`, {
      hint: `choose one of: ${names.join(', ')} (see \`zt-ffmpeg policy explain\`)`,
      violations: [{ rule: OPERATION_RULES.list, actual: name, limit: names, message: `the policy has no operation "${name}"` }],
    });
  }
  return { name, operation };
}

/** Refuses an extension the operation has no target for; `hint` says how to pick another. */
export function targetFor(name: string, operation: Operation, ext: string, hint: (exts: string[]) => string): OperationTarget {
  const target = operation.targets[ext];
  if (!target) {
    const exts = Object.keys(operation.targets);
    throw new ZtError('usage', `operation "${name}" cannot produce ".${ext}" files`, {
      hint: hint(exts),
      violations: [{ rule: targetsRule(name), actual: ext, limit: exts, message: `no target for .${ext}` }],
    });
  }
  return target;
}

export function chooseOperation(policy: Policy, requested: string | undefined, outputExtension: string): ChosenOperation {
  const { name, operation } = findOperation(policy, requested);
  const ext = outputExtension.toLowerCase();
  const target = targetFor(name, operation, ext, (exts) => `name the output with one of: ${exts.map((e) => '.' + e).join(', ')}, or pick another --operation`);
  return { name, operation, extension: ext, target };
}

/**
 * Binding a token to the data it may process, so that a token minted for one file cannot
 * process another: the audience form `zt-ffmpeg:<operation>:sha256:<hex>`, or the claims
 * `zt_operation` and `zt_input_sha256`. Pure functions.
 */
import type { InputBinding } from './types.js';

export const BINDING_CLAIM_OPERATION = 'zt_operation';
export const BINDING_CLAIM_SHA256 = 'zt_input_sha256';
const BINDING_AUD_RE = /^zt-ffmpeg:([^:]+):sha256:([0-9a-fA-F]{64})$/;
const SHA256_RE = /^[0-9a-f]{64}$/;

export function isSha256Hex(s: string): boolean {
  return SHA256_RE.test(s);
}

/** The audience a token bound to (operation, input digest) carries. */
export function bindingAudience(operation: string, inputSha256: string): string {
  return `zt-ffmpeg:${operation}:sha256:${inputSha256.toLowerCase()}`;
}

export function audienceList(aud: unknown): string[] {
  if (typeof aud === 'string') return [aud];
  if (Array.isArray(aud)) return aud.filter((a): a is string => typeof a === 'string');
  return [];
}

export type AudienceOutcome =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: 'audience' | 'binding'; readonly message: string; readonly found: unknown };

export interface BindingTarget {
  readonly operation: string;
  readonly inputSha256: string;
}

/**
 * Check `aud` (and, for claim binding, the binding claims) of a verified payload.
 * With audience binding the binding audience is itself an accepted audience (GitHub's OIDC
 * tokens carry exactly one audience, chosen by the workflow).
 */
export function checkAudienceAndBinding(
  payload: Readonly<Record<string, unknown>>,
  accepted: readonly string[],
  mode: InputBinding,
  target: BindingTarget | undefined,
): AudienceOutcome {
  const aud = audienceList(payload['aud']);
  const describe = (t: BindingTarget): string => `operation "${t.operation}" on input sha256:${t.inputSha256}`;
  if (mode === 'audience') {
    const bound = aud.filter((a) => BINDING_AUD_RE.test(a));
    if (target !== undefined && aud.includes(bindingAudience(target.operation, target.inputSha256))) return { ok: true };
    if (bound.length > 0 || aud.some((a) => accepted.includes(a))) {
      return {
        ok: false,
        reason: 'binding',
        message:
          target === undefined
            ? 'the policy binds tokens to the input, but no input digest was available to check the binding against'
            : `token is not bound to ${describe(target)}: expected aud to contain "${bindingAudience(target.operation, target.inputSha256)}", found ${bound.length > 0 ? bound.map((b) => `"${b}"`).join(', ') : 'no binding audience'}`,
        found: bound,
      };
    }
    return {
      ok: false,
      reason: 'audience',
      message: `token audience ${JSON.stringify(aud)} names neither an accepted audience (${accepted.join(', ')}) nor a zt-ffmpeg binding`,
      found: aud,
    };
  }
  if (!aud.some((a) => accepted.includes(a))) {
    return {
      ok: false,
      reason: 'audience',
      message: `token audience ${JSON.stringify(aud)} is not accepted: expected one of ${accepted.map((a) => `"${a}"`).join(', ')}`,
      found: aud,
    };
  }
  if (mode === 'claim') {
    const op = payload[BINDING_CLAIM_OPERATION];
    const sha = payload[BINDING_CLAIM_SHA256];
    if (target === undefined) {
      return {
        ok: false,
        reason: 'binding',
        message: 'the policy binds tokens to the input, but no input digest was available to check the binding against',
        found: { operation: op, inputSha256: sha },
      };
    }
    if (op !== target.operation || typeof sha !== 'string' || sha.toLowerCase() !== target.inputSha256) {
      return {
        ok: false,
        reason: 'binding',
        message: `token is not bound to ${describe(target)}: found ${BINDING_CLAIM_OPERATION}=${JSON.stringify(op)}, ${BINDING_CLAIM_SHA256}=${JSON.stringify(sha)}`,
        found: { operation: op, inputSha256: sha },
      };
    }
  }
  return { ok: true };
}

/**
 * The principal of one invocation: the OS user always, the CI context when the environment
 * claims one (recorded, not trusted), and a verified token where the policy asks for one.
 */
import { ciContext, osPrincipal, type Env } from './principal.js';
import type { VerifyContext } from './token.js';
import { ZtError } from '../errors.js';
import type { TokenInput } from './token-input.js';
import type { IdentityConfig, OsPrincipal, Principal } from './types.js';

export interface EstablishOptions {
  readonly identity: IdentityConfig;
  readonly token: TokenInput | undefined;
  /** The allow-listed environment (CI variables). */
  readonly env: Env;
  readonly verify: VerifyContext;
  /** Override for tests; default osPrincipal(). */
  readonly os?: OsPrincipal;
}

export interface Established {
  readonly principal: Principal;
  /** A token was presented but the policy has identity.token: off, so it was not used. */
  readonly tokenIgnored: boolean;
  readonly tokenSource?: TokenInput['source'];
}

export async function establishPrincipal(o: EstablishOptions): Promise<Established> {
  const os = o.os ?? osPrincipal();
  const ci = ciContext(o.env);
  const base: Principal = { os, ...(ci === undefined ? {} : { ci }) };
  if (o.identity.token === 'off') return { principal: base, tokenIgnored: o.token !== undefined };
  if (o.token === undefined || o.token.token === '') {
    if (o.identity.token === 'required') {
      throw noTokenError(
        'no-token',
        'the policy requires a signed token (identity.token: required), but none was presented',
        'pass --token JWT, --token-file FILE or set ZT_FFMPEG_TOKEN (zt-ffmpeg token mint issues one from a local key)',
      );
    }
    return { principal: base, tokenIgnored: false };
  }
  // A presented token is verified even when optional: a bad token is refused, never ignored.
  // jose is loaded only when there is a token to verify.
  const { verifyToken } = await import('./token.js');
  const token = await verifyToken(o.token.token, o.identity, o.verify);
  return { principal: { ...base, token }, tokenIgnored: false, tokenSource: o.token.source };
}

function noTokenError(reason: 'no-token', message: string, hint: string): ZtError {
  return new ZtError('unauthenticated', message, { hint, details: { reason } });
}

/**
 * Token verification, with tokens built byte by byte (header and payload JSON of any shape,
 * signed with a fixed trusted Ed25519 key, then sometimes mangled): claim names such as
 * `__proto__` and `constructor`, nested and huge values, odd algorithms and key ids.
 * Invariants: verifyToken resolves or fails with a ZtError; what it returns canonicalizes (it
 * goes into the audit record). Oracle: the kept claims are exactly the own keys of the payload
 * that pass the documented filter (name ≤ 128 characters, scalar or short string-array value,
 * at most 64), in payload order.
 */
import { sign } from 'node:crypto';
import { ZtError } from '../../../src/errors.js';
import { canonicalize } from '../../../src/audit/canonical.js';
import { verifyToken } from '../../../src/identity/token.js';
import type { IdentityConfig } from '../../../src/identity/types.js';
import { publicJwkOf } from '../../../src/keys/index.js';
import { fixedKey } from '../keys.js';
import { HOSTILE_KEYS, textHavoc } from '../mutate.js';
import type { Rng } from '../rng.js';
import { crash, type Target } from '../target.js';

const ISS = 'https://zt-ffmpeg.fuzz/issuer';
const NOW = new Date('2030-06-01T12:00:00Z');
const NOW_S = Math.floor(NOW.getTime() / 1000);
const KEY = fixedKey('token-issuer');
const b64 = (s: string | Buffer): string => Buffer.from(s).toString('base64url');

function claimValue(rng: Rng): unknown {
  return rng.pick<() => unknown>([
    () => 'v',
    () => rng.int(1000),
    () => rng.bool(),
    () => ['a', 'b'],
    () => Array.from({ length: rng.small(100) }, () => 'x'.repeat(rng.small(2000))),
    () => ({ nested: { deeper: [1, 2] } }),
    () => 'x'.repeat(rng.small(3000)),
    () => null,
    () => [1, 'a'],
  ])();
}

function payloadJson(rng: Rng): string {
  const parts: string[] = [
    `"iss":${JSON.stringify(rng.bool(0.95) ? ISS : 'https://other')}`,
    `"sub":${JSON.stringify(rng.pick(['alice', 'bob', 7]))}`,
    `"aud":${JSON.stringify(rng.pick(['zt-ffmpeg', ['zt-ffmpeg', 'x'], 'other']))}`,
    `"exp":${rng.pick([NOW_S + 600, NOW_S - 600, 'x', 1e20])}`,
  ];
  if (rng.bool()) parts.push(`"iat":${NOW_S - rng.int(1000)}`);
  if (rng.bool(0.2)) parts.push(`"nbf":${NOW_S + rng.int(1000) - 500}`);
  if (rng.bool()) parts.push(`"jti":"${rng.int(1e9)}"`);
  for (let n = rng.small(10); n > 0; n--) {
    const name = rng.bool(0.5) ? rng.pick(HOSTILE_KEYS) : rng.bool(0.05) ? 'n'.repeat(200) : `c${rng.int(100)}`;
    parts.push(`${JSON.stringify(name)}:${JSON.stringify(claimValue(rng))}`);
  }
  for (let i = parts.length - 1; i > 4; i--) {
    const j = 4 + rng.int(i - 3);
    [parts[i], parts[j]] = [parts[j]!, parts[i]!];
  }
  return `{${parts.join(',')}}`;
}

function token(rng: Rng): string {
  const header = JSON.stringify({ alg: rng.pick(['EdDSA', 'EdDSA', 'EdDSA', 'none', 'RS256', 'HS256', 'eddsa', '']), ...(rng.bool(0.7) ? { kid: rng.pick(['k1', 'other', '__proto__']) } : {}), typ: 'JWT' });
  const input = `${b64(header)}.${b64(payloadJson(rng))}`;
  const t = `${input}.${b64(sign(null, Buffer.from(input), KEY.privateKey))}`;
  if (!rng.bool(0.2)) return t;
  const [h, p, s] = t.split('.');
  return rng.pick([
    () => textHavoc(rng, t, ['.', '=', ' ', 'Bearer ', '..', 'A', '_', '-']),
    () => `${h}.${p}.`,
    () => `${h}.${b64(textHavoc(rng, Buffer.from(p!, 'base64url').toString(), ['{', '"__proto__":', '[', '1e999', ',']))}.${s}`,
    () => `${b64('{"alg":"none"}')}.${p}.`,
    () => t.repeat(2),
  ])();
}

/** The claims the documented filter keeps, from the payload's own keys in order. */
function plainClaims(payload: string): string[] {
  const o = JSON.parse(payload) as Record<string, unknown>;
  const kept: string[] = [];
  for (const name of Object.keys(o)) {
    if (kept.length >= 64) break;
    const v = Object.getOwnPropertyDescriptor(o, name)?.value;
    if (name.length > 128) continue;
    const ok =
      (typeof v === 'string' && v.length <= 1024) ||
      (typeof v === 'number' && Number.isFinite(v)) ||
      typeof v === 'boolean' ||
      (Array.isArray(v) && v.length <= 64 && v.every((x) => typeof x === 'string' && x.length <= 1024));
    if (ok) kept.push(name);
  }
  return kept;
}

export function tokenTarget(): Target<string> {
  const cfg: IdentityConfig = {
    token: 'required',
    issuers: [{ id: 'fuzz', issuer: ISS, audience: ['zt-ffmpeg'], keys: [{ ...publicJwkOf(KEY.publicKey), kid: 'k1' }], algorithms: ['EdDSA'], clockToleranceSeconds: 30 }],
    bindToInput: false,
    singleUseJti: false,
  } as IdentityConfig;
  return {
    name: 'token',
    sources: ['src/identity/token.ts', 'src/identity/binding.ts'],
    ext: 'jwt',
    generate: (rng) => token(rng),
    async check(t) {
      let v;
      try {
        v = await verifyToken(t, cfg, { now: NOW, policyDir: '/nonexistent', operation: 'transcode', stateDir: '/nonexistent', consumeJti: false });
      } catch (e) {
        return e instanceof ZtError && (e.exitCode === 4 || e.exitCode === 9) ? undefined : crash('verifyToken', e);
      }
      try {
        canonicalize(v);
      } catch (e) {
        return crash('canonicalize(the verified token, as the audit record holds it)', e);
      }
      const want = plainClaims(Buffer.from(t.trim().split('.')[1] ?? '', 'base64url').toString('utf8'));
      const got = Object.keys(v.claims);
      if (JSON.stringify(got) !== JSON.stringify(want)) return { kind: 'bypass', message: `kept claims ${JSON.stringify(got).slice(0, 200)}, a plain filter keeps ${JSON.stringify(want).slice(0, 200)}` };
      return undefined;
    },
    budgetMs: () => 200,
    encode: (t) => Buffer.from(t),
    decode: (b) => b.toString('utf8'),
  };
}

/**
 * JSON Schema (draft-07) fragments for the `identity` and `authorization` sections of a policy.
 * The policy schema (src/policy/schema.ts) embeds them. Every object is closed
 * (`additionalProperties: false`) and every property says what it is for.
 */
import { JWS_ALGORITHMS } from './types.js';

type JsonSchema = Record<string, unknown>;

/** Ids: what audit records and refusals name. */
const ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$';
const BASE64URL = '^[A-Za-z0-9_-]+$';

const patternList = (description: string): JsonSchema => ({
  type: 'array',
  minItems: 1,
  uniqueItems: true,
  items: { type: 'string', minLength: 1, maxLength: 256 },
  description,
});

const b64 = (description: string): JsonSchema => ({ type: 'string', pattern: BASE64URL, maxLength: 2048, description });

const publicJwkSchema: JsonSchema = {
  type: 'object',
  description: 'A public JSON Web Key (RFC 7517). Private ("d") or symmetric ("oct") keys are refused.',
  additionalProperties: false,
  required: ['kty'],
  properties: {
    kty: { enum: ['RSA', 'EC', 'OKP'], description: 'Key type: RSA, EC (P-256/384/521) or OKP (Ed25519).' },
    kid: { type: 'string', minLength: 1, maxLength: 256, description: 'Key id; tokens name it in their "kid" header.' },
    alg: { enum: [...JWS_ALGORITHMS], description: 'The one algorithm this key may verify, when the key set pins it.' },
    use: { const: 'sig', description: 'Public key use; only "sig" (signature verification) is meaningful here.' },
    key_ops: {
      type: 'array',
      items: { const: 'verify' },
      maxItems: 1,
      description: 'Permitted key operations; only "verify".',
    },
    crv: { enum: ['P-256', 'P-384', 'P-521', 'Ed25519'], description: 'Curve of an EC or OKP key.' },
    x: b64('EC/OKP public key x coordinate (base64url).'),
    y: b64('EC public key y coordinate (base64url).'),
    n: b64('RSA modulus (base64url).'),
    e: b64('RSA public exponent (base64url).'),
  },
};

const issuerSchema: JsonSchema = {
  type: 'object',
  description:
    'A trusted token issuer. Tokens are verified offline against its keys: give exactly one of jwksFile and keys.',
  additionalProperties: false,
  required: ['id', 'issuer', 'audience', 'algorithms'],
  oneOf: [
    { required: ['jwksFile'], properties: { jwksFile: true } },
    { required: ['keys'], properties: { keys: true } },
  ],
  properties: {
    id: {
      type: 'string',
      pattern: ID_PATTERN,
      description: 'Short name of this issuer, used by authorization rules (match.issuers) and audit records.',
    },
    issuer: {
      type: 'string',
      minLength: 1,
      maxLength: 512,
      description:
        'Exact "iss" claim, e.g. https://token.actions.githubusercontent.com or https://gitlab.com.',
    },
    audience: {
      type: 'array',
      minItems: 1,
      uniqueItems: true,
      items: { type: 'string', minLength: 1, maxLength: 512 },
      description:
        'Accepted "aud" values; the token must name at least one (with bindToInput: audience, the binding audience also counts).',
    },
    jwksFile: {
      type: 'string',
      minLength: 1,
      description: 'JSON Web Key Set file of the issuer, relative to the policy file\'s directory. Read offline; never fetched.',
    },
    jwksSha256: {
      type: 'string',
      pattern: '^[0-9a-f]{64}$',
      description: 'sha256 of jwksFile. A signed policy must pin every file it relies on (required at optimal; `zt-ffmpeg policy pin` fills it): swapping the JWKS then refuses the policy instead of admitting tokens the signer never trusted.',
    },
    keys: {
      type: 'array',
      minItems: 1,
      maxItems: 64,
      items: publicJwkSchema,
      description: 'Inline public keys of the issuer (a JWKS "keys" array).',
    },
    algorithms: {
      type: 'array',
      minItems: 1,
      uniqueItems: true,
      items: { enum: [...JWS_ALGORITHMS] },
      description:
        'Accepted "alg" header values (asymmetric only; "none" and HS* never are). GitHub and GitLab sign with RS256; zt-ffmpeg token mint with EdDSA.',
    },
    maxTokenAgeSeconds: {
      type: 'integer',
      minimum: 1,
      maximum: 604800,
      description: 'Refuse tokens issued ("iat") longer ago than this, whatever their "exp".',
    },
    clockToleranceSeconds: {
      type: 'integer',
      minimum: 0,
      maximum: 300,
      description: 'Clock skew tolerated on exp, nbf and iat (default 30).',
    },
    requiredClaims: {
      type: 'array',
      uniqueItems: true,
      items: { type: 'string', minLength: 1, maxLength: 128 },
      description: 'Claims that must be present, besides iss, sub, aud and exp which always are (e.g. repository, ref).',
    },
  },
};

export const identitySchema: JsonSchema = {
  type: 'object',
  description: 'Identity pillar: who is calling. The OS user always; a CI context when present (recorded, never trusted); a signed token where demanded.',
  additionalProperties: false,
  required: ['token', 'issuers', 'bindToInput', 'singleUseJti'],
  properties: {
    token: {
      enum: ['required', 'optional', 'off'],
      description:
        'Whether a JWT (--token, --token-file or ZT_FFMPEG_TOKEN) must be presented. optional verifies one when given; off ignores it.',
    },
    issuers: {
      type: 'array',
      maxItems: 32,
      items: issuerSchema,
      description: 'Trusted token issuers; a token from any other issuer is refused.',
    },
    bindToInput: {
      enum: [false, 'audience', 'claim'],
      description:
        'Bind tokens to the data: "audience" requires aud to contain zt-ffmpeg:<operation>:sha256:<input hex>; "claim" requires claims zt_operation and zt_input_sha256; false does not bind.',
    },
    singleUseJti: {
      type: 'boolean',
      description: 'Refuse a second use of the same token id (jti); the replay store lives under the state directory.',
    },
  },
};

const claimCondition: JsonSchema = {
  description: 'One pattern (exact, or glob with * and ?) or a list of patterns of which any may match.',
  oneOf: [
    { type: 'string', minLength: 1, maxLength: 256 },
    { type: 'array', minItems: 1, uniqueItems: true, items: { type: 'string', minLength: 1, maxLength: 256 } },
  ],
};

const ruleSchema: JsonSchema = {
  type: 'object',
  description: 'An authorization rule: who (match) may do what (allow).',
  additionalProperties: false,
  required: ['id', 'match', 'allow'],
  properties: {
    id: { type: 'string', pattern: ID_PATTERN, description: 'Rule id, recorded in the audit log and named in refusals.' },
    description: { type: 'string', description: 'Free text for humans.' },
    match: {
      type: 'object',
      description:
        'Conditions on the principal; all given conditions must hold. Patterns are exact or globs (* any run, ? one character). A missing claim never matches.',
      additionalProperties: false,
      minProperties: 1,
      properties: {
        users: patternList('OS user names; "*" matches any user.'),
        groups: patternList('OS group names; matches when any of the user\'s groups matches.'),
        issuers: patternList('Issuer ids (identity.issuers[].id); requires a verified token from one of them.'),
        claims: {
          type: 'object',
          description: 'Verified token claims: each listed claim must be present and match. Array claims match when any element does.',
          minProperties: 1,
          propertyNames: { pattern: '^[A-Za-z_][A-Za-z0-9_.:-]{0,127}$' },
          additionalProperties: claimCondition,
        },
      },
    },
    allow: {
      type: 'object',
      description: 'What a matching principal may do.',
      additionalProperties: false,
      required: ['operations'],
      properties: {
        operations: patternList('Operation names (or patterns); ["*"] allows every operation.'),
        rawArgs: {
          type: 'boolean',
          description: 'Allow raw passthrough ffmpeg arguments (still checked by the argument firewall). Default false.',
        },
      },
    },
  },
};

export const authorizationSchema: JsonSchema = {
  type: 'object',
  description: 'Who may run which operation. Rules are tried in order; the first whose match holds decides.',
  additionalProperties: false,
  required: ['default', 'rules'],
  properties: {
    default: {
      enum: ['deny', 'allow'],
      description: 'Decision when no rule matches. Must be "deny" at the advanced and optimal stages.',
    },
    rules: {
      type: 'array',
      maxItems: 256,
      items: ruleSchema,
      description: 'Ordered rules; the first whose match holds decides (its id is recorded).',
    },
  },
};

/**
 * The typed shapes of the identity pillar: the `identity` and `authorization` sections of a
 * policy (validated by the JSON Schema in schema.ts before they reach these types), the
 * principal of one invocation, and a verified token.
 */

/** Whether a signed token (JWT) must be presented. */
export type TokenRequirement = 'required' | 'optional' | 'off';

/**
 * Signature algorithms a policy may allow. Asymmetric only: an HMAC (HS*) algorithm would turn a
 * published verification key into a signing key, and `none` is no signature at all.
 */
export const JWS_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
] as const;
export type JwsAlgorithm = (typeof JWS_ALGORITHMS)[number];

/** A public JSON Web Key as a policy may carry it inline (no private or symmetric material). */
export interface PublicJwk {
  readonly kty: 'RSA' | 'EC' | 'OKP';
  readonly kid?: string;
  readonly alg?: string;
  readonly use?: 'sig';
  readonly key_ops?: readonly string[];
  readonly crv?: string;
  readonly x?: string;
  readonly y?: string;
  readonly n?: string;
  readonly e?: string;
}

/** One trusted token issuer and how its tokens are verified. */
export interface IssuerConfig {
  /** Short id used by authorization rules (`match.issuers`) and the audit record. */
  readonly id: string;
  /** The exact `iss` claim value. */
  readonly issuer: string;
  /** Accepted `aud` values; the token must name at least one. */
  readonly audience: readonly string[];
  /** JWKS file, relative to the policy file's directory. Exactly one of jwksFile and keys. */
  readonly jwksFile?: string;
  /** sha256 of the JWKS file: a signed policy pins every file it relies on (required at optimal). */
  readonly jwksSha256?: string;
  /** Inline public keys. Exactly one of jwksFile and keys. */
  readonly keys?: readonly PublicJwk[];
  /** Accepted `alg` header values. */
  readonly algorithms: readonly JwsAlgorithm[];
  /** Refuse tokens whose `iat` is older than this (requires `iat`). */
  readonly maxTokenAgeSeconds?: number;
  /** Clock skew tolerated on exp, nbf and iat. Default 30. */
  readonly clockToleranceSeconds?: number;
  /** Claims that must be present (in addition to iss, sub, aud and exp, always required). */
  readonly requiredClaims?: readonly string[];
}

/**
 * How a token is bound to the data it may process:
 * - `false`: not bound;
 * - `audience`: `aud` must contain `zt-ffmpeg:<operation>:sha256:<hex>`;
 * - `claim`: claims `zt_operation` and `zt_input_sha256` must name the operation and digest.
 */
export type InputBinding = false | 'audience' | 'claim';

export interface IdentityConfig {
  readonly token: TokenRequirement;
  readonly issuers: readonly IssuerConfig[];
  readonly bindToInput: InputBinding;
  /** Refuse a second presentation of the same (iss, jti); requires jti and exp. */
  readonly singleUseJti: boolean;
}

/** Matches a string: exact, or a glob with `*` (any run) and `?` (one character), anchored. */
export type Pattern = string;

/** A claim condition: one pattern, or a list of which any may match. */
export type ClaimCondition = Pattern | readonly Pattern[];

export interface RuleMatch {
  /** OS user names (patterns). */
  readonly users?: readonly Pattern[];
  /** OS group names (patterns); any of the principal's groups may match. */
  readonly groups?: readonly Pattern[];
  /** Issuer ids (patterns); requires a verified token from that issuer. */
  readonly issuers?: readonly Pattern[];
  /** Verified token claims; every listed claim must be present and match. */
  readonly claims?: Readonly<Record<string, ClaimCondition>>;
}

export interface RuleAllow {
  /** Operation names (patterns); `*` allows every operation. */
  readonly operations: readonly Pattern[];
  /** Whether raw passthrough ffmpeg arguments are allowed (still subject to the firewall). */
  readonly rawArgs?: boolean;
}

export interface AuthorizationRule {
  readonly id: string;
  readonly description?: string;
  readonly match: RuleMatch;
  readonly allow: RuleAllow;
}

export interface AuthorizationConfig {
  /** What happens when no rule matches. */
  readonly default: 'deny' | 'allow';
  /** Evaluated in order; the first rule whose `match` matches decides. */
  readonly rules: readonly AuthorizationRule[];
}

/** The OS user running the process: always present, never optional. */
export interface OsPrincipal {
  readonly uid: number;
  readonly gid: number;
  readonly user: string;
  /** Group names (primary and supplementary); a gid without a name appears as its number. */
  readonly groups: readonly string[];
  readonly gids: readonly number[];
}

/**
 * Where the job says it runs. Read from environment variables, which anyone can set, so it is
 * recorded for the audit trail but never trusted on its own and never matched by authorization.
 */
export interface CiContext {
  readonly provider: 'github-actions' | 'gitlab-ci';
  readonly trusted: false;
  readonly repository?: string;
  readonly ref?: string;
  readonly workflow?: string;
  readonly runId?: string;
  readonly jobId?: string;
  readonly sha?: string;
  readonly actor?: string;
}

/** A claim value kept after verification (nested objects are dropped). */
export type ClaimValue = string | number | boolean | readonly string[];

/** A token after every check passed. Never carries the raw token. */
export interface VerifiedToken {
  readonly issuerId: string;
  readonly iss: string;
  readonly sub: string;
  readonly alg: string;
  readonly kid?: string;
  readonly jti?: string;
  readonly iat?: number;
  readonly exp: number;
  /** Scalar and string-array claims of the verified payload, bounded in count and size. */
  readonly claims: Readonly<Record<string, ClaimValue>>;
  /** What the token was bound to, when the policy binds tokens to the input. */
  readonly boundTo?: { readonly operation: string; readonly inputSha256: string };
}

/** Everyone who stands behind one invocation. */
export interface Principal {
  readonly os: OsPrincipal;
  readonly ci?: CiContext;
  readonly token?: VerifiedToken;
}

/** Why a token was refused: `details.reason` of the ZtError('unauthenticated'). */
export type TokenRefusal =
  | 'no-token'
  | 'malformed'
  | 'alg-none'
  | 'algorithm'
  | 'issuer'
  | 'unknown-kid'
  | 'signature'
  | 'expired'
  | 'not-yet-valid'
  | 'too-old'
  | 'claim-missing'
  | 'audience'
  | 'binding'
  | 'replay'
  | 'replay-store';

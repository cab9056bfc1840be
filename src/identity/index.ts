/** The identity pillar: principal, token verification, authorization, local token issuer. */
export * from './types.js';
export { identitySchema, authorizationSchema } from './schema.js';
export { CI_ENV_VARS, ciContext, osPrincipal, parseGroupFile, resolveGroups, type Env } from './principal.js';
export { TOKEN_ENV_VAR, readTokenInput, type TokenInput, type TokenSources } from './token-input.js';
export { verifyToken, selectClaims, ALWAYS_REQUIRED_CLAIMS, DEFAULT_CLOCK_TOLERANCE_SECONDS, type VerifyContext } from './token.js';
export { bindingAudience, BINDING_CLAIM_OPERATION, BINDING_CLAIM_SHA256 } from './binding.js';
export { useJti, pruneReplayStore } from './replay.js';
export { establishPrincipal, type EstablishOptions, type Established } from './establish.js';
export { authorize, requireAuthorization, ruleMismatch, describePrincipal, DEFAULT_RULE_ID, type AuthzDecision, type AuthzRequest } from './authorize.js';
export { mintToken, MAX_MINT_TTL_SECONDS, type MintOptions } from './mint.js';
export { identityConfigProblems } from './check.js';
export { globMatch } from './glob.js';

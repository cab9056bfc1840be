/**
 * Ed25519 keys, one module for every signer and verifier in the project (audit log, policy
 * signatures, provenance, tokens): the key-id rule, PEM parsing, key files, keyrings and JWKs.
 * Every key file and keyring directory is opened by one of the load* / keyringFiles functions,
 * and every trust root (these, the JWKS, the policy and its signature) is checked by trust-root.ts.
 */
export { KEY_ID_PATTERN, keyIdOf, rawEd25519PublicKey } from './key-id.js';
export { ed25519PrivateKey, ed25519PublicKey, type KeyRole, type PemInput } from './pem.js';
export { loadSigningKey, loadTokenSigningKey, type SigningKey } from './signing-key.js';
export { generateKeyPair, publicKeyPathFor, type GeneratedKeyPair } from './generate.js';
export { loadPublicKeyFile, keyringFiles, loadTrustedKeys, trustedKeysOf, trustedKeysFromPems, type TrustedKeys } from './trusted-keys.js';
export { publicJwkOf, publicJwkFromPem, jwksFromPems, type Ed25519PublicJwk } from './jwk.js';
export { checkTrustDirectory, openTrustRoot, readTrustRoot, trustRootProblem, type TrustRootRole } from './trust-root.js';

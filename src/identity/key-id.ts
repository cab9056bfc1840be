/** Key ids are one rule across the project: see src/util/key-id.ts. */
export { keyIdOf, rawEd25519PublicKey } from '../util/key-id.js';

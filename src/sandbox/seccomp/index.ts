/** The seccomp stage of the sandbox: profiles, their BPF programs, and how bwrap receives them. */
export {
  SECCOMP_PROFILES,
  buildSeccompProgram,
  describeProfile,
  hostSeccompArch,
  seccompProfileHash,
  type ProfileDescription,
  type SeccompArch,
  type SeccompProfileName,
} from './profiles.js';
export { evaluate, checkProgram, type SeccompVerdict, type SeccompInput } from './evaluate.js';

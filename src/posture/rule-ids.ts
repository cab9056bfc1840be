/** The rule ids of the posture checks (src/posture/): the binaries and the build's hardening options. */
import type { BinaryName } from './binaries.js';

export type PostureCheck = 'present' | 'owner' | 'minVersion' | 'sha256';

export type PostureRuleId = `posture.${BinaryName}.${PostureCheck}` | 'posture.hardening';

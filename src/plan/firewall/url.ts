/**
 * URLs and protocol prefixes. ffmpeg opens any name through its protocol
 * layer, so `concat:`, `subfile:`, `data:` or `http://` in a value can read
 * other files or reach the network; the wrapper's outputs and files never go
 * through a protocol, so anything that looks like one is refused.
 */
import type { Violation } from '../../errors.js';
import { FIREWALL_RULES } from './rule-ids.js';
import { ref, show } from './violation.js';

/** `scheme:`: any URL or ffmpeg protocol prefix (file:, concat:, subfile:, data:, pipe:, http://…). */
const URL_LIKE = /^[a-zA-Z][a-zA-Z0-9+.-]*:/;

export function looksLikeUrl(value: string): boolean {
  return URL_LIKE.test(value);
}

export function urlViolation(index: number, option: string, value: string): Violation {
  return {
    rule: FIREWALL_RULES.url,
    actual: ref(index, option, show(value)),
    limit: 'no URLs or protocol prefixes (scheme:)',
    message: `argument ${index} '${show(value)}' looks like a URL or protocol prefix ('${value.slice(0, value.indexOf(':') + 1)}'); outputs and files never go through protocols`,
    hint: 'only local names inside the job are accepted; the wrapper chooses the output',
  };
}

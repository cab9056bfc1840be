/** Every fuzz target: one per container walker, and one per other host-side parser. */
import type { Target } from '../target.js';
import { walkerTarget } from './walker.js';
import { markerTarget } from './marker.js';
import { probeTarget } from './probe.js';
import { policyTarget } from './policy.js';
import { tokenTarget } from './token.js';
import { auditTarget } from './audit.js';
import { firewallTarget } from './firewall.js';
import { filtergraphTarget } from './filtergraph.js';
import { outputFactsTarget } from './output-facts.js';

export function allTargets(): Target<unknown>[] {
  const walkers = (['isobmff', 'ebml', 'riff-wave', 'riff-avi', 'ogg', 'png', 'jpeg', 'mp3', 'flac'] as const).map((f) => walkerTarget(f));
  return [...walkers, markerTarget(), probeTarget(), policyTarget(), tokenTarget(), auditTarget(), firewallTarget(), filtergraphTarget(), outputFactsTarget()] as Target<unknown>[];
}

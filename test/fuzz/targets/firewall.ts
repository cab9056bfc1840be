/**
 * The argument firewall (checkPassthroughArgs) on argument lists built from its own tables,
 * hostile names (`-__proto__`, `-constructor`), URLs, file names and filtergraphs, under the
 * bundled advanced policy. Invariants: never throws; violations carry firewall rule ids (or the
 * output bounds it enforces before the run); what
 * it accepts is a subset of what it was given. Oracles: no accepted option is named like an
 * Object.prototype member; no accepted value is a URL.
 */
import { OUTPUT_BOUND_RULES } from '../../../src/verify/rule-ids.js';
import { FIREWALL_RULES, OPTIONS, ALIASES, DENIED_OPTIONS, checkPassthroughArgs, looksLikeUrl } from '../../../src/plan/firewall/index.js';
import { loadPolicy } from '../../../src/policy/load.js';
import type { Policy } from '../../../src/policy/types.js';
import { HOSTILE_KEYS, textHavoc } from '../mutate.js';
import type { Rng } from '../rng.js';
import { crash, type Target } from '../target.js';

const VALUES = ['libx264', 'aac', 'copy', 'mp4', 'matroska', 'null', 'scale=320:-1', 'movie=/etc/passwd', 'scale=320:240,subtitles=x.srt', 'http://example.com/x', 'file:/etc/passwd', 'concat:a|b', 'pipe:1', '-', '1', '-1', '1e9', 'v:0', '[0:v]', 'a'.repeat(5000), '\0', '/etc/passwd', '../x', 'drawtext=textfile=/etc/passwd', 'zmq', 'lavfi', 'tcp://1.2.3.4:1', 'data:x', 'subfile,,start,0,end,0,,:/etc/passwd'];

export function firewallTarget(): Target<string[]> {
  let policy: Policy;
  let names: string[];
  // The firewall's own rules, and the output bounds it enforces before the run (src/plan/firewall/output-bounds.ts).
  const rules = new Set<string>([...Object.values(FIREWALL_RULES), ...OUTPUT_BOUND_RULES]);
  return {
    name: 'firewall',
    sources: ['src/plan/firewall/scan.ts', 'src/plan/firewall/options.ts', 'src/plan/firewall/values.ts', 'src/plan/firewall/denials.ts'],
    ext: 'json',
    async setup() {
      policy = (await loadPolicy(undefined)).policy;
      names = [...Object.keys(OPTIONS), ...Object.keys(ALIASES), ...Object.keys(DENIED_OPTIONS), ...HOSTILE_KEYS, 'no__proto__', 'noconstructor'];
    },
    generate(rng: Rng) {
      const args: string[] = [];
      for (let n = rng.small(12); n >= 0; n--) {
        const name = rng.pick(names);
        args.push(`-${name}${rng.bool(0.2) ? `:${rng.pick(['v', 'a', '0', 'v:0', '__proto__'])}` : ''}`);
        if (rng.bool(0.8)) args.push(rng.bool(0.2) ? textHavoc(rng, rng.pick(VALUES), ['\\', "'", ',', ';', '[', ']', '=', ':', '@']) : rng.pick(VALUES));
      }
      if (rng.bool(0.1)) args.push(rng.pick(VALUES));
      return args;
    },
    async check(args) {
      let r;
      try {
        r = checkPassthroughArgs(args, policy.firewall, { jobDir: '/job', grants: { fonts: args.length % 2 === 0 } });
      } catch (e) {
        return crash('checkPassthroughArgs', e);
      }
      if (!r.ok) {
        const odd = r.violations.find((v) => !rules.has(v.rule));
        return odd ? { kind: 'shape', message: `violation with rule ${odd.rule}` } : undefined;
      }
      if (!r.outputArgs.every((a) => args.includes(a))) return { kind: 'shape', message: 'outputArgs holds an argument that was not given' };
      const hostile = r.options.find((o) => (HOSTILE_KEYS as readonly string[]).includes(o.name));
      if (hostile) return { kind: 'bypass', message: `accepted an option named "${hostile.name}"` };
      const url = r.options.find((o) => o.value !== undefined && looksLikeUrl(o.value));
      if (url) return { kind: 'bypass', message: `accepted the URL ${url.value?.slice(0, 80)} for -${url.name}` };
      return undefined;
    },
    budgetMs: () => 100,
    encode: (args) => Buffer.from(JSON.stringify(args)),
    decode: (b) => JSON.parse(b.toString('utf8')) as string[],
  };
}

/**
 * The filtergraph parser and its checks: graphs generated from a small grammar (chains, labels,
 * `key=value` and positional arguments, quoting and escaping at both levels, `@id` suffixes) and
 * mangled as text. Invariants: parseFilterGraph and checkFilterGraph never throw. Oracle: if the
 * parser finds a filter that is denied whatever the policy says, the check refuses the graph
 * even when the policy allows every filter name in it.
 */
import { checkFilterGraph, deniedFilter, filtersOf, parseFilterGraph } from '../../../src/plan/firewall/index.js';
import { HOSTILE_KEYS, textHavoc } from '../mutate.js';
import type { Rng } from '../rng.js';
import { crash, type Target } from '../target.js';

const NAMES = ['scale', 'crop', 'fps', 'format', 'null', 'anull', 'volume', 'drawtext', 'subtitles', 'ass', 'movie', 'amovie', 'sendcmd', 'zmq', 'azmq', 'showcqt', 'lut3d', 'mo\\vie', "'movie'", 'Movie', 'split', 'overlay', ...HOSTILE_KEYS];
const ARGS = ['320:-1', 'w=320:h=240', 'filename=/etc/passwd', '/etc/passwd', 'textfile=/etc/passwd', 'fontfile=x.ttf', "text='a\\:b'", 'f=cmds.txt', "'quoted:value'", 'a\\,b', '', 'x=', '=y', '%{pts}'];

function graph(rng: Rng): string {
  const chains: string[] = [];
  for (let c = rng.small(3); c >= 0; c--) {
    const filters: string[] = [];
    for (let f = rng.small(4); f >= 0; f--) {
      const label = (): string => (rng.bool(0.2) ? `[${rng.pick(['0:v', 'in', '1:a', 'x', 'a\\]b'])}]` : '');
      const name = rng.pick(NAMES) + (rng.bool(0.1) ? `@${rng.pick(['id', '', 'x y'])}` : '');
      const args = rng.bool(0.7) ? `=${Array.from({ length: 1 + rng.small(3) }, () => rng.pick(ARGS)).join(':')}` : '';
      filters.push(`${label()}${name}${args}${label()}`);
    }
    chains.push(filters.join(','));
  }
  return chains.join(';');
}

export function filtergraphTarget(): Target<string> {
  return {
    name: 'filtergraph',
    sources: ['src/plan/firewall/filtergraph.ts', 'src/plan/firewall/filters.ts'],
    ext: 'txt',
    generate(rng) {
      const g = graph(rng);
      return rng.bool(0.3) ? textHavoc(rng, g, ['\\', "'", ',', ';', '[', ']', '=', ':', '@', ' ', '\n', 'movie', 'sws_flags=x;']) : g;
    },
    async check(desc) {
      let parsed;
      let violations;
      try {
        parsed = parseFilterGraph(desc);
        const names = parsed.ok ? filtersOf(parsed.graph).map((f) => f.name) : [];
        violations = checkFilterGraph(desc, { filters: names }, { grants: { fonts: true } }, { index: 1, option: '-vf' });
      } catch (e) {
        return crash('the filtergraph parser', e);
      }
      if (!parsed.ok) return undefined;
      const denied = filtersOf(parsed.graph).find((f) => deniedFilter(f.name) !== undefined);
      if (denied && violations.length === 0) return { kind: 'bypass', message: `the graph holds the denied filter "${denied.name}" and the check accepted it` };
      return undefined;
    },
    budgetMs: () => 100,
    encode: (d) => Buffer.from(d),
    decode: (b) => b.toString('utf8'),
  };
}

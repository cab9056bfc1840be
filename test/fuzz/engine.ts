/**
 * The campaign loop: targets take turns in short slices until the time is up; every input is
 * checked by its target (invariants and oracles) and timed against the target's budget (an
 * input over budget is re-run twice before it counts, so a GC pause or a busy machine is not a
 * finding); memory is sampled after every input. A finding is saved to the regression corpus
 * (at most three inputs per distinct finding), and reported.
 */
import { Rng } from './rng.js';
import { saveToCorpus } from './corpus.js';
import type { Finding, Target } from './target.js';

export interface TargetStats {
  execs: number;
  findings: number;
  ms: number;
  /** Distinct finding messages (first 80 characters) → how many inputs showed it. */
  readonly kinds: Map<string, number>;
  readonly saved: string[];
}

export interface CampaignOptions {
  readonly targets: ReadonlyArray<Target<unknown>>;
  readonly ms: number;
  /** The campaign seed: each target draws from its own PRNG seeded from it and its name, so its inputs do not depend on timing. */
  readonly seed: number;
  /** Save findings to the corpus (off for replays and dry runs). */
  readonly save: boolean;
  /** Resident memory above this is a finding. */
  readonly maxRssBytes: number;
  readonly log: (line: string) => void;
}

const SLICE_MS = 2_000;

async function timedCheck<I>(t: Target<I>, input: I): Promise<{ finding: Finding | undefined; ms: number }> {
  const start = performance.now();
  let finding: Finding | undefined;
  try {
    finding = await t.check(input);
  } catch (e) {
    finding = { kind: 'crash', message: `the check itself threw: ${e instanceof Error ? e.message : String(e)}` };
  }
  return { finding, ms: performance.now() - start };
}

/** Check one input with the time budget applied (over budget three times running = slow). */
export async function checkWithBudget<I>(t: Target<I>, input: I): Promise<{ finding: Finding | undefined; ms: number }> {
  const first = await timedCheck(t, input);
  if (first.finding || first.ms <= t.budgetMs(input)) return first;
  for (let i = 0; i < 2; i++) {
    const again = await timedCheck(t, input);
    if (again.finding || again.ms <= t.budgetMs(input)) return again;
  }
  return { finding: { kind: 'slow', message: `took ${Math.round(first.ms)} ms, over the budget of ${Math.round(t.budgetMs(input))} ms (three runs)` }, ms: first.ms };
}

export async function runCampaign(opts: CampaignOptions): Promise<Map<string, TargetStats>> {
  const stats = new Map<string, TargetStats>();
  const rngs = new Map<string, Rng>();
  for (const t of opts.targets) {
    let h = opts.seed >>> 0;
    for (const c of t.name) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193) >>> 0;
    rngs.set(t.name, new Rng(h));
    await t.setup?.();
    stats.set(t.name, { execs: 0, findings: 0, ms: 0, kinds: new Map(), saved: [] });
  }
  const end = performance.now() + opts.ms;
  const gc = (globalThis as { gc?: () => void }).gc;
  try {
    for (let round = 0; performance.now() < end; round++) {
      for (const t of opts.targets) {
        const st = stats.get(t.name)!;
        const rng = rngs.get(t.name)!;
        const sliceEnd = Math.min(end, performance.now() + SLICE_MS);
        while (performance.now() < sliceEnd) {
          const input = await t.generate(rng);
          const { finding: found, ms } = await checkWithBudget(t, input);
          let finding = found;
          st.execs++;
          st.ms += ms;
          if (!finding && process.memoryUsage().rss > opts.maxRssBytes) {
            gc?.();
            if (process.memoryUsage().rss > opts.maxRssBytes) finding = { kind: 'memory', message: `resident memory ${Math.round(process.memoryUsage().rss / 2 ** 20)} MiB after this input` };
          }
          if (!finding) continue;
          st.findings++;
          const key = `${finding.kind}: ${finding.message.replace(/\d+/g, '#').slice(0, 80)}`;
          const n = (st.kinds.get(key) ?? 0) + 1;
          st.kinds.set(key, n);
          if (n === 1) opts.log(`${t.name}: ${finding.kind}: ${finding.message}`);
          if (opts.save && n <= 3) st.saved.push(await saveToCorpus(t.name, t.ext, t.encode(input)));
        }
        if (performance.now() >= end) break;
      }
    }
  } finally {
    for (const t of opts.targets) await t.teardown?.();
  }
  return stats;
}

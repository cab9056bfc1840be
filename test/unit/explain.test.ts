import { describe, it, expect } from 'vitest';
import { loadPolicy } from '../../src/policy/load.js';
import { explainPolicy } from '../../src/policy/explain.js';

describe('policy explain', () => {
  it('covers every pillar in plain words, for every bundled stage', async () => {
    for (const stage of ['initial', 'advanced', 'optimal'] as const) {
      const e = explainPolicy((await loadPolicy(stage)).policy);
      expect(e.pillars.map((p) => p.pillar)).toEqual(['identity', 'devices', 'networks', 'applications', 'data', 'visibility', 'governance']);
      for (const p of e.pillars) expect(p.allows.length + p.refuses.length, p.pillar).toBeGreaterThan(0);
      expect(e.summary).toContain(stage);
    }
  });
  it('says what optimal refuses that advanced allows', async () => {
    const adv = explainPolicy((await loadPolicy('advanced')).policy);
    const opt = explainPolicy((await loadPolicy('optimal')).policy);
    const text = (e: typeof adv, pillar: string): string => JSON.stringify(e.pillars.find((p) => p.pillar === pillar));
    expect(text(opt, 'identity')).toContain('any caller without a valid signed token');
    expect(text(adv, 'identity')).not.toContain('any caller without a valid signed token');
    expect(text(opt, 'applications')).toContain('raw ffmpeg arguments: only the vetted operations run');
    expect(text(adv, 'applications')).toContain('raw ffmpeg output arguments through the firewall');
    expect(text(opt, 'governance')).toContain('a policy file without a valid detached signature');
    expect(text(opt, 'data')).toContain('deep check');
    expect(text(adv, 'data')).toContain('4 h');
    expect(text(adv, 'data')).toContain('8 GiB');
  });
  it('describes the initial stage default-allow and degraded-mode facts', async () => {
    const ini = explainPolicy((await loadPolicy('initial')).policy);
    const id = ini.pillars.find((p) => p.pillar === 'identity')!;
    expect(id.allows.join('\n')).toContain('default allow');
    const data = ini.pillars.find((p) => p.pillar === 'data')!;
    expect(data.allows.join('\n')).toContain('attachment streams');
  });
});

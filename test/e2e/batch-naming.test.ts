/** The pure parts of batch: input lists, output names, shards, the summary. */
import { describe, it, expect } from 'vitest';
import { parseInputList, outputStem, planOutputs, parseShard, shardInputs, summarize, runPool, type BatchJob } from '../../src/job/batch.js';
import { githubAnnotation, escapeData, escapeProperty } from '../../src/cli/commands/batch.js';

describe('input lists', () => {
  it('splits lines (dropping CR and empty lines) or NULs (keeping newlines inside names)', () => {
    expect(parseInputList('a.mp4\r\nb c.mp4\n\n', false)).toEqual(['a.mp4', 'b c.mp4']);
    expect(parseInputList('a\nb.mp4\0c.mp4\0', true)).toEqual(['a\nb.mp4', 'c.mp4']);
  });
});

describe('output names', () => {
  it('never carries a path separator, "..", a leading dot or control characters', () => {
    expect(outputStem('/x/y/clip.final.mov')).toBe('clip.final');
    expect(outputStem('../../etc/passwd')).toBe('passwd');
    expect(outputStem('..')).toBe('output');
    expect(outputStem('.hidden.mp4')).toBe('hidden');
    expect(outputStem('a\nb;rm -rf $HOME.mp4')).toBe('a_b_rm_-rf__HOME');
    expect(outputStem('dir\\win.mp4')).toBe('win');
    expect(outputStem('ünï cødé.mkv')).toBe('ünï_cødé');
  });
  it('deduplicates clashes with -1, -2 in input order', () => {
    const p = planOutputs(['a/x.mov', 'b/x.mp4', 'c/x.webm', 'x-1.mov'], '/out', 'mp4');
    expect(p.map((j) => j.output)).toEqual(['/out/x.mp4', '/out/x-1.mp4', '/out/x-2.mp4', '/out/x-1-1.mp4']);
  });
});

describe('shards', () => {
  it('parses I/N and keeps every N-th input', () => {
    expect(parseShard('2/4')).toEqual({ index: 2, count: 4 });
    for (const bad of ['4/4', '-1/4', '1', 'a/b', '0/0']) expect(() => parseShard(bad), bad).toThrow(/--shard/);
    const all = ['a', 'b', 'c', 'd', 'e'];
    const parts = [0, 1, 2].map((i) => shardInputs(all, { index: i, count: 3 }));
    expect(parts).toEqual([['a', 'd'], ['b', 'e'], ['c']]);
    expect(parts.flat().sort()).toEqual(all);
  });
});

describe('summary and pool', () => {
  const job = (verdict: BatchJob['verdict'], exitCode: BatchJob['exitCode'], rules: string[], reason?: string): BatchJob => ({
    index: 0,
    input: 'in.mp4',
    output: 'out.mp4',
    verdict,
    exitCode,
    ...(verdict === 'skipped'
      ? {}
      : { outcome: { command: 'run', verdict, exitCode, jobId: 'j', violations: rules.map((rule) => ({ rule, actual: 1, limit: 0, message: rule })), warnings: [], degraded: false, timings: {}, audit: { seqs: [] }, ...(reason ? { reason: reason as 'ffmpeg-failed' } : {}) } }),
  });
  it('counts verdicts and rules, and takes the most severe exit code', () => {
    const s = summarize([job('ok', 0, []), job('refused', 3, ['input.magic']), job('failed', 6, [], 'ffmpeg-failed'), job('refused', 4, ['authorization.default']), job('skipped', 0, [])]);
    expect(s).toMatchObject({ total: 5, ok: 1, refused: 2, failed: 1, skipped: 1, verdict: 'failed' });
    expect(s.byRule).toEqual({ 'input.magic': 1, 'ffmpeg-failed': 1, 'authorization.default': 1 });
    expect(s.exitCode).toBe(6);
    expect(summarize([job('ok', 0, [])]).exitCode).toBe(0);
  });
  it('runs at most N at once and stops starting jobs after a failure with failFast', async () => {
    let active = 0;
    let peak = 0;
    const r = await runPool([1, 2, 3, 4, 5, 6], 2, async (x) => {
      active++;
      peak = Math.max(peak, active);
      await new Promise((res) => setImmediate(res));
      active--;
      return x;
    }, () => false, false);
    expect(r).toEqual([1, 2, 3, 4, 5, 6]);
    expect(peak).toBe(2);
    const ff = await runPool([1, 2, 3, 4], 1, async (x) => x, (x) => x === 2, true);
    expect(ff).toEqual([1, 2, undefined, undefined]);
  });
});

describe('GitHub annotations', () => {
  it('escape data and properties as the runner expects', () => {
    expect(escapeData('50%\r\nnext')).toBe('50%25%0D%0Anext');
    expect(escapeProperty('a:b,c')).toBe('a%3Ab%2Cc');
  });
  it('one ::error line per refused job, none for ok', () => {
    const base = { index: 0, input: '/w/in/a,b.mp4', output: '/w/out/a.mp4' };
    expect(githubAnnotation({ ...base, verdict: 'ok', exitCode: 0 }, '/w')).toBeUndefined();
    const a = githubAnnotation(
      {
        ...base,
        verdict: 'refused',
        exitCode: 3,
        outcome: { command: 'run', verdict: 'refused', exitCode: 3, reason: 'input-refused', message: 'input refused by policy: too wide', hint: 'shrink it', jobId: 'j', violations: [{ rule: 'input.maxWidth', actual: 9000, limit: 7680, message: 'too wide' }], warnings: [], degraded: false, timings: {}, audit: { seqs: [1] } },
      },
      '/w',
    );
    expect(a).toBe('::error file=in/a%2Cb.mp4,title=zt-ffmpeg refused (input.maxWidth)::input refused by policy: too wide%0Ainput.maxWidth: too wide (actual 9000, limit 7680)%0Ahint: shrink it%0Aexit 3');
  });
});

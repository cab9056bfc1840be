import { describe, expect, it } from 'vitest';
import type { Violation } from '../../src/errors.js';
import {
  ALIASES,
  checkFilterGraph,
  checkPassthroughArgs,
  DENIED_OPTION_PATTERNS,
  DENIED_OPTIONS,
  deniedFilter,
  FIREWALL_RULES,
  looksLikeUrl,
  OPTIONS,
  resolveOption,
  type FirewallContext,
  type FirewallRules,
} from '../../src/plan/firewall/index.js';

/** A generous policy: what remains refused is refused by the fixed denials. */
const RULES: FirewallRules = {
  options: [
    'c', 'b', 'vf', 'af', 'filter', 'filter_complex', 'preset', 'crf', 'movflags', 'map', 'map_metadata', 't', 'ss',
    'to', 'an', 'vn', 'sn', 'dn', 'f', 'passlogfile', 'pass', 'metadata', 'frames', 'threads', 'maxrate', 'bufsize',
    'g', 'profile', 'level', 'tune', 'ar', 'ac', 'r', 's', 'pix_fmt', 'aspect', 'shortest', 'deadline', 'cpu-used',
    'row-mt', 'tile-columns', 'q', 'compression_level', 'application', 'vbr', 'force_key_frames', 'disposition',
    'timecode', 'map_chapters', 'sample_fmt', 'ch_layout', 'tag',
  ],
  encoders: ['libx264', 'libx265', 'aac', 'libopus', 'libvpx-vp9', 'copy'],
  muxers: ['mp4', 'matroska', 'webm', 'null'],
  filters: ['scale', 'fps', 'format', 'null', 'anull', 'aresample', 'drawtext', 'split', 'hstack', 'overlay', 'metadata', 'volume', 'setpts', 'curves', 'transpose'],
};
const CTX: FirewallContext = { jobDir: '/tmp/zt-job-1234' };

function violations(args: string[], rules: FirewallRules = RULES, ctx: FirewallContext = CTX): Violation[] {
  const r = checkPassthroughArgs(args, rules, ctx);
  if (r.ok) throw new Error(`expected refusal of ${JSON.stringify(args)}`);
  return r.violations;
}

function rules(v: Violation[]): string[] {
  return v.map((x) => x.rule);
}

function expectAllowed(args: string[], ctx: FirewallContext = CTX): void {
  const r = checkPassthroughArgs(args, RULES, ctx);
  if (!r.ok) throw new Error(`expected ${JSON.stringify(args)} to pass, got ${JSON.stringify(r.violations, null, 1)}`);
  expect(r.args).toEqual(args);
}

describe('benign arguments pass', () => {
  it.each([
    [['-c:v', 'libx264', '-preset', 'veryfast', '-crf', '23', '-c:a', 'aac', '-b:a', '128k', '-vf', 'scale=1280:-2', '-movflags', '+faststart']],
    [['-an', '-vf', 'scale=w=640:h=-2,fps=15']],
    [['-c:a', 'libopus', '-b:a', '96k']],
    [['-map', '0:v:0', '-map', '0:a:0?']],
    [['-t', '10', '-ss', '2']],
    [['-t', '00:00:10.5', '-ss', '500ms', '-to', '1:02']],
    [['-vcodec', 'libx264', '-acodec', 'copy', '-f', 'mp4']],
    [['-c:v:0', 'libvpx-vp9', '-b:v', '0', '-crf', '31', '-deadline', 'good', '-cpu-used', '4', '-row-mt', '1', '-tile-columns', '2', '-f', 'webm']],
    [['-metadata', 'title=Holiday: day 1 (see http://example.com)', '-metadata:s:a:0', 'language=eng']],
    [['-map_metadata', '-1', '-map_chapters', '-1']],
    [['-maxrate', '2M', '-bufsize', '4M', '-g', '48', '-profile:v', 'high', '-level', '4.1', '-tune', 'film']],
    [['-r', '30000/1001', '-s', '1280x720', '-pix_fmt', 'yuv420p', '-aspect', '16:9']],
    [['-ar', '48000', '-ac', '2', '-sample_fmt', 'fltp', '-ch_layout', '5.1(side)']],
    [['-force_key_frames', 'expr:gte(t,n_forced*2)']],
    [['-timecode', '01:00:00:00', '-tag:v', 'hvc1', '-disposition:a:0', 'default']],
    [['-pass', '1', '-passlogfile', 'pass1']],
    [['-passlogfile', '/tmp/zt-job-1234/x264/pass']],
    [['-threads', '4', '-frames:v', '1', '-shortest']],
    [['-filter_complex', '[0:v]split[a][b];[a][b]hstack[v]', '-map', '[v]']],
    [['-af', 'aresample=48000,volume=0.5']],
    [['-vf', 'drawtext=text=Hello:x=10:y=10']],
    [['-vf', 'metadata=mode=print:key=lavfi.signalstats.YAVG']],
    [['-vf', 'transpose=dir=clock,curves=preset=vintage']],
    [['-application', 'audio', '-vbr', 'constrained', '-compression_level', '10']],
    [[]],
  ])('%j', (args) => {
    expectAllowed(args);
  });

  it('returns the accepted options in canonical form', () => {
    const r = checkPassthroughArgs(['-vcodec', 'libx264', '-an', '-b:v', '1M'], RULES, CTX);
    expect(r).toEqual({
      ok: true,
      args: ['-vcodec', 'libx264', '-an', '-b:v', '1M'],
      options: [
        { index: 0, name: 'c', spec: 'v', value: 'libx264' },
        { index: 2, name: 'an' },
        { index: 3, name: 'b', spec: 'v', value: '1M' },
      ],
      outputArgs: ['-vcodec', 'libx264', '-an', '-b:v', '1M'],
    });
  });
});

describe('inputs and outputs', () => {
  it('refuses an extra input, naming it', () => {
    const v = violations(['-i', '/etc/passwd', '-c:v', 'libx264']);
    expect(rules(v)).toEqual(['firewall.extra-input']);
    expect(v[0]).toMatchObject({ actual: { index: 0, arg: '-i', value: '/etc/passwd' } });
    expect(v[0]?.message).toContain("argument 0 '-i'");
    expect(v[0]?.hint).toBeTruthy();
  });

  it('refuses an extra input given as a URL twice over', () => {
    expect(rules(violations(['-i', 'http://169.254.169.254/latest']))).toEqual(['firewall.extra-input', 'firewall.url']);
  });

  it('refuses a second output (any positional argument)', () => {
    const v = violations(['-c:v', 'libx264', 'second.mp4']);
    expect(rules(v)).toEqual(['firewall.second-output']);
    expect(v[0]?.actual).toEqual({ index: 2, arg: 'second.mp4' });
  });

  it.each([['-'], ['pipe:1']])('refuses output to stdout/pipe %s', (out) => {
    expect(rules(violations(['-f', 'mp4', out]))).toContain('firewall.second-output');
  });

  it("refuses '--' and the output name it introduces", () => {
    const v = violations(['--', '-evil.mp4']);
    expect(rules(v)).toEqual(['firewall.second-output', 'firewall.second-output']);
    expect(v[1]?.actual).toEqual({ index: 1, arg: '-evil.mp4' });
  });

  it.each([
    'rtmp://evil.example/live',
    'http://evil.example/up',
    'tcp://127.0.0.1:9',
    'udp://239.0.0.1:1234',
    'file:/etc/passwd',
    'concat:a.mp4|b.mp4',
    'subfile:,,start,0,end,0,,:/etc/passwd',
    'data:text/plain,hello',
    'crypto:x',
    'cache:http://x',
    'async:http://x',
    'tee:[f=mp4]a.mp4|[f=mp4]b.mp4',
  ])('refuses the URL output %s', (url) => {
    const v = violations(['-c', 'copy', url]);
    expect(rules(v)).toEqual(['firewall.second-output', 'firewall.url']);
    expect(v[1]?.message).toContain('URL or protocol prefix');
  });

  it('the multi-value -map sync syntax and other inputs are refused', () => {
    expect(rules(violations(['-map', '1:v']))).toEqual(['firewall.extra-input']);
    expect(rules(violations(['-map', '-1:a']))).toEqual(['firewall.extra-input']);
    expect(rules(violations(['-map', '0:v,1:v']))).toEqual(['firewall.value']);
    expect(rules(violations(['-map_metadata', '2']))).toEqual(['firewall.extra-input']);
    expect(rules(violations(['-map_chapters', '1']))).toEqual(['firewall.extra-input']);
  });
});

describe('values that look like URLs or protocol prefixes', () => {
  it.each([
    ['-f', 'concat:x'],
    ['-c:v', 'file:libx264'],
    ['-preset', 'data:veryfast'],
    ['-passlogfile', 'file:/tmp/zt-job-1234/p'],
    ['-passlogfile', 'subfile:,,start,0,end,0,,:/etc/passwd'],
    ['-movflags', 'pipe:0'],
  ])('%s %s', (opt, value) => {
    const v = violations([opt, value]);
    expect(rules(v)).toEqual(['firewall.url']);
    expect(v[0]?.actual).toMatchObject({ index: 1, arg: opt });
  });

  it('colons are fine where ffmpeg syntax needs them', () => {
    expectAllowed(['-map', '0:v:0', '-metadata', 'comment=see: http://x', '-aspect', '4:3', '-ss', '00:00:01']);
    expectAllowed(['-force_key_frames', 'expr:gte(t,n_forced*5)', '-timecode', '00:00:00;00']);
    expectAllowed(['-vf', "drawtext=text='http\\://example.com'"]);
    // one escape level too few: the args level splits at the ':' and the rest is a positional value
    expect(rules(violations(['-vf', 'drawtext=text=http\\://example.com']))).toEqual(['firewall.filter-file']);
  });

  it('looksLikeUrl', () => {
    for (const s of ['http://x', 'HTTP://x', 'file:x', 'concat:a|b', 'a+b.c-d:x', 'rtmp:x']) expect(looksLikeUrl(s)).toBe(true);
    for (const s of ['0:v', '1:2', './a:b', '/a:b', 'a', '', ':x', '-x:']) expect(looksLikeUrl(s)).toBe(false);
  });
});

describe('options refused whatever the policy says', () => {
  const everything: FirewallRules = {
    ...RULES,
    options: [...RULES.options, ...Object.keys(DENIED_OPTIONS), 'hls_time', 'segment_list', 'http_persistent'],
  };

  it.each([
    [['-report'], 'firewall.file-option'],
    [['-filter_script', 'graph.txt'], 'firewall.file-option'],
    [['-filter_script:v', 'graph.txt'], 'firewall.file-option'],
    [['-filter_complex_script', 'graph.txt'], 'firewall.file-option'],
    [['-dump_attachment:t', 'out.ttf'], 'firewall.file-option'],
    [['-attach', '/etc/passwd'], 'firewall.file-option'],
    [['-vstats'], 'firewall.file-option'],
    [['-vstats_file', 'v.log'], 'firewall.file-option'],
    [['-sdp_file', 'x.sdp'], 'firewall.file-option'],
    [['-stats_enc_pre', 'x.log'], 'firewall.file-option'],
    [['-progress', 'p.txt'], 'firewall.file-option'],
    [['-fpre', 'x.ffpreset'], 'firewall.file-option'],
    [['-vpre', 'slow'], 'firewall.file-option'],
    [['-x264-params', 'dump-yuv=/tmp/x.yuv'], 'firewall.file-option'],
    [['-x265-params', 'csv=/tmp/x.csv'], 'firewall.file-option'],
    [['-hls_time', '4'], 'firewall.file-option'],
    [['-hls_segment_filename', 'seg%d.ts'], 'firewall.file-option'],
    [['-segment_list', 'list.m3u8'], 'firewall.file-option'],
    [['-master_pl_name', 'master.m3u8'], 'firewall.file-option'],
    [['-http_persistent', '1'], 'firewall.network-option'],
    [['-method', 'PUT'], 'firewall.network-option'],
    [['-y'], 'firewall.wrapper-owned'],
    [['-n'], 'firewall.wrapper-owned'],
    [['-stats'], 'firewall.wrapper-owned'],
    [['-nostats'], 'firewall.wrapper-owned'],
    [['-protocol_whitelist', 'file,http,tcp'], 'firewall.wrapper-owned'],
    [['-protocol_blacklist', 'file'], 'firewall.wrapper-owned'],
    [['-loglevel', 'quiet'], 'firewall.wrapper-owned'],
    [['-hwaccel', 'vaapi'], 'firewall.device'],
    [['-init_hw_device', 'vaapi=va:/dev/dri/renderD128'], 'firewall.device'],
    [['-vaapi_device', '/dev/dri/renderD128'], 'firewall.device'],
    [['-benchmark'], 'firewall.denied-option'],
    [['-dump'], 'firewall.denied-option'],
    [['-debug', 'vis_mb_type'], 'firewall.denied-option'],
    [['-fdebug', 'ts'], 'firewall.denied-option'],
    [['-target', 'pal-dvd'], 'firewall.denied-option'],
    [['-h', 'full'], 'firewall.denied-option'],
    [['-version'], 'firewall.denied-option'],
  ])('%j -> %s', (args, rule) => {
    const v = violations(args, everything);
    expect(rules(v)).toEqual([rule]);
    expect(v[0]?.actual).toMatchObject({ index: 0, arg: args[0] });
    expect(v[0]?.message).toContain(`'${args[0]}'`);
    expect(v[0]?.limit).toBe('never allowed');
  });

  it('-progress to a URL is also a URL violation', () => {
    expect(rules(violations(['-progress', 'tcp://127.0.0.1:9000']))).toEqual(['firewall.file-option', 'firewall.url']);
  });

  it('informational options swallow the next argument, as ffmpeg does', () => {
    // ffmpeg would read "second.mp4" as -h's topic, so it is not a second output here either
    expect(rules(violations(['-h', 'second.mp4']))).toEqual(['firewall.denied-option']);
  });

  it('-/option (value from a file, ffmpeg 7) is refused', () => {
    const v = violations(['-/filter_complex', 'graph.txt']);
    expect(rules(v)).toEqual(['firewall.option']);
    expect(v[0]?.message).toContain('from a file');
  });

  it('-noX negations are refused, not guessed', () => {
    expect(rules(violations(['-noshortest']))).toEqual(['firewall.option']);
    expect(resolveOption('-noshortest').status).toBe('negation');
  });
});

describe('passlogfile stays in the job directory', () => {
  it.each([
    ['/tmp/other/pass', 'outside the job directory'],
    ['/tmp/zt-job-1234', 'outside the job directory'],
    ['/tmp/zt-job-12345/pass', 'outside the job directory'],
    ['/etc/passwd', 'outside the job directory'],
    ['../pass', "contains '..'"],
    ['a/../../pass', "contains '..'"],
    ['/tmp/zt-job-1234/../other/pass', "contains '..'"],
    ['', 'empty path'],
  ])('%j is refused', (p, why) => {
    const v = violations(['-passlogfile', p]);
    expect(rules(v)).toEqual(['firewall.path']);
    expect(v[0]?.message).toContain(why);
    expect(v[0]?.limit).toBe('inside /tmp/zt-job-1234');
  });

  it('accepts relative names and absolute paths under the job directory (trailing slash on jobDir too)', () => {
    expectAllowed(['-passlogfile', 'sub/pass'], { jobDir: '/tmp/zt-job-1234/' });
    expectAllowed(['-passlogfile', '/tmp/zt-job-1234/./pass']);
  });

  it('needs an absolute job directory (a programming error otherwise)', () => {
    expect(() => checkPassthroughArgs([], RULES, { jobDir: 'relative' })).toThrow(/internal error/);
  });
});

describe('encoders and muxers', () => {
  it('refuses an encoder outside the allow-list, naming the allowed ones', () => {
    const v = violations(['-c:v', 'mpeg4']);
    expect(rules(v)).toEqual(['firewall.encoder']);
    expect(v[0]?.limit).toEqual(RULES.encoders);
    expect(v[0]?.message).toContain('libx264');
    expect(v[0]?.actual).toEqual({ index: 1, arg: '-c:v', value: 'mpeg4' });
  });

  it("'copy' needs to be in the allow-list too", () => {
    expect(rules(violations(['-c', 'copy'], { ...RULES, encoders: ['libx264'] }))).toEqual(['firewall.encoder']);
  });

  it('all codec option spellings are checked', () => {
    for (const opt of ['-c', '-codec', '-c:v', '-codec:v:1', '-vcodec', '-acodec', '-scodec', '-c:a:0']) {
      expect(rules(violations([opt, 'evilcodec']))).toEqual(['firewall.encoder']);
    }
  });

  it('hardware encoders are refused even when listed', () => {
    expect(rules(violations(['-c:v', 'h264_vaapi'], { ...RULES, encoders: ['h264_vaapi'] }))).toEqual(['firewall.encoder']);
  });

  it.each(['hls', 'segment', 'ssegment', 'tee', 'dash', 'image2', 'rtp', 'rtsp', 'lavfi', 'fifo', 'sdl2', 'alsa'])(
    'muxer %s is refused even when listed',
    (m) => {
      const v = violations(['-f', m], { ...RULES, muxers: [m] });
      expect(rules(v)).toEqual(['firewall.muxer']);
      expect(v[0]?.limit).toBe('never allowed');
    },
  );

  it('a muxer outside the allow-list is refused', () => {
    expect(rules(violations(['-f', 'avi']))).toEqual(['firewall.muxer']);
  });
});

describe('the muxer as ffmpeg reads it', () => {
  function accepted(args: string[]): { muxer?: string; outputArgs: string[] } {
    const r = checkPassthroughArgs(args, RULES, CTX);
    if (!r.ok) throw new Error(`expected ${JSON.stringify(args)} to pass, got ${JSON.stringify(r.violations, null, 1)}`);
    return r;
  }

  it('no -f: no muxer, the arguments unchanged', () => {
    const r = accepted(['-c:v', 'libx264', '-an']);
    expect(r.muxer).toBeUndefined();
    expect('muxer' in r).toBe(false);
    expect(r.outputArgs).toEqual(['-c:v', 'libx264', '-an']);
  });

  it('one -f: its value, and the arguments without it', () => {
    expect(accepted(['-c:v', 'libx264', '-f', 'mp4', '-an'])).toMatchObject({ muxer: 'mp4', outputArgs: ['-c:v', 'libx264', '-an'] });
  });

  it('several -f: the last one wins, as in ffmpeg, and every -f is removed', () => {
    expect(accepted(['-f', 'mp4', '-c:v', 'libx264', '-f', 'matroska'])).toMatchObject({
      muxer: 'matroska',
      outputArgs: ['-c:v', 'libx264'],
    });
    expect(accepted(['-f', 'webm', '-f', 'webm'])).toMatchObject({ muxer: 'webm', outputArgs: [] });
  });

  it('only the -f option is removed, not values that mention f', () => {
    expect(accepted(['-metadata', 'f=mp4', '-f', 'webm', '-map_metadata', '-1'])).toMatchObject({
      muxer: 'webm',
      outputArgs: ['-metadata', 'f=mp4', '-map_metadata', '-1'],
    });
  });

  it('args stays as given', () => {
    expect(accepted(['-f', 'mp4', '-an'])).toMatchObject({ args: ['-f', 'mp4', '-an'], outputArgs: ['-an'] });
  });
});

describe('rule ids', () => {
  it('are unique and all start with firewall.', () => {
    const ids = Object.values(FIREWALL_RULES);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^firewall\.[a-z-]+$/);
  });

  it('every violation carries one of them', () => {
    const v = violations(['-i', 'x', '-report', '-vf', 'movie=a,evil', '-c:v', 'evil', '-f', 'hls', '-foo', 'y', '-nofoo', '--', 'z']);
    const known: ReadonlySet<string> = new Set(Object.values(FIREWALL_RULES));
    for (const x of v) expect(known.has(x.rule), x.rule).toBe(true);
    for (const d of Object.values(DENIED_OPTIONS)) expect(known.has(d.rule), d.rule).toBe(true);
  });
});

describe('option allow-list, specifiers and values', () => {
  it('unknown options are refused, never guessed', () => {
    const v = violations(['-frobnicate', '1', '-c:v', 'libx264']);
    expect(rules(v)).toEqual(['firewall.option']);
    expect(v[0]?.message).toContain('not an option zt-ffmpeg knows');
  });

  it('known options outside the policy are refused, with the allowed list', () => {
    const v = violations(['-crf', '23'], { ...RULES, options: ['c'] });
    expect(rules(v)).toEqual(['firewall.option']);
    expect(v[0]?.limit).toEqual(['c']);
  });

  it('an alias passes when either its own name or the canonical name is allowed', () => {
    expect(checkPassthroughArgs(['-vcodec', 'libx264'], { ...RULES, options: ['c'] }, CTX).ok).toBe(true);
    expect(checkPassthroughArgs(['-vf', 'null'], { ...RULES, options: ['vf'] }, CTX).ok).toBe(true);
    expect(checkPassthroughArgs(['-filter:v', 'null'], { ...RULES, options: ['vf'] }, CTX).ok).toBe(false);
  });

  it('stream specifiers only where ffmpeg has them, and well-formed', () => {
    expect(rules(violations(['-t:v', '5']))).toEqual(['firewall.stream-specifier']);
    expect(rules(violations(['-vcodec:1', 'libx264']))).toEqual(['firewall.stream-specifier']);
    expect(rules(violations(['-c:v/x', 'libx264']))).toEqual(['firewall.stream-specifier']);
    expect(rules(violations(['-c:', 'libx264']))).toEqual(['firewall.stream-specifier']);
  });

  it('a missing value is reported', () => {
    const v = violations(['-c:v']);
    expect(rules(v)).toEqual(['firewall.missing-value']);
  });

  it('the next argument is the value, whatever it looks like (like ffmpeg)', () => {
    // "-i" here is a codec name for ffmpeg, not an input option
    const v = violations(['-c:v', '-i', 'x.mp4']);
    expect(rules(v)).toEqual(['firewall.encoder', 'firewall.second-output']);
  });

  it.each([
    ['-crf', 'abc'],
    ['-crf', '99'],
    ['-threads', '0'],
    ['-threads', '64'],
    ['-b:a', '128kbit'],
    ['-t', '-5'],
    ['-s', '1280*720'],
    ['-preset', 'very fast'],
    ['-deadline', 'fastest'],
    ['-movflags', '+faststart;rm'],
    ['-metadata', 'novalue'],
    ['-metadata', 'bad key=1'],
    ['-force_key_frames', "expr:'x'"],
    ['-preset', 'a\nb'],
    ['-tune', '-f'],
  ])('%s %j is malformed', (opt, value) => {
    expect(rules(violations([opt, value]))).toEqual(['firewall.value']);
  });

  it('-threads respects ctx.maxThreads', () => {
    expect(checkPassthroughArgs(['-threads', '32'], RULES, { ...CTX, maxThreads: 32 }).ok).toBe(true);
    expect(checkPassthroughArgs(['-threads', '8'], RULES, { ...CTX, maxThreads: 4 }).ok).toBe(false);
  });

  it('metadata values are length-limited', () => {
    expectAllowed(['-metadata', `comment=${'x'.repeat(1024)}`]);
    expect(rules(violations(['-metadata', `comment=${'x'.repeat(1025)}`]))).toEqual(['firewall.metadata']);
  });

  it('too many arguments', () => {
    expect(rules(violations(Array.from({ length: 300 }, () => '-an')))).toEqual(['firewall.limit']);
  });
});

describe('filters', () => {
  const fileFilters: Array<[string, string]> = [
    ['movie=/etc/passwd', 'movie'],
    ["movie='http\\://x/a.mp4'", 'movie'],
    ['amovie=a.wav', 'amovie'],
    ['subtitles=s.srt', 'subtitles'],
    ['subtitles=filename=s.srt', 'subtitles'],
    ['ass=s.ass', 'ass'],
  ];
  const worldFilters: Array<[string, string]> = [
    ['sendcmd=f=cmds.txt', 'sendcmd'],
    ["sendcmd=c='0 drawtext reinit textfile=/etc/passwd'", 'sendcmd'],
    ['zmq', 'zmq'],
    ['azmq=b=tcp\\://0.0.0.0\\:5555', 'azmq'],
    ['ladspa=f=/tmp/evil.so', 'ladspa'],
    ['frei0r=filter_name=x', 'frei0r'],
    ['testsrc', 'testsrc'],
    ['color=c=red', 'color'],
    ['sine', 'sine'],
    ['anullsrc', 'anullsrc'],
    ['life', 'life'],
    ['mandelbrot', 'mandelbrot'],
    ['buffer', 'buffer'],
    ['some_new_src', 'some_new_src'],
    ['hwupload', 'hwupload'],
    ['scale_vaapi=w=1', 'scale_vaapi'],
  ];

  const withEverything: FirewallRules = {
    ...RULES,
    filters: [...RULES.filters, ...fileFilters.map((f) => f[1]), ...worldFilters.map((f) => f[1])],
  };

  for (const opt of ['-vf', '-af', '-filter_complex', '-lavfi', '-filter:v']) {
    it.each(fileFilters)(`${opt} %s is refused as a file reader even when listed`, (graph, name) => {
      const v = violations([opt, graph], withEverything);
      expect(rules(v)).toEqual(['firewall.filter-file']);
      expect(v[0]?.actual).toEqual({ index: 1, arg: opt, value: name });
      expect(v[0]?.message).toContain(`filter '${name}'`);
    });
    it.each(worldFilters)(`${opt} %s is refused even when listed`, (graph, name) => {
      const v = violations([opt, graph], withEverything);
      expect(rules(v)).toEqual(['firewall.filter']);
      expect(v[0]?.actual).toEqual({ index: 1, arg: opt, value: name });
    });
  }

  it('a denied filter inside a longer graph is found', () => {
    const v = violations(['-filter_complex', 'scale=640:-2[s];movie=/etc/passwd[m];[s][m]overlay']);
    expect(rules(v)).toEqual(['firewall.filter-file']);
    expect(v[0]?.message).toContain('character 16');
  });

  it('a filter outside the policy is refused with the allowed list', () => {
    const v = violations(['-vf', 'scale=1:1,hflip']);
    expect(rules(v)).toEqual(['firewall.filter']);
    expect(v[0]?.limit).toEqual(RULES.filters);
  });

  it('filter names are case-sensitive: Scale is not scale', () => {
    expect(rules(violations(['-vf', 'Scale=640:-2']))).toEqual(['firewall.filter']);
    // and a case variant of a denied filter is still reported as denied
    expect(deniedFilter('MOVIE')).toBeDefined();
  });

  describe('hostile escaping cannot hide a filter', () => {
    it.each([
      'mo\\vie=/etc/passwd',
      "'movie'=/etc/passwd",
      "mo'vi'e=/etc/passwd",
      'movie@x=/etc/passwd',
      'movie@innocent.id=/etc/passwd',
      ' \t movie \n=/etc/passwd',
      'null,\\movie=/etc/passwd',
      "scale=640:-2 , 'mov'ie=x",
      '[in]null[a];[a]mo\\vie=x[out]',
    ])('%j', (graph) => {
      const v = violations(['-filter_complex', graph]);
      expect(rules(v)).toContain('firewall.filter-file');
      expect(v.find((x) => x.rule === 'firewall.filter-file')?.actual).toMatchObject({ value: 'movie' });
    });

    it('unparseable graphs are refused, with the position', () => {
      for (const graph of ["scale='640:-2", 'scale=640:-2\\', 'null@', 'scale==1', 'sws_flags=x;movie=a', 'scale=1]movie', '']) {
        const v = violations(['-vf', graph]);
        expect(rules(v)).toEqual(['firewall.unparseable-filtergraph']);
        expect(v[0]?.message).toMatch(/at character \d+/);
      }
    });

    it('control characters other than whitespace are refused in graphs', () => {
      expect(rules(violations(['-vf', 'scale=1:1\u000bmovie=x']))).toEqual(['firewall.value']);
    });
  });

  describe('file options of otherwise allowed filters', () => {
    it.each([
      ['drawtext=textfile=/etc/passwd', 'textfile'],
      ['drawtext=text=a:textfile=/etc/passwd', 'textfile'],
      ['drawtext=\\textfile=/etc/passwd', 'textfile'],
      ['drawtext=fontfile=/usr/share/fonts/x.ttf:text=a', 'fontfile'],
      ['metadata=mode=print:file=/tmp/out.txt', 'file'],
      ['curves=psfile=/etc/passwd', 'psfile'],
      ['curves=plot=/tmp/x.plt', 'plot'],
      ['scale=w=1:h=1:somefile=x', 'somefile'],
    ])('%s', (graph, key) => {
      const v = violations(['-vf', graph]);
      expect(rules(v)).toEqual(['firewall.filter-file']);
      expect(v[0]?.message).toContain(`'${key}'`);
    });

    it('positional values that ffmpeg binds to file options are refused', () => {
      // drawtext's 1st option is fontfile, its 3rd textfile; metadata's 6th is file
      for (const graph of ['drawtext=/etc/passwd', 'drawtext=a:b:/etc/passwd', 'drawtext=text=hi:/etc/passwd', 'metadata=print:k:v:a:b:/tmp/x']) {
        expect(rules(violations(['-vf', graph]))).toContain('firewall.filter-file');
      }
      // a key hidden with args-level quoting is a positional value for ffmpeg too
      expect(rules(violations(['-vf', "drawtext=\\'textfile\\'=/etc/passwd"]))).toEqual(['firewall.filter-file']);
    });

    it('fontfile is allowed with the fonts grant, textfile never', () => {
      const grant: FirewallContext = { ...CTX, grants: { fonts: true } };
      expectAllowed(['-vf', 'drawtext=fontfile=/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf:text=hi'], grant);
      expect(rules(violations(['-vf', 'drawtext=fontfile=../../etc/passwd:text=hi'], RULES, grant))).toEqual(['firewall.filter-file']);
      expect(rules(violations(['-vf', 'drawtext=textfile=/etc/passwd'], RULES, grant))).toEqual(['firewall.filter-file']);
    });
  });

  it('labels that refer to other inputs are extra inputs', () => {
    for (const graph of ['[1:v]scale=1:1', '[0:v][1:v]overlay', '[0x1]null', '[ 2 ]null', '[01]null']) {
      expect(rules(violations(['-filter_complex', graph]))).toContain('firewall.extra-input');
    }
    // labels produced inside the graph, and input 0, are fine
    expectAllowed(['-filter_complex', '[0:v]split[1][2];[1][2]hstack']);
    expectAllowed(['-filter_complex', '[0]null[v]', '-map', '[v]']);
  });

  it('checkFilterGraph can be used on its own (for vetted operation templates)', () => {
    expect(checkFilterGraph('scale=1:1', { filters: ['scale'] }, {}, { index: 0, option: '-vf' })).toEqual([]);
  });
});

describe('all violations are collected', () => {
  it('reports every problem of a hostile argument list, in order', () => {
    const v = violations([
      '-i', 'http://x/a.mp4',
      '-report',
      '-vf', 'movie=/etc/passwd,scale=1:1',
      '-c:v', 'evil',
      '-f', 'hls',
      '-passlogfile', '../x',
      'out2.mp4',
    ]);
    expect(rules(v)).toEqual([
      'firewall.extra-input',
      'firewall.url',
      'firewall.file-option',
      'firewall.filter-file',
      'firewall.encoder',
      'firewall.muxer',
      'firewall.path',
      'firewall.second-output',
    ]);
    for (const x of v) {
      expect(x.message).toMatch(/argument \d+/);
      expect(x.hint).toBeTruthy();
    }
  });
});

describe('the option table', () => {
  it('aliases point at table entries', () => {
    for (const [name, a] of Object.entries(ALIASES)) {
      expect(OPTIONS[a.aliasOf], name).toBeDefined();
    }
  });

  it('no allowed option is also denied, and none matches a denied family', () => {
    for (const name of [...Object.keys(OPTIONS), ...Object.keys(ALIASES)]) {
      expect(DENIED_OPTIONS[name], name).toBeUndefined();
      for (const p of DENIED_OPTION_PATTERNS) expect(p.pattern.test(name), name).toBe(false);
      expect(resolveOption(`-${name}`).status, name).toBe('known');
    }
  });

  it('AVOptions always take a value', () => {
    for (const [name, spec] of Object.entries(OPTIONS)) {
      if (spec.source === 'avoption') expect(spec.takesValue, name).toBe(true);
      expect(spec.takesValue, name).toBe(spec.kind !== 'flag');
    }
  });
});

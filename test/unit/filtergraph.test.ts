import { describe, expect, it } from 'vitest';
import { filtersOf, parseFilterArgs, parseFilterGraph, type FilterGraph } from '../../src/plan/firewall/filtergraph.js';

function parse(s: string): FilterGraph {
  const r = parseFilterGraph(s);
  if (!r.ok) throw new Error(`expected ${JSON.stringify(s)} to parse, got ${r.error.message} at ${r.error.position}`);
  return r.graph;
}

function parseError(s: string): { message: string; position: number } {
  const r = parseFilterGraph(s);
  if (r.ok) throw new Error(`expected ${JSON.stringify(s)} to be refused, got ${JSON.stringify(r.graph)}`);
  return r.error;
}

/** name + args only, for compact golden comparisons */
function brief(s: string): Array<[string, Array<[string | null, string]>]> {
  return filtersOf(parse(s)).map((f) => [f.name, f.args.map((a) => [a.key ?? null, a.value] as [string | null, string])]);
}

describe('parseFilterGraph: golden graphs', () => {
  it('simple positional args', () => {
    expect(parse('scale=1280:-2')).toEqual({
      chains: [
        {
          filters: [{ name: 'scale', args: [{ value: '1280' }, { value: '-2' }], inputs: [], outputs: [], position: 0 }],
        },
      ],
    });
  });

  it('keyed args and a chain', () => {
    expect(brief('scale=w=1280:h=720,fps=30')).toEqual([
      ['scale', [['w', '1280'], ['h', '720']]],
      ['fps', [[null, '30']]],
    ]);
    const g = parse('scale=w=1280:h=720,fps=30');
    expect(g.chains).toHaveLength(1);
    expect(g.chains[0]?.filters[1]?.position).toBe(19);
  });

  it('link labels on both sides, several chains', () => {
    const g = parse('[0:v]scale=640:360[v];[v] split [a][b] ; [a][b]hstack');
    expect(g.chains).toHaveLength(3);
    const [scale, split, hstack] = filtersOf(g);
    expect(scale).toMatchObject({ name: 'scale', inputs: ['0:v'], outputs: ['v'] });
    expect(split).toMatchObject({ name: 'split', inputs: ['v'], outputs: ['a', 'b'], args: [] });
    expect(hstack).toMatchObject({ name: 'hstack', inputs: ['a', 'b'], outputs: [] });
  });

  it('labels are tokens too: whitespace trimmed, escapes removed', () => {
    const [f] = filtersOf(parse('[ 0:v ]null[ o\\]ut ]'));
    expect(f).toMatchObject({ inputs: ['0:v'], outputs: ['o]ut'] });
  });

  it("quoted args keep ':' and ',' (drawtext=text='a\\:b,c')", () => {
    expect(brief("drawtext=text='a\\:b,c'")).toEqual([['drawtext', [['text', 'a:b,c']]]]);
  });

  it('escaped commas at the graph level then the args level', () => {
    // graph level: \\ -> \ and \, -> ,  => text=a\,b ; args level: \, -> ,
    expect(brief('drawtext=text=a\\\\\\,b,null')).toEqual([
      ['drawtext', [['text', 'a,b']]],
      ['null', []],
    ]);
    // one escape level only: the comma survives the graph level, then is plain text at the args level
    expect(brief('drawtext=text=a\\,b')).toEqual([['drawtext', [['text', 'a,b']]]]);
  });

  it('nested quoting, the example of the ffmpeg filters documentation', () => {
    // graph level: \\ -> \, \' -> ', \, -> ,  =>  text=this is a \'string\'\: may contain one, or more, ...
    // args level:  \' -> ', \: -> :
    const graph = String.raw`drawtext=text=this is a \\\'string\\\'\\: may contain one\, or more\, special characters`;
    expect(brief(graph)).toEqual([
      ['drawtext', [['text', "this is a 'string': may contain one, or more, special characters"]]],
    ]);
    // graph-level escaped quotes become args-level quotes
    expect(brief("drawtext=text=\\'a:b\\'")).toEqual([['drawtext', [['text', 'a:b']]]]);
    // a quote opened inside a quoted span is the end of that span, so this is unterminated
    expect(parseFilterGraph("drawtext=text='\\'x\\:y\\''").ok).toBe(false);
  });

  it('whitespace around names, keys and values is skipped like ffmpeg does', () => {
    expect(brief('  scale = w = 32 : h=16 , null ')).toEqual([
      ['scale', [['w', '32'], ['h', '16']]],
      ['null', []],
    ]);
    expect(brief('scale=32:16\n,\tnull')).toEqual([
      ['scale', [[null, '32'], [null, '16']]],
      ['null', []],
    ]);
  });

  it('whitespace survives only when protected at the level that trims it', () => {
    // protected at the graph level only: the args level trims it again
    expect(brief("drawtext=text=a\\ ")).toEqual([['drawtext', [['text', 'a']]]]);
    expect(brief("drawtext=text=' a '")).toEqual([['drawtext', [['text', 'a']]]]);
    // protected at the args level
    expect(brief("drawtext=text=a\\\\\\ ")).toEqual([['drawtext', [['text', 'a ']]]]);
    expect(brief("drawtext=text=\\' a \\'")).toEqual([['drawtext', [['text', ' a ']]]]);
  });

  it('values may contain = and expression syntax', () => {
    expect(brief("select='eq(n\\,0)+gte(t,2)',setpts=N/FRAME_RATE/TB")).toEqual([
      ['select', [[null, 'eq(n,0)+gte(t,2)']]],
      ['setpts', [[null, 'N/FRAME_RATE/TB']]],
    ]);
    expect(brief('drawtext=text=a=b')).toEqual([['drawtext', [['text', 'a=b']]]]);
  });

  it('empty args and trailing separator', () => {
    expect(brief('null=')).toEqual([['null', []]]);
    expect(brief('scale=1:2:')).toEqual([['scale', [[null, '1'], [null, '2']]]]);
    expect(brief('scale=1::2')).toEqual([['scale', [[null, '1'], [null, ''], [null, '2']]]]);
  });

  it('instance ids after @', () => {
    const [f] = filtersOf(parse('drawtext@title=text=hi'));
    expect(f).toMatchObject({ name: 'drawtext', id: 'title' });
  });
});

describe('parseFilterGraph: hidden names are revealed, not missed', () => {
  it.each([
    ['mo\\vie=a.mp4', 'movie'],
    ["'movie'=a.mp4", 'movie'],
    ["mo'vi'e=a.mp4", 'movie'],
    ['movie@x=a.mp4', 'movie'],
    ['  movie  =a.mp4', 'movie'],
    ['\\movie=a.mp4', 'movie'],
    ['null,mo\\vie=a.mp4', 'movie'],
  ])('%s -> %s', (graph, name) => {
    expect(filtersOf(parse(graph)).map((f) => f.name)).toContain(name);
  });

  it('a filter smuggled after an escaped comma is an argument, not a filter', () => {
    // ffmpeg sees a single drawtext whose text is "x,movie=a"
    expect(brief('drawtext=text=x\\,movie=a')).toEqual([['drawtext', [['text', 'x,movie=a']]]]);
  });

  it('a quoted separator does not split the graph', () => {
    expect(brief("drawtext=text='x;movie=a'")).toEqual([['drawtext', [['text', 'x;movie=a']]]]);
  });

  it('a filename= key is seen after graph-level unescaping', () => {
    expect(brief('subtitles=f\\ilename=s.srt')).toEqual([['subtitles', [['filename', 's.srt']]]]);
    // inside graph-level quotes the backslash survives, so the args level sees no key: positional
    expect(brief("subtitles='f\\ilename'=s.srt")).toEqual([['subtitles', [[null, 'filename=s.srt']]]]);
    expect(brief('drawtext=\\textfile=/etc/passwd')).toEqual([['drawtext', [['textfile', '/etc/passwd']]]]);
  });

  it('a key hidden with args-level quoting becomes a positional value (it is not a key for ffmpeg either)', () => {
    expect(brief("drawtext=\\'textfile\\'=/etc/passwd")).toEqual([['drawtext', [[null, 'textfile=/etc/passwd']]]]);
  });
});

describe('parseFilterGraph: refusals with position', () => {
  it.each([
    ['', 'empty filtergraph', 0],
    ['   ', 'empty filtergraph', 3],
    ['scale=1:2,', 'empty filter', 10],
    ['scale=1:2,,null', 'empty filter', 10],
    ['scale=1:2;', 'empty filter', 10],
    [',null', 'empty filter', 0],
    ["scale='1:2", 'unterminated quote', 6],
    ['scale=1:2\\', 'trailing backslash', 9],
    ['scale=1:2]', "unexpected ']'", 9],
    ['[in scale', "'[' without matching ']'", 0],
    ['[]scale', 'empty link label', 0],
    ['null@', 'instance id', 0],
    ['@x', 'not a filter name', 0],
    ['null@a@b', 'instance id', 0],
    ['sca/le=1', 'not a filter name', 0],
    ['scale==32', "empty option name before '='", 6],
    ['sws_flags=bicubic;scale=32:32', 'sws_flags', 0],
    ['scale=1\u0000:2', 'control character', 7],
    ['{}!garbage', 'not a filter name', 0],
  ])('%j is refused (%s)', (graph, message, position) => {
    const e = parseError(graph);
    expect(e.message).toContain(message);
    expect(e.position).toBe(position);
  });

  it('absurdly long graphs are refused before parsing', () => {
    expect(parseError('null,'.repeat(5000)).message).toContain('longer than');
  });
});

describe('parseFilterArgs', () => {
  it('keys may contain . / - like av_opt_get_key_value allows', () => {
    expect(parseFilterArgs('a.b=1:c/d=2:e-f=3')).toEqual([
      { key: 'a.b', value: '1' },
      { key: 'c/d', value: '2' },
      { key: 'e-f', value: '3' },
    ]);
  });

  it('positional values after keyed ones stay positional', () => {
    expect(parseFilterArgs('w=32:16')).toEqual([{ key: 'w', value: '32' }, { value: '16' }]);
  });
});

/**
 * Signs in ffmpeg's diagnostics of an attempt to reach the network or a path outside the
 * sandbox. What ffmpeg prints is data from a process that parses hostile bytes, so:
 * - a sign is recorded as what ffmpeg printed: the line, quoted and escaped, marked untrusted;
 * - a sign may warn or kill (monitor.onEscapeAttempt), but never decides how the job's exit is
 *   classified (src/job/stages/run.ts);
 * - a line that the job's own argv put into ffmpeg's mouth is not evidence: ffmpeg echoes
 *   option values in its error messages, so a filter value reading "Impossible to open
 *   /etc/shadow" would otherwise frame the job. A match whose salient text also appears in the
 *   argv (compared without quotes and backslashes, which ffmpeg's parsers remove) is dropped.
 */
import type { AnomalyAction } from '../policy/types.js';
import type { Anomaly } from './monitor.js';

interface EscapePattern {
  readonly re: RegExp;
  readonly what: string;
  /** The text that makes the match evidence; if the argv contains it, ffmpeg was only echoing. */
  readonly salient: (m: RegExpExecArray, text: string) => string;
}

const whole = (m: RegExpExecArray): string => m[0];

/** The run of path characters around the match ("/home/" → "/home/alice/.ssh/id_rsa"). */
function pathAround(m: RegExpExecArray, text: string): string {
  let a = m.index;
  let b = m.index + m[0].length;
  while (a > 0 && !/[\s'"]/.test(text.charAt(a - 1))) a--;
  while (b < text.length && !/[\s'"]/.test(text.charAt(b))) b++;
  return text.slice(a, b);
}

export const ESCAPE_PATTERNS: readonly EscapePattern[] = [
  { re: /Protocol '([^'\n]+)' not on whitelist/gi, what: 'a protocol off the whitelist was requested', salient: whole },
  {
    re: /(?:Connection refused|Network is unreachable|Address family not supported|Failed to resolve hostname|Name or service not known|Temporary failure in name resolution)/gi,
    what: 'a network connection was attempted',
    salient: whole,
  },
  { re: /(?:tcp|udp|http|https|rtmp|rtmps|rtsp|rtp|srt|ftp|tls|unix|sftp|gopher|mms|icecast):\/\/[^\s'"]+/gi, what: 'a network URL appeared in the diagnostics', salient: whole },
  { re: /Impossible to open '(\/(?!in\/|job\/|tmp\/)[^'\n]*)'/gi, what: 'a path outside the sandbox was opened', salient: whole },
  { re: /(?:\/etc\/(?:passwd|shadow|hosts|resolv\.conf)|\/proc\/self\/environ|\/root\/|\/home\/)/g, what: 'a sensitive host path appeared in the diagnostics', salient: pathAround },
];

/** What ffmpeg's parsers strip before a value is used: quotes, backslashes, runs of blanks. */
function normalize(s: string): string {
  return s.replace(/['"\\]/g, '').replace(/\s+/g, ' ').trim();
}

/** Longest quoted excerpt of a line kept as evidence. */
const MAX_EVIDENCE = 240;

/** The line around a match, quoted and escaped (JSON string syntax), bounded. */
export function quoteLine(text: string, index: number): string {
  const start = text.lastIndexOf('\n', index) + 1;
  const nl = text.indexOf('\n', index);
  const line = text.slice(start, nl < 0 ? text.length : nl).replace(/\r/g, '');
  return JSON.stringify(line.length > MAX_EVIDENCE ? `${line.slice(0, MAX_EVIDENCE)}…` : line);
}

/** Characters of one chunk carried into the next, so a sign split across two chunks is seen. */
const CARRY = 1024;

/**
 * Incremental scan of a diagnostics stream: push text as it arrives, get each kind of sign
 * once. Cost is linear in the text (a few regular expressions over each chunk), and stops
 * once every kind has been found.
 */
export class DiagnosticsScanner {
  private carry = '';
  private readonly found = new Set<string>();
  private readonly argv: readonly string[];

  constructor(
    private readonly action: AnomalyAction,
    argv: readonly string[] = [],
  ) {
    this.argv = argv.map(normalize);
  }

  private echoed(salient: string): boolean {
    const s = normalize(salient);
    return s !== '' && this.argv.some((w) => w.includes(s));
  }

  push(chunk: string): Anomaly[] {
    if (this.found.size === ESCAPE_PATTERNS.length) return [];
    const text = this.carry + chunk;
    this.carry = text.slice(-CARRY);
    const out: Anomaly[] = [];
    for (const p of ESCAPE_PATTERNS) {
      if (this.found.has(p.what)) continue;
      p.re.lastIndex = 0;
      for (let m = p.re.exec(text); m; m = p.re.exec(text)) {
        if (this.echoed(p.salient(m, text))) continue;
        this.found.add(p.what);
        out.push({ kind: 'escape-attempt', action: this.action, message: p.what, evidence: quoteLine(text, m.index), untrusted: 'ffmpeg-stderr' });
        break;
      }
    }
    return out;
  }
}

/** Pure: the signs in one piece of diagnostics (each kind once). */
export function scanDiagnostics(text: string, action: AnomalyAction, argv: readonly string[] = []): Anomaly[] {
  return new DiagnosticsScanner(action, argv).push(text);
}

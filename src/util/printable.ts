/**
 * The one escaping function for untrusted strings on their way to a terminal or a GitHub
 * workflow annotation: file names, media metadata, ffmpeg's own words, anything read back from
 * an audit log. An uploader picks the name of the file they upload; printed raw, a name holding
 * `ESC[2K\r` and a newline erases the operator's line and forges a new one ("✓ done ..."). Here
 * every control character (C0, DEL, C1), the Unicode bidi controls that reorder what follows
 * them (Trojan Source, CVE-2021-42574) and the Unicode line and paragraph separators become
 * visible escapes. Pure.
 */

const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/gu;

const NAMED: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t', '\u001b': '\\e' };

function escapeOne(c: string): string {
  const named = NAMED[c];
  if (named !== undefined) return named;
  const cp = c.codePointAt(0) ?? 0;
  return cp <= 0xff ? `\\x${cp.toString(16).padStart(2, '0')}` : `\\u{${cp.toString(16)}}`;
}

/** An untrusted string as one inert line of text. */
export function printable(s: string): string {
  return s.replace(UNSAFE, escapeOne);
}

/** Any untrusted value as one inert line: strings as they are, the rest as JSON. */
export function printableValue(v: unknown): string {
  if (typeof v === 'string') return printable(v);
  if (v === undefined) return 'undefined';
  return printable(JSON.stringify(v) ?? String(v));
}

/**
 * Text whose line breaks are the program's own (a policy's list of diagnostics): each line
 * made inert on its own.
 */
export function printableLines(s: string): string[] {
  return s.split('\n').map(printable);
}

/** GitHub workflow-command data: the pieces made inert first, then %, CR and LF encoded. */
export function githubData(lines: readonly string[]): string {
  return escapeData(lines.map(printable).join('\n'));
}

/** GitHub workflow-command property (file=, title=): also `:` and `,` encoded. */
export function githubProperty(s: string): string {
  return escapeData(printable(s)).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

/** The workflow-command encoding alone (%, CR, LF), for text already made inert. */
export function escapeData(s: string): string {
  return s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

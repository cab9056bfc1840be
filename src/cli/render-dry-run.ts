/**
 * `run --dry-run` for a human: the three command lines that would run, one option per group
 * and wrapped with `\` like a shell script, then the descriptors and the seccomp filter. The
 * full plan (argv, binaries, the profile's every call) is what `--json` prints.
 */
import { shellQuote } from '../sandbox/supervise.js';
import type { CliIo } from './io.js';

const WIDTH = 100;

/** Pure: an argv as shell lines: an option and its values stay together; lines end with ` \`. */
export function wrapCommand(argv: readonly string[], width = WIDTH): string[] {
  const groups: string[][] = [];
  for (const w of argv) {
    const startsGroup = groups.length === 0 || w.startsWith('-');
    if (startsGroup) groups.push([w]);
    else groups[groups.length - 1]!.push(w);
  }
  const lines: string[] = [];
  let line = '';
  for (const g of groups) {
    const text = g.map(shellQuote).join(' ');
    if (line !== '' && line.length + 1 + text.length > width) {
      lines.push(line + ' \\');
      line = '    ' + text;
    } else line = line === '' ? text : `${line} ${text}`;
  }
  if (line !== '') lines.push(line);
  return lines;
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.map(String) : [];
}

export function renderDryRun(io: CliIo, view: Readonly<Record<string, unknown>>): void {
  const s = io.style;
  const commands = (view['commands'] ?? {}) as Record<string, unknown>;
  const parts: Array<[string, string]> = [
    ['prlimit', 'resource limits'],
    ['bwrap', 'the sandbox'],
    ['ffmpeg', 'inside the sandbox'],
  ];
  for (const [name, what] of parts) {
    const argv = strings(commands[name]);
    if (argv.length === 0) continue;
    io.out(s.bold(`${name} (${what}):`));
    for (const l of wrapCommand(argv)) io.out(`  ${l}`);
  }
  const fds = (view['fds'] ?? {}) as Record<string, unknown>;
  for (const [fd, what] of Object.entries(fds)) io.out(`fd ${fd}: ${String(what)}`);
  const sc = (view['seccompProfile'] ?? {}) as Record<string, unknown>;
  if (Array.isArray(sc['denied'])) {
    io.out(`seccomp "${String(sc['profile'])}": default ${String(sc['defaultAction'])}, ${sc['denied'].length} calls refused${Array.isArray(sc['allowed']) ? `, ${sc['allowed'].length} allowed` : ''}`);
  } else io.out(`seccomp: ${String(sc['note'] ?? 'none')}`);
  io.info(s.dim('the whole plan (argv, binaries, every seccomp rule): add --json'));
}

/**
 * Shell completion (bash, zsh) and the man page, generated from the same commander
 * definitions that `--help` prints, so the three cannot drift apart.
 */
import type { Command } from 'commander';
import { EXIT, EXIT_CODE_DOCS, ZtError, type ExitCode } from '../../errors.js';
import { VERSION } from '../../version.js';
import { ENV_ALLOW_LIST } from '../../util/paths.js';
import type { CommandContext } from '../context.js';

export interface OptionSpec {
  readonly flags: readonly string[];
  readonly takesValue: boolean;
  readonly description: string;
}

export interface CommandSpec {
  readonly name: string;
  readonly path: readonly string[];
  readonly description: string;
  readonly options: readonly OptionSpec[];
  readonly takesFiles: boolean;
  readonly subcommands: readonly CommandSpec[];
  readonly help: string;
}

/** Names hidden from completion and the man page's command list. */
const HIDDEN = new Set(['man', 'help']);

/** The command tree as plain data, read from commander. */
export function commandSpec(cmd: Command, parents: readonly string[] = []): CommandSpec {
  const name = cmd.name();
  const path = [...parents, name];
  const options: OptionSpec[] = cmd.options.map((o) => ({
    flags: [o.short, o.long].filter((f): f is string => typeof f === 'string'),
    takesValue: o.required || o.optional,
    description: o.description,
  }));
  if (!options.some((o) => o.flags.includes('--help'))) options.push({ flags: ['-h', '--help'], takesValue: false, description: 'display help for command' });
  const args = cmd.registeredArguments;
  return {
    name,
    path,
    description: cmd.description(),
    options,
    takesFiles: args.length > 0,
    subcommands: cmd.commands.filter((c) => !HIDDEN.has(c.name())).map((c) => commandSpec(c, path)),
    help: fullHelp(cmd),
  };
}

/** What `<cmd> --help` prints, including text added with addHelpText. */
function fullHelp(cmd: Command): string {
  const saved = cmd.configureOutput();
  let buf = '';
  cmd.configureOutput({ ...saved, writeOut: (s: string) => (buf += s), writeErr: (s: string) => (buf += s) });
  try {
    cmd.outputHelp();
  } finally {
    cmd.configureOutput(saved);
  }
  return buf;
}

function walk(spec: CommandSpec, f: (s: CommandSpec) => void): void {
  f(spec);
  for (const c of spec.subcommands) walk(c, f);
}

function fnName(spec: CommandSpec): string {
  return `_zt_ffmpeg_${spec.path.slice(1).join('_').replace(/[^A-Za-z0-9_]/g, '_')}`;
}

/** A bash completion script: `source <(zt-ffmpeg completion bash)`. */
export function bashCompletion(root: CommandSpec): string {
  const cases: string[] = [];
  walk(root, (s) => {
    const key = s.path.slice(1).join(' ');
    const words = [...s.subcommands.map((c) => c.name), ...s.options.flatMap((o) => o.flags)].join(' ');
    const valued = s.options.filter((o) => o.takesValue).flatMap((o) => o.flags).join('|');
    cases.push(`    "${key}")
      words="${words}"; valued="${valued}"; files=${s.takesFiles ? 1 : 0} ;;`);
  });
  const globalValued = root.options.filter((o) => o.takesValue).flatMap((o) => o.flags);
  const subNames = new Map<string, string[]>();
  walk(root, (s) => subNames.set(s.path.slice(1).join(' '), s.subcommands.map((c) => c.name)));
  return `# bash completion for zt-ffmpeg ${VERSION}; generated from the command definitions.
# Install: zt-ffmpeg completion bash > /etc/bash_completion.d/zt-ffmpeg
#      or: source <(zt-ffmpeg completion bash)
_zt_ffmpeg() {
  local cur prev words valued files cmd i w
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev="\${COMP_WORDS[COMP_CWORD-1]}"
  cmd=""
  i=1
  while [ "$i" -lt "$COMP_CWORD" ]; do
    w="\${COMP_WORDS[i]}"
    case "$w" in
      ${globalValued.length > 0 ? globalValued.join('|') : '--no-such-option'}) i=$((i+1)) ;;
      -*) ;;
      *)
        case "$cmd" in
${[...subNames.entries()].map(([k, subs]) => `          "${k}") case "$w" in ${subs.length > 0 ? `${subs.join('|')}) cmd="\${cmd:+$cmd }$w" ;;` : '__none__) ;;'} esac ;;`).join('\n')}
        esac ;;
    esac
    i=$((i+1))
  done
  case "$cmd" in
${cases.join('\n')}
    *) words=""; valued=""; files=1 ;;
  esac
  if [ -n "$valued" ] && [[ "$prev" == @($valued) ]]; then
    COMPREPLY=( $(compgen -f -- "$cur") )
    return 0
  fi
  if [[ "$cur" == -* ]] || [ "$files" = 0 ]; then
    COMPREPLY=( $(compgen -W "$words" -- "$cur") )
  else
    COMPREPLY=( $(compgen -W "$words" -- "$cur") $(compgen -f -- "$cur") )
  fi
  return 0
}
complete -o filenames -F _zt_ffmpeg zt-ffmpeg
`;
}

function zq(s: string): string {
  return s.replace(/'/g, "'\\''").replace(/\[/g, '\\[').replace(/\]/g, '\\]').replace(/:/g, '\\:');
}

/** A zsh completion function: put it in a directory on $fpath as `_zt-ffmpeg`. */
export function zshCompletion(root: CommandSpec): string {
  const fns: string[] = [];
  walk(root, (s) => {
    const specs = s.options.map((o) => {
      const desc = zq(o.description);
      const value = o.takesValue ? ':value:_files' : '';
      if (o.flags.length > 1) return `    '(${o.flags.join(' ')})'{${o.flags.join(',')}}'[${desc}]${value}'`;
      return `    '${o.flags[0] ?? ''}[${desc}]${value}'`;
    });
    let body: string;
    if (s.subcommands.length > 0) {
      const subs = s.subcommands.map((c) => `      '${c.name}:${zq(c.description)}'`).join('\n');
      body = `  local -a subcmds
  subcmds=(
${subs}
  )
  _arguments -C \\
${specs.map((x) => x + ' \\').join('\n')}
    '1: :->cmd' \\
    '*:: :->args'
  case $state in
    cmd) _describe -t commands '${s.path.join(' ')} command' subcmds ;;
    args)
      case $words[1] in
${s.subcommands.map((c) => `        ${c.name}) ${fnName(c)} ;;`).join('\n')}
      esac ;;
  esac`;
    } else {
      body = `  _arguments \\
${specs.map((x) => x + ' \\').join('\n')}
    ${s.takesFiles ? "'*:file:_files'" : "'*: :'"}`;
    }
    fns.push(`${fnName(s)}() {\n${body}\n}`);
  });
  return `#compdef zt-ffmpeg
# zsh completion for zt-ffmpeg ${VERSION}; generated from the command definitions.
# Install: zt-ffmpeg completion zsh > "\${fpath[1]}/_zt-ffmpeg"  (then restart zsh)
#      or: source <(zt-ffmpeg completion zsh)
${fns.join('\n\n')}

if [ "$funcstack[1]" = "_zt-ffmpeg" ]; then
  ${fnName(root)} "$@"
else
  compdef ${fnName(root)} zt-ffmpeg
fi
`;
}

function roff(s: string): string {
  return s
    .replace(/\\/g, '\\e')
    .split('\n')
    .map((l) => (/^[.']/.test(l) ? `\\&${l}` : l))
    .join('\n')
    .replace(/-/g, '\\-');
}

/** The man page (roff, man(7) macros). Each command section is that command's --help text. */
export function manPage(root: CommandSpec, date: string): string {
  const out: string[] = [];
  out.push(`.TH ZT\\-FFMPEG 1 "${date}" "zt-ffmpeg ${VERSION}" "User Commands"`);
  out.push('.SH NAME', `zt\\-ffmpeg \\- ${roff(root.description)}`);
  out.push('.SH SYNOPSIS');
  for (const c of root.subcommands) {
    if (c.subcommands.length > 0) out.push(`.B zt\\-ffmpeg ${roff(c.name)}`, `${c.subcommands.map((x) => roff(x.name)).join(' | ')} ...`, '.br');
    else out.push(`.B zt\\-ffmpeg ${roff(c.name)}`, '[options] ...', '.br');
  }
  out.push('.SH DESCRIPTION', roff(root.description));
  out.push('.SH GLOBAL OPTIONS', '.nf', roff(root.help.trimEnd()), '.fi');
  out.push('.SH COMMANDS');
  walk(root, (s) => {
    if (s === root || s.subcommands.length > 0) return;
    out.push(`.SS ${roff(s.path.slice(1).join(' '))}`, '.nf', roff(s.help.trimEnd()), '.fi');
  });
  out.push('.SH EXIT STATUS', '.TP');
  out.push(EXIT_CODE_DOCS.map(([c, d]) => `.B ${c}\n${roff(d)}`).join('\n.TP\n'));
  out.push('.SH ENVIRONMENT', 'Only these variables are read:', '.TP');
  out.push(ENV_ALLOW_LIST.map((v) => `.B ${roff(v)}`).join('\n.TP\n'));
  out.push(
    '.SH FILES',
    '.TP',
    '.B $XDG_STATE_HOME/zt\\-ffmpeg/audit.log',
    'the signed, hash\\-chained audit log (and its .checkpoint)',
    '.TP',
    '.B $XDG_CONFIG_HOME/zt\\-ffmpeg/audit.key',
    'the audit signing key (mode 0600) and audit.pub',
    '.SH SEE ALSO',
    '.BR ffmpeg (1),',
    '.BR bwrap (1)',
  );
  return out.join('\n') + '\n';
}

export async function completionCommand(ctx: CommandContext, program: Command, shell: string): Promise<ExitCode> {
  const spec = commandSpec(program);
  if (shell === 'bash') ctx.io.out(bashCompletion(spec));
  else if (shell === 'zsh') ctx.io.out(zshCompletion(spec));
  else throw new ZtError('usage', `completion supports bash and zsh, not "${shell}"`, { hint: 'zt-ffmpeg completion bash  |  zt-ffmpeg completion zsh' });
  return EXIT.ok;
}

export async function manCommand(ctx: CommandContext, program: Command, date: string | undefined): Promise<ExitCode> {
  ctx.io.out(manPage(commandSpec(program), date ?? new Date().toISOString().slice(0, 10)));
  return EXIT.ok;
}

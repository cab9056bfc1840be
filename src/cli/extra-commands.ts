/**
 * Commands registered beside the core ones: batch, policy explain/diff, completion and the
 * (hidden) man page generator. Each handler is loaded lazily so a command pays only for what
 * it uses.
 */
import type { Command } from 'commander';
import type { Handler } from './main.js';

export function registerExtraCommands(program: Command, set: (h: Handler) => void): void {
  program
    .command('batch')
    .description('one sandboxed job per input on a bounded worker pool; a summary at the end')
    .argument('[inputs...]', 'media files (untrusted); more with --from')
    .requiredOption('--out-dir <dir>', 'directory for the outputs (<input name>.<ext>, -1, -2 … on clashes); created if missing')
    .option('-p, --policy <file>', 'policy file or bundled stage name (default: advanced)')
    .option('--operation <name>', 'vetted operation from the policy (default: the policy default)')
    .option('--ext <ext>', "output extension (default: the operation's first target)")
    .option('--concurrency <n>', 'jobs at once (default: the number of cores)')
    .option('--fail-fast', 'start no new job after the first that did not succeed')
    .option('--overwrite', 'replace existing outputs')
    .option('--from <file>', 'read input paths from FILE, or from stdin with "-" (one per line)')
    .option('-0, --null', 'the --from list is NUL-separated (find -print0)')
    .option('--shard <i/n>', 'process only inputs whose position modulo n is i (indexed Jobs, CI matrices)')
    .option('--format <format>', 'human (default) or github: also print ::error annotations for refusals on stdout')
    .option('--token <jwt>', 'signed token (JWT) identifying the caller')
    .option('--token-file <file>', 'file holding the token')
    .addHelpText(
      'after',
      '\nWith --json, stdout carries JSON lines: one object per job as it finishes, then a summary object.\nExit status: 0 when every job succeeded, otherwise the most severe exit code of the jobs.\n\nExamples:\n  zt-ffmpeg batch uploads/*.mov --out-dir out\n  find uploads -type f -print0 | zt-ffmpeg batch --from - -0 --out-dir out --operation thumbnail --format github',
    )
    .action((inputs: string[], opts: import('./commands/batch.js').BatchFlags) => {
      set(async (ctx) => (await import('./commands/batch.js')).batchCommand(ctx, inputs, opts));
    });

  const policy = program.commands.find((c) => c.name() === 'policy');
  if (policy) {
    policy
      .command('explain')
      .description('what a policy allows and refuses, in plain words, per Zero Trust pillar')
      .argument('[file]', 'policy file or bundled stage name (default: advanced)')
      .action((file: string | undefined) => set(async (ctx) => (await import('./commands/policy-explain.js')).policyExplainCommand(ctx, file)));
    policy
      .command('diff')
      .description('compare two policies rule by rule: which is stricter')
      .argument('<a>', 'the policy before (file or bundled stage name)')
      .argument('<b>', 'the policy after')
      .option('--all', 'list unchanged rules too')
      .option('--fail-if-looser', 'exit 9 when B is looser than A on any rule, or changes one in a way that cannot be ordered')
      .action((a: string, b: string, opts: { all?: boolean; failIfLooser?: boolean }) =>
        set(async (ctx) => (await import('./commands/policy-explain.js')).policyDiffCommand(ctx, a, b, opts)),
      );
  }

  program
    .command('completion')
    .description('print a shell completion script (bash or zsh)')
    .argument('<shell>', 'bash or zsh')
    .addHelpText('after', '\nExamples:\n  source <(zt-ffmpeg completion bash)\n  zt-ffmpeg completion zsh > "${fpath[1]}/_zt-ffmpeg"')
    .action((shell: string) => set(async (ctx) => (await import('./commands/completion.js')).completionCommand(ctx, program, shell)));

  program
    .command('man', { hidden: true })
    .description('print the man page (roff) generated from the command definitions')
    .option('--date <yyyy-mm-dd>', 'date for the page header')
    .action((opts: { date?: string }) => set(async (ctx) => (await import('./commands/completion.js')).manCommand(ctx, program, opts.date)));
}

/**
 * The command definitions: every command, flag and help text of the CLI, in one place, so that
 * `--help`, the man page and the shell completion are generated from the same source. Each
 * action only records which handler to run (loaded lazily, so a command pays only for what it
 * uses); src/cli/main.ts runs it.
 */
import { Command, InvalidArgumentError } from 'commander';
import { EXIT_CODE_DOCS } from '../errors.js';
import { VERSION } from '../version.js';
import type { CommandContext } from './context.js';
import { writeErr, writeOut } from './streams.js';
import { oneOf, positiveInt, isoTime, sha256Hex } from './flag-values.js';
import { STAGES } from '../policy/types.js';
import type { ExitCode } from '../errors.js';

export type Handler = (ctx: CommandContext) => Promise<ExitCode>;

const EXIT_HELP = `\nExit codes:\n${EXIT_CODE_DOCS.map(([c, d]) => `  ${String(c).padStart(2)}  ${d}`).join('\n')}\n
Environment (nothing else is read):
  ZT_FFMPEG_POLICY, ZT_FFMPEG_POLICY_KEYRING, ZT_FFMPEG_AUDIT_LOG, ZT_FFMPEG_AUDIT_KEY, ZT_FFMPEG_TOKEN, NO_COLOR,
  XDG_STATE_HOME (audit log), XDG_CONFIG_HOME (signing key), CI variables (recorded, never trusted)`;

/** Build the program; `set` receives the handler of the command that was parsed. */
export function buildProgram(set: (h: Handler) => void): Command {
  const program = new Command();
  program
    .name('zt-ffmpeg')
    .description('Run FFmpeg on untrusted media under a Zero Trust policy: inspected input, sandboxed decode, verified output, signed audit log.')
    .version(VERSION, '--version', 'print the version')
    .option('--json', 'print exactly one JSON object on stdout')
    .option('--audit-log <path>', 'audit log (default $XDG_STATE_HOME/zt-ffmpeg/audit.log)')
    .option('--audit-key <path>', 'audit signing key (default $XDG_CONFIG_HOME/zt-ffmpeg/audit.key)')
    .option('--policy-keyring <dir>', 'trusted keys (*.pub): every policy must be signed by one of them')
    .option('-q, --quiet', 'only errors on stderr')
    .option('--no-color', 'no colour (also NO_COLOR)')
    .addHelpText('after', EXIT_HELP)
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({ writeErr, writeOut });

  registerJobCommands(program, set);
  registerPolicyCommands(program, set);
  registerTokenCommands(program, set);
  registerSetupCommands(program, set);
  registerAuditCommands(program, set);
  registerMoreCommands(program, set);
  return program;
}

/** run and check: the two commands that look at media. */
function registerJobCommands(program: Command, set: (h: Handler) => void): void {
  program
    .command('run')
    .description('inspect, transcode in the sandbox, verify and publish one file')
    .requiredOption('-i, --input <file>', 'input media file (untrusted)')
    .requiredOption('-o, --output <file>', 'output file; its extension picks the target format')
    .option('-p, --policy <file>', 'policy file or bundled stage name (default: advanced)')
    .option('--operation <name>', 'vetted operation from the policy (default: the policy default)')
    .option('--overwrite', 'replace an existing output file')
    .option('--dry-run', 'print the prlimit, bwrap and ffmpeg command lines and the seccomp profile; run nothing')
    .option('--token <jwt>', 'signed token (JWT) identifying the caller')
    .option('--token-file <file>', 'file holding the token')
    .argument('[ffmpegArgs...]', 'raw ffmpeg output arguments after --, checked by the argument firewall')
    .addHelpText('after', '\nExample:\n  zt-ffmpeg run -i upload.mov -o clip.mp4\n  zt-ffmpeg run -i in.mp4 -o thumb.jpg --operation thumbnail\n  zt-ffmpeg run -i in.mp4 -o out.mp4 -- -c:v libx264 -crf 28 -c:a aac')
    .action((ffmpegArgs: string[], opts: { input: string; output: string; policy?: string; operation?: string; overwrite?: boolean; dryRun?: boolean; token?: string; tokenFile?: string }) => {
      set(async (ctx) => (await import('./commands/run.js')).runCommand(ctx, opts, ffmpegArgs));
    });

  program
    .command('check')
    .description('inspect files only: a verdict per file, nothing processed')
    .argument('<inputs...>', 'media files')
    .option('-p, --policy <file>', 'policy file or bundled stage name (default: advanced)')
    .option('--operation <name>', 'judge the streams this operation reads (default: the policy\'s default operation)')
    .action((inputs: string[], opts: { policy?: string; operation?: string }) => {
      set(async (ctx) => (await import('./commands/check.js')).checkCommand(ctx, inputs, opts));
    });

}

/** policy validate, show, schema, sign and pin. */
function registerPolicyCommands(program: Command, set: (h: Handler) => void): void {
  const policy = program.command('policy').description('validate, show and manage policies');
  policy
    .command('validate')
    .description('validate policy files against the schema and their stage')
    .argument('[files...]', 'policy files (default: the bundled advanced policy)')
    .action((files: string[]) => set(async (ctx) => (await import('./commands/policy.js')).policyValidateCommand(ctx, files)));
  policy
    .command('show')
    .description('print a policy')
    .argument('[file]', 'policy file or bundled stage name')
    .action((file: string | undefined) => set(async (ctx) => (await import('./commands/policy.js')).policyShowCommand(ctx, file)));
  policy
    .command('init')
    .description('write a starting policy that extends a bundled stage, with the $schema line editors use')
    .requiredOption('--stage <stage>', 'initial | advanced | optimal', oneOf(STAGES))
    .option('--out <file>', 'where to write it (default: stdout)')
    .action((opts: { stage: string; out?: string }) => set(async (ctx) => (await import('./commands/policy-init.js')).policyInitCommand(ctx, opts)));
  policy
    .command('schema')
    .description('print the policy JSON Schema')
    .action(() => set(async (ctx) => (await import('./commands/policy.js')).policySchemaCommand(ctx)));

  policy
    .command('sign')
    .description('write a detached Ed25519 signature (FILE.sig) for a policy')
    .argument('<file>', 'policy file')
    .requiredOption('--key <file>', 'private key (from zt-ffmpeg keygen)')
    .action((file: string, opts: { key: string }) => set(async (ctx) => (await import('./commands/policy-sign.js')).policySignCommand(ctx, file, opts)));
  policy
    .command('pin')
    .description("pin this machine's ffmpeg, ffprobe and bwrap (path and sha256) in a policy")
    .argument('<file>', 'policy file (edited in place; comments kept)')
    .action((file: string) => set(async (ctx) => (await import('./commands/policy-sign.js')).policyPinCommand(ctx, file)));

}

/** token mint. */
function registerTokenCommands(program: Command, set: (h: Handler) => void): void {
  const collect = (v: string, prev: string[] = []): string[] => [...prev, v];
  const token = program.command('token').description('signed caller tokens (JWT)');
  token
    .command('mint')
    .description('issue a short-lived EdDSA token from a local key (for scripts and tests)')
    .requiredOption('--key <file>', 'issuer private key (Ed25519 PEM, e.g. from zt-ffmpeg keygen)')
    .requiredOption('--issuer <iss>', 'issuer (iss)')
    .requiredOption('--subject <sub>', 'subject (sub)')
    .option('--audience <aud>', 'audience (repeatable)', collect, [] as string[])
    .option('--ttl <seconds>', 'lifetime in seconds', positiveInt(), '600')
    .option('--claim <name=value>', 'extra claim (repeatable)', collect)
    .option('--operation <name>', 'bind the token to this operation (with --input)')
    .option('--input <file>', 'bind the token to this file (its sha256)')
    .option('--input-sha256 <hex>', 'bind the token to this digest')
    .option('--jti <id>', 'token id (default: random)')
    .action((opts: { key: string; issuer: string; subject: string; audience: string[]; ttl: string; claim?: string[]; operation?: string; input?: string; inputSha256?: string; jti?: string }) =>
      set(async (ctx) => {
        const audience = opts.audience.length > 0 ? opts.audience : ['zt-ffmpeg'];
        return (await import('./commands/token.js')).tokenMintCommand(ctx, { ...opts, audience });
      }),
    );

}

/** A key file stem: letters, digits, `.`, `_`, `-`; no path. */
function keyName(v: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(v)) throw new InvalidArgumentError('expected a file name stem such as audit, signer or issuer (letters, digits, . _ -)');
  return v;
}

/** doctor and keygen: the machine and its keys. */
function registerSetupCommands(program: Command, set: (h: Handler) => void): void {
  program
    .command('doctor')
    .description('the Zero Trust maturity checklist for this machine and policy, per pillar')
    .option('-p, --policy <file>', 'policy file or bundled stage name (default: advanced)')
    .action((opts: { policy?: string }) => set(async (ctx) => (await import('./commands/doctor.js')).doctorCommand(ctx, opts)));

  program
    .command('keygen')
    .description('make an Ed25519 key pair for signing audit logs and policies')
    .requiredOption('--out <dir>', 'directory for NAME.key (0600) and NAME.pub')
    .option('--name <name>', 'file name stem (default: audit)', keyName, 'audit')
    .option('--jwks', 'also write NAME.jwks.json: the public key as a JWKS for a token issuer (kid = the key id token mint writes)')
    .addHelpText('after', '\nExamples:\n  zt-ffmpeg keygen --out keys                         # keys/audit.key, keys/audit.pub\n  zt-ffmpeg keygen --out keys --name issuer --jwks    # + keys/issuer.jwks.json for identity.issuers[].jwksFile')
    .action((opts: { out: string; name: string; jwks?: boolean }) => set(async (ctx) => (await import('./commands/keygen.js')).keygenCommand(ctx, opts)));

}

/** audit verify, show and stats. */
function registerAuditCommands(program: Command, set: (h: Handler) => void): void {
  const collect = (v: string, prev: string[] = []): string[] => [...prev, v];
  const audit = program.command('audit').description('verify, show and summarise audit logs');
  audit
    .command('verify')
    .description('check every signature, link, sequence number and the checkpoint; name the first bad record')
    .argument('[logs...]', 'audit logs (default: the local log)')
    .option('--key <pub>', 'trusted public key (repeatable)', collect)
    .option('--keyring <dir>', 'directory of trusted *.pub keys')
    .option('--checkpoint <file>', 'a checkpoint kept elsewhere (e.g. a CI artifact) to check the log against')
    .option('--no-checkpoint', 'check the records alone: a non-empty log without its checkpoint fails otherwise (its end may have been cut off)')
    .action((logs: string[], opts: { key?: string[]; keyring?: string; checkpoint?: string | false }) =>
      set(async (ctx) => (await import('./commands/audit.js')).auditVerifyCommand(ctx, logs, opts)),
    );
  audit
    .command('reseal')
    .description('deliberately seal a log as it stands: accept records past its checkpoint (or a log without one) signed by the audit key')
    .argument('[log]', 'audit log (default: the local log)')
    .action((log: string | undefined) => set(async (ctx) => (await import('./commands/audit.js')).auditResealCommand(ctx, log)));
  const filters = (c: Command): Command =>
    c
      .option('--key <pub>', 'trusted public key for the signatures (repeatable; default: this machine\'s audit key)', collect)
      .option('--keyring <dir>', 'directory of trusted *.pub keys')
      .option('--since <time>', 'records at or after this ISO time', isoTime)
      .option('--until <time>', 'records before this ISO time', isoTime)
      .option('--principal <user>', 'OS user')
      .option('--verdict <v>', 'ok | refused | failed', oneOf(['ok', 'refused', 'failed']))
      .option('--operation <name>', 'operation')
      .option('--input <sha256>', 'input digest', sha256Hex);
  filters(audit.command('show').description('list records').argument('[logs...]', 'audit logs (default: the local log)'))
    .option('--last <n>', 'only the last N matching records', positiveInt())
    .action((logs: string[], opts: import('./commands/audit.js').ShowFlags) => set(async (ctx) => (await import('./commands/audit.js')).auditShowCommand(ctx, logs, opts)));
  filters(audit.command('stats').description('jobs, refusals by rule, anomalies, time per operation').argument('[logs...]', 'audit logs (default: the local log)'))
    .action((logs: string[], opts: import('./commands/audit.js').ShowFlags) => set(async (ctx) => (await import('./commands/audit.js')).auditStatsCommand(ctx, logs, opts)));

}


/** batch, policy explain/diff, completion and the (hidden) man page generator. */
function registerMoreCommands(program: Command, set: (h: Handler) => void): void {
  program
    .command('batch')
    .description('one sandboxed job per input on a bounded worker pool; a summary at the end')
    .argument('[inputs...]', 'media files (untrusted); more with --from')
    .requiredOption('--out-dir <dir>', 'directory for the outputs (<input name>.<ext>, -1, -2 … on clashes); created if missing')
    .option('-p, --policy <file>', 'policy file or bundled stage name (default: advanced)')
    .option('--operation <name>', 'vetted operation from the policy (default: the policy default)')
    .option('--ext <ext>', "output extension (default: the operation's first target)")
    .option('--concurrency <n>', 'jobs at once (default: the number of cores)', positiveInt(256))
    .option('--fail-fast', 'start no new job after the first that did not succeed')
    .option('--overwrite', 'replace existing outputs')
    .option('--skip-existing', 'skip inputs whose output already exists (retries finish the rest; outputs are published atomically)')
    .option('--from <file>', 'read input paths from FILE, or from stdin with "-" (one per line)')
    .option('-0, --null', 'the --from list is NUL-separated (find -print0)')
    .option('--shard <i/n>', 'process only inputs whose position modulo n is i (indexed Jobs, CI matrices)')
    .option('--format <format>', 'human (default) or github: also print ::error annotations for refusals on stdout', oneOf(['human', 'github']))
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
    .command('operations')
    .description("the policy's vetted operations: what each does and the output extensions it can write")
    .option('-p, --policy <file>', 'policy file or bundled stage name (default: advanced)')
    .action((opts: { policy?: string }) => set(async (ctx) => (await import('./commands/operations.js')).operationsCommand(ctx, opts)));

  program
    .command('completion')
    .description('print a shell completion script (bash or zsh)')
    .argument('<shell>', 'bash or zsh', oneOf(['bash', 'zsh']))
    .addHelpText('after', '\nExamples:\n  source <(zt-ffmpeg completion bash)\n  zt-ffmpeg completion zsh > "${fpath[1]}/_zt-ffmpeg"')
    .action((shell: string) => set(async (ctx) => (await import('./commands/completion.js')).completionCommand(ctx, program, shell)));

  program
    .command('man', { hidden: true })
    .description('print the man page (roff) generated from the command definitions')
    .option('--date <yyyy-mm-dd>', 'date for the page header')
    .action((opts: { date?: string }) => set(async (ctx) => (await import('./commands/completion.js')).manCommand(ctx, program, opts.date)));
}

/**
 * The composition root: flags → typed requests → pipeline → rendered outcome → exit code.
 * It holds no rules. Expected failures arrive as ZtError and map to their exit code; anything
 * else is a bug, reported as an internal error with the version.
 */
import { Command, CommanderError } from 'commander';
import { registerExtraCommands } from './extra-commands.js';
import { EXIT, EXIT_CODE_DOCS, isZtError, type ExitCode } from '../errors.js';
import { VERSION } from '../version.js';
import { allowListedEnv } from '../util/paths.js';
import { colorWanted, makeStyle } from './style.js';
import { makeIo, type CliIo } from './io.js';
import { renderError, errorJson } from './render.js';
import type { CommandContext, GlobalFlags } from './context.js';

const EXIT_HELP = `\nExit codes:\n${EXIT_CODE_DOCS.map(([c, d]) => `  ${String(c).padStart(2)}  ${d}`).join('\n')}\n
Environment (nothing else is read):
  ZT_FFMPEG_POLICY, ZT_FFMPEG_POLICY_KEYRING, ZT_FFMPEG_AUDIT_LOG, ZT_FFMPEG_AUDIT_KEY, ZT_FFMPEG_TOKEN, NO_COLOR,
  XDG_STATE_HOME (audit log), XDG_CONFIG_HOME (signing key), CI variables (recorded, never trusted)`;

export type Handler = (ctx: CommandContext) => Promise<ExitCode>;

export async function main(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<ExitCode> {
  const safeEnv = allowListedEnv(env);
  let pending: Handler | undefined;
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
    .configureOutput({ writeErr: (s) => process.stderr.write(s), writeOut: (s) => process.stdout.write(s) });

  const collect = (v: string, prev: string[] = []): string[] => [...prev, v];
  const set = (h: Handler): void => {
    pending = h;
  };

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
    .action((inputs: string[], opts: { policy?: string }) => {
      set(async (ctx) => (await import('./commands/check.js')).checkCommand(ctx, inputs, opts));
    });

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

  const token = program.command('token').description('signed caller tokens (JWT)');
  token
    .command('mint')
    .description('issue a short-lived EdDSA token from a local key (for scripts and tests)')
    .requiredOption('--key <file>', 'issuer private key (Ed25519 PEM, e.g. from zt-ffmpeg keygen)')
    .requiredOption('--issuer <iss>', 'issuer (iss)')
    .requiredOption('--subject <sub>', 'subject (sub)')
    .option('--audience <aud>', 'audience (repeatable)', collect, [] as string[])
    .option('--ttl <seconds>', 'lifetime in seconds', '600')
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

  program
    .command('doctor')
    .description('the Zero Trust maturity checklist for this machine and policy, per pillar')
    .option('-p, --policy <file>', 'policy file or bundled stage name (default: advanced)')
    .action((opts: { policy?: string }) => set(async (ctx) => (await import('./commands/doctor.js')).doctorCommand(ctx, opts)));

  program
    .command('keygen')
    .description('make an Ed25519 key pair for signing audit logs and policies')
    .requiredOption('--out <dir>', 'directory for audit.key (0600) and audit.pub')
    .action((opts: { out: string }) => set(async (ctx) => (await import('./commands/keygen.js')).keygenCommand(ctx, opts.out)));

  const audit = program.command('audit').description('verify, show and summarise audit logs');
  audit
    .command('verify')
    .description('check every signature, link, sequence number and the checkpoint; name the first bad record')
    .argument('[logs...]', 'audit logs (default: the local log)')
    .option('--key <pub>', 'trusted public key (repeatable)', collect)
    .option('--keyring <dir>', 'directory of trusted *.pub keys')
    .option('--checkpoint <file>', 'a checkpoint kept elsewhere (e.g. a CI artifact) to check the log against')
    .action((logs: string[], opts: { key?: string[]; keyring?: string; checkpoint?: string }) =>
      set(async (ctx) => (await import('./commands/audit.js')).auditVerifyCommand(ctx, logs, opts)),
    );
  const filters = (c: Command): Command =>
    c
      .option('--since <time>', 'records at or after this ISO time')
      .option('--until <time>', 'records before this ISO time')
      .option('--principal <user>', 'OS user')
      .option('--verdict <v>', 'ok | refused | failed')
      .option('--operation <name>', 'operation')
      .option('--input <sha256>', 'input digest');
  filters(audit.command('show').description('list records').argument('[logs...]', 'audit logs (default: the local log)'))
    .option('--last <n>', 'only the last N matching records')
    .action((logs: string[], opts: Record<string, string>) => set(async (ctx) => (await import('./commands/audit.js')).auditShowCommand(ctx, logs, opts)));
  filters(audit.command('stats').description('jobs, refusals by rule, anomalies, time per operation').argument('[logs...]', 'audit logs (default: the local log)'))
    .action((logs: string[], opts: Record<string, string>) => set(async (ctx) => (await import('./commands/audit.js')).auditStatsCommand(ctx, logs, opts)));

  registerExtraCommands(program, set);

  const wantsJson = argv.includes('--json');
  const fallbackIo = (): CliIo => {
    const noColor = argv.includes('--no-color');
    return makeIo({ json: wantsJson, quiet: false, style: makeStyle({ color: colorWanted(safeEnv, noColor, process.stderr.isTTY === true) }), isTty: process.stderr.isTTY === true });
  };
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return EXIT.ok;
      if (wantsJson) fallbackIo().emitJson({ schemaVersion: 1, verdict: 'failed', exitCode: EXIT.usage, reason: 'usage', message: e.message });
      process.stderr.write('run `zt-ffmpeg --help` for usage\n');
      return EXIT.usage;
    }
    throw e;
  }
  if (!pending) {
    program.outputHelp({ error: true });
    return EXIT.usage;
  }
  const g = program.opts<{ json?: boolean; auditLog?: string; auditKey?: string; policyKeyring?: string; quiet?: boolean; color?: boolean }>();
  const flags: GlobalFlags = {
    json: g.json === true,
    quiet: g.quiet === true,
    color: colorWanted(safeEnv, g.color === false, process.stderr.isTTY === true),
    ...(g.auditLog ? { auditLog: g.auditLog } : {}),
    ...(g.auditKey ? { auditKey: g.auditKey } : {}),
    ...(g.policyKeyring ? { policyKeyring: g.policyKeyring } : {}),
  };
  const io = makeIo({ json: flags.json, quiet: flags.quiet, style: makeStyle({ color: flags.color }), isTty: process.stderr.isTTY === true });
  try {
    return await pending({ io, env: safeEnv, flags });
  } catch (e) {
    if (isZtError(e)) {
      if (io.json) io.emitJson(errorJson(program.args[0] ?? 'zt-ffmpeg', e));
      else renderError(io, e);
      return e.exitCode;
    }
    const msg = e instanceof Error ? (e.stack ?? e.message) : String(e);
    if (io.json) io.emitJson({ schemaVersion: 1, verdict: 'failed', exitCode: EXIT.internal, reason: 'internal', message: `internal error: ${e instanceof Error ? e.message : String(e)}` });
    io.error(`zt-ffmpeg ${VERSION}: internal error, please report it:\n${msg}`);
    return EXIT.internal;
  }
}

